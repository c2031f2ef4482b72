"""Licences and impact follow a LoRA's training: what it learned from (its images, their ancestry, its base model)
reaches what was made with it, and withdrawing a training image flags the LoRA and everything made with it."""

import hashlib
from datetime import date, timedelta

import pytest
from django.urls import reverse

from assets.models import Derivation, ModelWeights, Phase, Reference, Used, Version
from assets.rights import lora_training_rights, rights_problems, version_rights, versions_inheriting
from assets.selectors import (
    lineage_graph,
    version_ancestry,
    version_descendants,
    versions_using_model_weights,
    versions_using_reference,
)
from assets.services.audit import audit_event_append
from assets.services.licences import licence_save
from assets.training_flags import lora_training_flags, lora_training_images, loras_trained_on
from review.roles import PRODUCER, roles_ensure
from tests.factories import api_as, derive, make_brief, member, shared_blob

pytestmark = pytest.mark.django_db


def _weights(name: str, *, kind=ModelWeights.Kind.LORA, trained_by=None) -> ModelWeights:
    return ModelWeights.objects.create(
        kind=kind,
        architecture=ModelWeights.Architecture.SD15,
        name=name,
        sha256=hashlib.sha256(name.encode()).hexdigest(),
        size=1,
        format=ModelWeights.Format.SAFETENSORS,
        trained_by=trained_by,
    )


def _train(*, brief, images: list[Version], base: ModelWeights, name: str) -> ModelWeights:
    """The rows a finished training leaves: its derivation used the base and the images, and the LoRA names it."""
    training = Derivation.objects.create(
        brief=brief, op="train_lora", phase=Phase.PRODUCTION, state=Derivation.State.SUCCEEDED
    )
    Used.objects.create(derivation=training, role=Used.Role.BASE_MODEL, model_weights=base)
    Used.objects.bulk_create(
        Used(derivation=training, role=Used.Role.TRAINING_IMAGE, position=position, version=image)
        for position, image in enumerate(images)
    )
    return _weights(name, trained_by=training)


def _made_with(*, brief, lora: ModelWeights, base: ModelWeights) -> Version:
    made = derive(brief=brief, op="txt2img")
    derivation = made.generated_by.derivation
    Used.objects.create(derivation=derivation, role=Used.Role.BASE_MODEL, model_weights=base)
    Used.objects.create(derivation=derivation, role=Used.Role.LORA, model_weights=lora, weight=0.8)
    return made


@pytest.fixture
def trained(db):
    """An imported photo and an img2img of it with a stock reference train a LoRA on a base used nowhere else; a
    generation with the LoRA, on another base, is rendered."""
    roles_ensure()
    brief = make_brief(title="Spring catalogue")
    reference = Reference.objects.create(
        brief=brief, blob=shared_blob(), width=1, height=1, format="PNG", title="stock beach"
    )
    photo = derive(brief=brief)
    styled = derive(brief=brief, parents=[photo], op="img2img")
    Used.objects.create(derivation=styled.generated_by.derivation, role=Used.Role.REFERENCE, reference=reference)
    training_base = _weights("trainer base", kind=ModelWeights.Kind.BASE)
    lora = _train(brief=brief, images=[photo, styled], base=training_base, name="Aurora style")
    render_base = _weights("render base", kind=ModelWeights.Kind.BASE)
    made = _made_with(brief=brief, lora=lora, base=render_base)
    rendition = derive(brief=brief, parents=[made], op="rendition")
    licences = {
        "photo_licence": licence_save(
            values={
                "name": "Agency photo licence",
                "commercial_use": True,
                "expires_on": date.today() + timedelta(days=400),
                "versions": [photo],
            }
        ),
        "stock": licence_save(values={"name": "CC BY-NC 4.0", "commercial_use": False, "references": [reference]}),
        "base_licence": licence_save(
            values={"name": "CreativeML OpenRAIL-M", "commercial_use": True, "model_weights": [training_base]}
        ),
    }
    return {
        "brief": brief,
        "reference": reference,
        "photo": photo,
        "styled": styled,
        "training_base": training_base,
        "render_base": render_base,
        "lora": lora,
        "made": made,
        "rendition": rendition,
        **licences,
    }


