"""What a client reviewer reads: versions, client-round notes and decisions, deliveries; the lineage (prompts, jobs,
derivations) only where the studio shares it with that client; internal notes and another client's rows never."""

from __future__ import annotations

import pytest
from django.test import Client as WebClient
from django.urls import reverse

from assets.models import Prompt, PromptTemplate
from generation.models import GenerationJob
from review.services.notes import note_add
from review.services.rounds import round_open
from tests.factories import api_as

pytestmark = pytest.mark.django_db


def _results(api, url) -> list:
    response = api.get(url)
    assert response.status_code == 200, (url, response.content)
    return response.json()["results"]


@pytest.fixture
def lineage(cast):
    rows = {}
    for key in ("a", "b"):
        brief = cast[f"brief_{key}"]
        template = PromptTemplate.objects.create(
            brief=brief, name=f"t{key}", text="{subject}", placeholders=["subject"]
        )
        rows[key] = {
            "prompt": Prompt.objects.create(
                brief=brief, template=template, text=f"secret recipe {key}", values={}, digest=key * 64
            ),
            "job": GenerationJob.objects.create(brief=brief, op="txt2img", request={"prompt": f"secret recipe {key}"}),
        }
    return rows


def test_a_client_reads_no_prompt_job_or_derivation_until_the_studio_shares_the_lineage(cast, lineage):
    dana = api_as(cast["dana"])
    for url in ("/api/prompts/", "/api/jobs/", "/api/derivations/", "/api/templates/"):
        assert _results(dana, url) == [], url
    assert dana.get(f"/api/prompts/{lineage['a']['prompt'].pk}/").status_code == 404
    assert dana.get(f"/api/jobs/{lineage['a']['job'].pk}/").status_code == 404
    version = cast["version_a"]
    for action in ("lineage", "rights", "reproducibility"):
        assert dana.get(f"/api/versions/{version.pk}/{action}/").status_code == 404, action
    assert dana.get(f"/api/versions/{version.pk}/").status_code == 200
    browser = WebClient()
    browser.force_login(cast["dana"])
    page = browser.get(reverse("admin:assets_version_change", args=[version.pk])).content.decode()
    assert "seed-lineage-view" not in page and "A master" in page

    aurora = cast["brief_a"].campaign.client
    aurora.shares_lineage = True
    aurora.save(update_fields=["shares_lineage"])
    dana = api_as(type(cast["dana"]).objects.get(pk=cast["dana"].pk))
    assert [p["text"] for p in _results(dana, "/api/prompts/")] == ["secret recipe a"]
    assert [j["id"] for j in _results(dana, "/api/jobs/")] == [lineage["a"]["job"].pk]
    assert {d["brief"] for d in _results(dana, "/api/derivations/")} <= {cast["brief_a"].pk}
    assert dana.get(f"/api/prompts/{lineage['b']['prompt'].pk}/").status_code == 404
    assert dana.get(f"/api/versions/{version.pk}/lineage/").status_code == 200
    browser.force_login(type(cast["dana"]).objects.get(pk=cast["dana"].pk))
    assert (
        "seed-lineage-view" in browser.get(reverse("admin:assets_version_change", args=[version.pk])).content.decode()
    )
    # Sharing the lineage reads; it never lets a client write to it.
    assert dana.post("/api/jobs/", {"brief": cast["brief_a"].pk, "prompt": "x"}, format="json").status_code == 403


def test_internal_notes_and_rounds_stay_studio_side_even_with_lineage_shared(cast):
    aurora = cast["brief_a"].campaign.client
    aurora.shares_lineage = True
    aurora.save(update_fields=["shares_lineage"])
    internal = round_open(
        brief=cast["brief_a"], versions=[cast["version_a"]], stage="internal", opened_by=cast["alice"]
    )
    note = note_add(
        review_round=internal, version=cast["version_a"], text="studio only: the hand is wrong", author=cast["alice"]
    )
    dana = api_as(cast["dana"])
    assert dana.get(f"/api/notes/{note.pk}/").status_code == 404
    assert dana.get(f"/api/rounds/{internal.pk}/").status_code == 404
    assert "studio only" not in dana.get(f"/api/versions/{cast['version_a'].pk}/").content.decode()


