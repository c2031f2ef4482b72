"""Finding a version: full-text over prompts, notes and comments kept current by Postgres, and recipe filters."""

import pytest
from django.urls import reverse

from assets.models import Derivation, Generated, ModelWeights, Phase, Used, Version, VersionSearch
from assets.services.prompts import prompt_render, prompt_template_create
from review.roles import CLIENT_REVIEWER, INTERNAL_REVIEWER, PRODUCER, roles_ensure
from review.services.notes import note_add
from review.services.rounds import decision_record, round_open
from tests.factories import api_as, make_brief, member, shared_blob

pytestmark = pytest.mark.django_db

BASE_SHA = "ab12cd34ef" + "0" * 54
LORA_SHA = "9f8e7d6c5b" + "1" * 54


@pytest.fixture
def library():
    roles_ensure()
    brief = make_brief(client_name="Aurora", title="Citrus Wave")
    other = make_brief(client_name="Borealis", title="Winter")
    base = ModelWeights.objects.create(
        kind="base", architecture="sd15", name="dreamshaper_8", sha256=BASE_SHA, size=1, format="safetensors"
    )
    other_base = ModelWeights.objects.create(
        kind="base", architecture="sd15", name="realistic_vision", sha256="c" * 64, size=1, format="safetensors"
    )
    lora = ModelWeights.objects.create(
        kind="lora", architecture="sd15", name="brand_style", sha256=LORA_SHA, size=1, format="safetensors"
    )
    template = prompt_template_create(brief=brief, name="hero", text="{subject} at golden hour")

    def made(brief, subject, *, weights, seed, sampler="dpmpp_2m_karras", steps=25, cfg=7.0, lora_weight=None):
        prompt = prompt_render(template=template, values={"subject": subject}) if brief == template.brief else None
        derivation = Derivation.objects.create(
            brief=brief,
            op="txt2img",
            phase=Phase.IDEATION,
            state=Derivation.State.SUCCEEDED,
            params={"seed": seed, "sampler": sampler, "steps": steps, "cfg": cfg},
        )
        version = Version.objects.create(brief=brief, blob=shared_blob(), width=8, height=8, format="PNG", seed=seed)
        Generated.objects.create(derivation=derivation, version=version)
        # Edges recorded after the output, as an import records them: the database catches up either way.
        edges = [Used(derivation=derivation, role=Used.Role.BASE_MODEL, model_weights=weights)]
        if prompt is not None:
            edges.append(Used(derivation=derivation, role=Used.Role.PROMPT, prompt=prompt))
        if lora_weight is not None:
            edges.append(Used(derivation=derivation, role=Used.Role.LORA, model_weights=lora, weight=lora_weight))
        Used.objects.bulk_create(edges)
        return version

    return {
        "brief": brief,
        "other": other,
        "base": base,
        "lora": lora,
        "can": made(brief, "a chilled can of citrus soda", weights=base, seed=11, lora_weight=0.8),
        "bottle": made(brief, "a glass bottle on ice", weights=base, seed=12, sampler="euler_a", steps=30, cfg=9.0),
        "winter": made(other, "", weights=other_base, seed=13, cfg=4.0),
        "producer": member("paula", PRODUCER),
        "reviewer": member("rita", INTERNAL_REVIEWER),
        "client": member("cleo", CLIENT_REVIEWER, brief.campaign.client),
    }


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_prompts_notes_and_comments_are_searchable_as_soon_as_they_are_written(library):
    api = api_as(library["producer"])
    assert _ids(api.get("/api/versions/", {"q": "soda"})) == [library["can"].pk]
    assert _ids(api.get("/api/versions/", {"q": "golden hour -soda"})) == [library["bottle"].pk]
    assert _ids(api.get("/api/versions/", {"q": '"glass bottle"'})) == [library["bottle"].pk]
    review_round = round_open(
        brief=library["brief"],
        versions=[library["can"], library["bottle"]],
        stage="internal",
        opened_by=library["producer"],
        reviewers=[library["reviewer"]],
    )
    note_add(
        review_round=review_round,
        version=library["bottle"],
        text="The condensation looks painted",
        author=library["reviewer"],
    )
    note_add(
        review_round=review_round,
        version=library["can"],
        text="licence for the font is pending",
        internal=True,
        author=library["producer"],
    )
    decision_record(
        review_round=review_round,
        version=library["can"],
        verdict="changes_requested",
        reviewer=library["reviewer"],
        comment="the label reads backwards",
    )
    assert _ids(api.get("/api/versions/", {"q": "condensation"})) == [library["bottle"].pk]
    assert _ids(api.get("/api/versions/", {"q": "label backwards"})) == [library["can"].pk]
    assert _ids(api.get("/api/versions/", {"q": "licence"})) == [library["can"].pk]
    # A client user never finds a version by words they may not read.
    client = api_as(library["client"])
    assert _ids(client.get("/api/versions/", {"q": "licence"})) == []
    assert _ids(client.get("/api/versions/", {"q": "condensation"})) == []  # an internal round's note
    assert _ids(client.get("/api/versions/", {"q": "soda"})) == []  # the prompt: the recipe is the studio's
    library["brief"].campaign.client.__class__.objects.filter(pk=library["brief"].campaign.client_id).update(
        shares_lineage=True
    )
    assert _ids(client.get("/api/versions/", {"q": "soda"})) == [library["can"].pk]
    assert VersionSearch.objects.count() == Version.objects.count()