def _through(graph) -> dict:
    return {"id": graph["lora"].pk, "name": "Aurora style"}


def test_a_version_made_with_a_trained_lora_inherits_what_it_learned_from_in_one_query(
    trained, django_assert_num_queries
):
    with django_assert_num_queries(1):
        inherited = version_rights(version=trained["made"])
    lora = _through(trained)
    assert {item.licence.name: item.sources for item in inherited} == {
        "Agency photo licence": [
            {"kind": "version", "id": trained["photo"].pk, "name": f"imported v{trained['photo'].pk}", "lora": lora}
        ],
        "CC BY-NC 4.0": [{"kind": "reference", "id": trained["reference"].pk, "name": "stock beach", "lora": lora}],
        "CreativeML OpenRAIL-M": [
            {"kind": "model_weights", "id": trained["training_base"].pk, "name": "trainer base", "lora": lora}
        ],
    }
    assert {item.licence.name for item in version_rights(version=trained["rendition"])} == {
        "Agency photo licence",
        "CC BY-NC 4.0",
        "CreativeML OpenRAIL-M",
    }
    assert {item.licence.name for item in lora_training_rights(weights=trained["lora"])} == {
        "Agency photo licence",
        "CC BY-NC 4.0",
        "CreativeML OpenRAIL-M",
    }
    assert lora_training_rights(weights=trained["render_base"]) == []


def test_the_lineage_picture_still_stops_at_the_generation(trained):
    assert list(version_ancestry(version=trained["made"])) == []
    assert set(lineage_graph(version=trained["made"]).versions) == {trained["made"].pk}


def test_a_non_commercial_licence_learned_by_the_lora_is_a_problem_for_commercial_work(trained):
    problems = rights_problems(
        rights=version_rights(version=trained["rendition"]), brief=trained["brief"], on=date.today()
    )
    assert [(p["licence"], p["problem"]) for p in problems] == [(trained["stock"].pk, "non_commercial")]
    assert "reference stock beach (through the LoRA Aurora style)" in problems[0]["detail"]


def test_a_lora_trained_on_what_a_lora_made_carries_it_all_on_named_by_the_outer_lora(trained):
    second = _train(brief=trained["brief"], images=[trained["made"]], base=trained["render_base"], name="Second")
    later = _made_with(brief=trained["brief"], lora=second, base=trained["render_base"])
    sources = {item.licence.name: item.sources for item in version_rights(version=later)}
    assert sources["CC BY-NC 4.0"] == [
        {
            "kind": "reference",
            "id": trained["reference"].pk,
            "name": "stock beach",
            "lora": {"id": second.pk, "name": "Second"},
        }
    ]
    assert set(versions_inheriting(licences=[trained["stock"].pk])) >= {later}
    assert list(loras_trained_on(version=trained["photo"]).order_by("pk")) == [trained["lora"], second]


def test_a_licence_learned_by_a_lora_reaches_what_was_made_with_it(trained):
    downstream = {trained["made"], trained["rendition"]}
    assert set(versions_inheriting(licences=[trained["stock"].pk])) == {trained["styled"], *downstream}
    assert set(versions_inheriting(licences=[trained["photo_licence"].pk])) == {
        trained["photo"],
        trained["styled"],
        *downstream,
    }
    assert set(versions_inheriting(licences=[trained["base_licence"].pk])) == downstream


def test_impact_follows_training_in_one_statement_each(trained, django_assert_num_queries):
    downstream = {trained["made"], trained["rendition"]}
    with django_assert_num_queries(1):
        found = set(versions_using_reference(reference=trained["reference"]))
    assert found == {trained["styled"], *downstream}
    assert set(versions_using_model_weights(weights=trained["training_base"])) == downstream
    assert set(versions_using_model_weights(weights=trained["lora"])) == downstream
    assert set(version_descendants(version=trained["photo"])) == {trained["styled"], *downstream}
    assert list(loras_trained_on(version=trained["styled"])) == [trained["lora"]]
    assert list(loras_trained_on(version=trained["rendition"])) == []