def _share(cast):
    aurora = cast["brief_a"].campaign.client
    aurora.shares_lineage = True
    aurora.save(update_fields=["shares_lineage"])
    return api_as(type(cast["dana"]).objects.get(pk=cast["dana"].pk))


def test_a_client_cannot_learn_a_recipe_by_guessing_it(cast):
    from assets.models import Derivation, Generated, Licence, ModelWeights, Phase, Used, Version
    from review.services.rounds import round_close

    made = Derivation.objects.create(
        brief=cast["brief_a"],
        op="import",
        phase=Phase.PRODUCTION,
        state="succeeded",
        params={"sampler": "dpmpp_secret", "steps": 30},
    )
    version = Version.objects.create(
        brief=cast["brief_a"],
        blob=cast["version_a"].blob,
        width=1,
        height=1,
        format="PNG",
        seed=4242,
        label="A secret recipe",
    )
    Generated.objects.create(derivation=made, version=version)
    weights = ModelWeights.objects.create(
        kind="base", architecture="sdxl", name="secret-base-xl", sha256="d" * 64, size=1, format="safetensors"
    )
    Licence.objects.create(name="secret-licence", commercial_use=True).model_weights.add(weights)
    Used.objects.create(
        derivation=version.generated_by.derivation, role="base_model", position=0, model_weights=weights
    )
    internal = round_open(brief=cast["brief_a"], versions=[version], stage="internal", opened_by=cast["alice"])
    note_add(review_round=internal, version=version, text="studio thinks xylophonequark", author=cast["alice"])
    round_close(review_round=internal, closed_by=cast["alice"])
    assert api_as(cast["alice"]).get("/api/versions/?q=xylophonequark").json()["count"] == 1  # the index holds it
    dana = api_as(cast["dana"])
    for query in ("sampler=dpmpp_secret", "steps=30", "model=secret-base-xl", "seed=4242", "q=xylophonequark"):
        assert dana.get(f"/api/versions/?{query}").json()["count"] == 0, query
    body = dana.get(f"/api/versions/{version.pk}/").json()
    assert "triage" not in body and "seed" not in body
    for url in (f"/api/versions/{version.pk}/descendants/", f"/api/versions/{version.pk}/regenerate-import/"):
        assert dana.get(url).status_code == 404, url
    browser = WebClient()
    browser.force_login(cast["dana"])
    page = browser.get(reverse("admin:assets_version_change", args=[version.pk])).content.decode()
    assert "secret-base-xl" not in page and "secret-licence" not in page
    listing = browser.get(reverse("admin:assets_version_changelist")).content.decode()
    row = reverse("admin:assets_version_change", args=[version.pk])
    assert "dpmpp_secret" not in listing and row in listing
    for right, wrong in (
        ("?q=model:secret-base-xl", "?q=model:other-xl"),
        ("?q=4242", "?q=4243"),
        ("?sampler=dpmpp_secret", "?sampler=euler"),
    ):
        answers = [
            row in browser.get(reverse("admin:assets_version_changelist") + query).content.decode()
            for query in (right, wrong)
        ]
        assert answers[0] == answers[1], f"{right} tells the recipe"

    dana = _share(cast)
    assert dana.get("/api/versions/?sampler=dpmpp_secret").json()["count"] == 1
    assert dana.get("/api/versions/?model=secret-base-xl").json()["count"] == 1
    assert dana.get("/api/versions/?q=xylophonequark").json()["count"] == 0  # an internal round's words, shared or not
    assert dana.get(f"/api/versions/{version.pk}/descendants/").status_code == 200