def test_recipe_filters_by_model_hash_lora_sampler_and_ranges_in_a_constant_number_of_queries(
    library, django_assert_max_num_queries
):
    api = api_as(library["producer"])
    can, bottle, winter = library["can"], library["bottle"], library["winter"]
    assert set(_ids(api.get("/api/versions/", {"model": "dreamshaper"}))) == {can.pk, bottle.pk}
    assert set(_ids(api.get("/api/versions/", {"model": BASE_SHA[:10]}))) == {can.pk, bottle.pk}  # A1111's AutoV2 hash
    assert set(_ids(api.get("/api/versions/", {"model": BASE_SHA.upper()}))) == {can.pk, bottle.pk}
    assert _ids(api.get("/api/versions/", {"lora": LORA_SHA[:10]})) == [can.pk]
    assert _ids(api.get("/api/versions/", {"lora": LORA_SHA[:12]})) == [can.pk]  # the short hash A1111 prints for LoRAs
    assert _ids(api.get("/api/versions/", {"lora": "brand_style", "q": "citrus"})) == [can.pk]
    assert _ids(api.get("/api/versions/", {"sampler": "euler_a"})) == [bottle.pk]
    assert set(_ids(api.get("/api/versions/", {"cfg_min": 5, "cfg_max": 8}))) == {can.pk}
    assert _ids(api.get("/api/versions/", {"steps": 30})) == [bottle.pk]
    assert _ids(api.get("/api/versions/", {"seed": 13})) == [winter.pk]
    assert _ids(api.get("/api/versions/", {"client": library["other"].campaign.client_id})) == [winter.pk]
    assert _ids(api.get("/api/versions/", {"created_after": "2999-01-01"})) == []
    assert _ids(api.get("/api/versions/", {"model": "no-such-model"})) == []
    refused = api.get("/api/versions/", {"cfg_min": "lots"})
    assert refused.status_code == 400 and "cfg_min" in str(refused.json())

    for seed in range(40):
        Version.objects.create(
            brief=library["brief"], blob=shared_blob(), width=8, height=8, format="PNG", seed=100 + seed
        )
    with django_assert_max_num_queries(8):
        page = api.get(
            "/api/versions/", {"q": "citrus OR bottle", "model": "dreamshaper", "cfg_max": 10, "page_size": 50}
        )
    assert set(_ids(page)) == {can.pk, bottle.pk}


def test_the_admin_searches_words_and_recipe_terms(library, client):
    client.force_login(library["producer"])
    changelist = reverse("admin:assets_version_changelist")
    page = client.get(changelist, {"q": "chilled soda"}).content.decode()
    assert f"/admin/assets/version/{library['can'].pk}/change/" in page
    assert f"/admin/assets/version/{library['bottle'].pk}/change/" not in page
    page = client.get(changelist, {"q": f"model:{BASE_SHA[:10]} bottle"}).content.decode()
    assert f"/admin/assets/version/{library['bottle'].pk}/change/" in page
    assert f"/admin/assets/version/{library['can'].pk}/change/" not in page
    assert client.get(changelist, {"sampler": "euler_a"}).status_code == 200