def test_a_rejected_training_image_and_a_run_out_licence_flag_the_lora(trained):
    lora, photo, styled = trained["lora"], trained["photo"], trained["styled"]
    assert lora_training_flags(weights=lora) == []
    assert list(lora_training_images(weights=lora)) == [photo, styled]
    for version in (photo, styled):
        version.status = Version.Status.REJECTED
        version.save(update_fields=["status"])
    audit_event_append(
        kind="round.closed", object_type="review_round", object_id=41, payload={"results": {str(styled.pk): "reject"}}
    )
    later = date.today() + timedelta(days=401)
    flags = lora_training_flags(weights=lora, on=later)
    assert [(flag["kind"], flag["version"], flag["licence"]) for flag in flags] == [
        ("rejected", photo.pk, None),
        ("rejected", styled.pk, None),
        ("licence_expired", None, trained["photo_licence"].pk),
    ]
    assert flags[0]["why"] == f"v{photo.pk} is rejected"
    assert flags[1]["why"].startswith(f"v{styled.pk} was rejected in review round 41 on ")
    assert "Agency photo licence expired on" in flags[2]["why"]
    assert lora_training_flags(weights=trained["render_base"]) == []


@pytest.fixture
def lora_trained_here(tiny, run_jobs):
    """A LoRA trained by the worker on three approved images of Aurora's, one imported under a non-commercial
    licence, and a generation made with it."""
    from generation.requests import GenerationRequest, LoraSpec
    from generation.services.jobs import generation_job_create
    from generation.services.training import lora_training_create
    from tests.generation.conftest import FAST
    from tests.generation.test_lora_training import QUICK, approved_images

    roles_ensure()
    brief = make_brief(client_name="Aurora", title="Aurora hero")
    images = approved_images(brief)
    licence = licence_save(values={"name": "Editorial only", "commercial_use": False, "versions": [images[0]]})
    with run_jobs():
        training = lora_training_create(versions=images, base=tiny["base"], params=QUICK)
    lora = ModelWeights.objects.get(trained_by=training)
    request = GenerationRequest(
        brief=brief,
        op="txt2img",
        base_model=tiny["base"],
        prompt_text="a can on a beach",
        loras=[LoraSpec(weights=lora, weight=1.0)],
        params={**FAST, "seed": 5, "batch_size": 1},
    )
    with run_jobs():
        job = generation_job_create(request=request)
    derivation = job.batches.get().derivation
    assert derivation.state == Derivation.State.SUCCEEDED, derivation.error
    return {
        "brief": brief,
        "images": images,
        "licence": licence,
        "training": training,
        "lora": lora,
        "made": derivation.generated.get().version,
    }


def test_withdrawing_a_training_image_shows_on_the_loras_api_page_and_admin(lora_trained_here, client):
    here = lora_trained_here
    lora, images, made = here["lora"], here["images"], here["made"]
    inherited = version_rights(version=made)
    assert [(item.licence, item.sources[0].get("lora")) for item in inherited] == [
        (here["licence"], {"id": lora.pk, "name": "Aurora style"})
    ]
    assert rights_problems(rights=inherited, brief=here["brief"], on=date.today())[0]["problem"] == "non_commercial"
    assert made in versions_inheriting(licences=[here["licence"].pk])
    images[1].status = Version.Status.REJECTED
    images[1].save(update_fields=["status"])
    producer = member("paula", PRODUCER)
    detail = api_as(producer).get(f"/api/model-weights/{lora.pk}/").json()
    assert detail["trained_by"] == here["training"].pk
    assert detail["training_images"] == [image.pk for image in images]
    assert detail["flags"] == [
        {"kind": "rejected", "version": images[1].pk, "licence": None, "why": f"v{images[1].pk} is rejected"}
    ]
    elsewhere = member("otto", PRODUCER, client=make_brief(client_name="Borealis").campaign.client)
    assert list(lora_training_images(weights=lora, user=elsewhere)) == []
    assert lora_training_flags(weights=lora, user=elsewhere) == []
    client.force_login(producer)
    page = client.get(reverse("admin:assets_modelweights_change", args=[lora.pk])).content.decode()
    assert f"v{images[1].pk} is rejected" in page
    assert "<b>1</b> version(s) and <b>0</b> deliveries made with this LoRA are affected" in page
