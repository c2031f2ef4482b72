import numpy as np
import pytest
from safetensors.numpy import save_file

from assets.models import Derivation, Generated, Phase, Used, Version
from assets.services.prompts import prompt_render, prompt_template_create
from assets.services.weights import model_weights_register
from review.models import Rating
from review.selectors import recipe_diff
from review.services.rounds import round_open
from tests.factories import api_as

pytestmark = pytest.mark.django_db


def _generated(brief, *, prompt, lora, weight, seed, steps, blob):
    derivation = Derivation.objects.create(
        brief=brief,
        op="txt2img",
        phase=Phase.IDEATION,
        state=Derivation.State.SUCCEEDED,
        params={"sampler": "dpmpp_2m_karras", "steps": steps, "cfg": 7.0, "seed": seed, "width": 64, "height": 64},
    )
    Used.objects.create(derivation=derivation, role=Used.Role.PROMPT, prompt=prompt)
    Used.objects.create(derivation=derivation, role=Used.Role.LORA, model_weights=lora, weight=weight)
    version = Version.objects.create(brief=brief, blob=blob, width=64, height=64, format="PNG", seed=seed)
    Generated.objects.create(derivation=derivation, version=version)
    return version


def test_parameter_diff_names_what_changed(cast, tmp_path):
    brief = cast["brief_a"]
    path = tmp_path / "style.safetensors"
    save_file({"lora_unet_x.lora_down.weight": np.ones((2, 2), dtype=np.float32)}, str(path))
    lora, _ = model_weights_register(path=path, kind="lora", name="Brand style")
    template = prompt_template_create(brief=brief, name="hero", text="{subject} at {time}")
    dusk = prompt_render(template=template, values={"subject": "a can", "time": "dusk"})
    noon = prompt_render(template=template, values={"subject": "a can", "time": "noon"})
    blob = cast["version_a"].blob
    before = _generated(brief, prompt=dusk, lora=lora, weight=0.8, seed=1234, steps=25, blob=blob)
    after = _generated(brief, prompt=noon, lora=lora, weight=0.6, seed=1240, steps=25, blob=blob)
    rows = {row["field"]: (row["before"], row["after"]) for row in recipe_diff(before=before, after=after)}
    assert rows["prompt"] == ("a can at dusk", "a can at noon")
    assert rows["seed"] == (1234, 1240)
    assert rows["txt2img.seed"] == (1234, 1240)
    assert rows["loras"][0][0].endswith("×0.8") and rows["loras"][1][0].endswith("×0.6")
    assert "txt2img.steps" not in rows and "negative_prompt" not in rows
    response = api_as(cast["alice"]).get(f"/api/versions/{before.pk}/diff/{after.pk}/")
    assert {row["field"] for row in response.json()} == set(rows)


def test_review_api_round_trip(cast):
    alice, dana = api_as(cast["alice"]), api_as(cast["dana"])
    version = cast["version_a"]
    assert alice.post(f"/api/versions/{version.pk}/rating/", {"stars": 6}, format="json").status_code == 400
    assert alice.post(f"/api/versions/{version.pk}/rating/", {"stars": 4}, format="json").status_code == 200
    assert Rating.objects.get().stars == 4
    checklist = alice.get(f"/api/briefs/{cast['brief_a'].pk}/checklist/").json()
    assert [item["label"] for item in checklist] == [
        "Brand colour present",
        "Eye-line towards lens",
        "No anatomical glitches",
    ]
    tick = alice.post(
        f"/api/versions/{version.pk}/checklist/", {"item": checklist[0]["id"], "checked": True}, format="json"
    )
    assert tick.status_code == 200
    triage = alice.post(
        "/api/versions/triage/", {"versions": [cast["version_a2"].pk], "triage": "maybe_later"}, format="json"
    )
    assert triage.status_code == 200
    assert alice.get(f"/api/briefs/{cast['brief_a'].pk}/pool/").json() == []
    other = round_open(
        brief=cast["brief_a"], versions=[version], stage="client", opened_by=cast["alice"], reviewers=[cast["dana"]]
    )
    assert (
        alice.post(
            "/api/rounds/", {"brief": cast["brief_a"].pk, "versions": [version.pk], "stage": "client"}, format="json"
        )
        .json()["message"]
        .endswith("still open; close it first")
    )
    bad_pin = dana.post(
        f"/api/rounds/{other.pk}/decisions/",
        {"version": version.pk, "verdict": "changes_requested", "pins": [{"x": 0.9, "y": 0.1, "w": 0.5, "h": 0.1}]},
        format="json",
    )
    assert bad_pin.status_code == 400 and "outside the image" in bad_pin.json()["message"]
    made = dana.post(
        f"/api/rounds/{other.pk}/decisions/",
        {
            "version": version.pk,
            "verdict": "approve",
            "comment": "ok",
            "pins": [{"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}],
        },
        format="json",
    )
    assert made.status_code == 201 and made.json()["sha256"] == version.blob_id
    assert alice.get(f"/api/rounds/{other.pk}/").json()["status"] == "closed"
    sheet = alice.get(f"/api/rounds/{other.pk}/contact-sheet/?as=pdf")
    assert sheet.status_code == 200 and sheet.content.startswith(b"%PDF")
    assert alice.get(f"/api/rounds/{other.pk}/contact-sheet/?as=gif").status_code == 400
    stats = alice.get(f"/api/briefs/{cast['brief_a'].pk}/cycle-stats/").json()
    assert stats["cycles"] == 1


def test_share_link_api_shows_the_token_once(cast):
    alice = api_as(cast["alice"])
    review_round = round_open(
        brief=cast["brief_a"], versions=[cast["version_a"]], stage="client", opened_by=cast["alice"]
    )
    created = alice.post(f"/api/rounds/{review_round.pk}/share-links/", {"expires": "2099-01-01"}, format="json")
    assert created.status_code == 201
    token = created.json()["token"]
    assert token in created.json()["url"]
    listed = alice.get("/api/share-links/").json()["results"]
    assert token not in str(listed) and len(listed) == 1
    assert alice.post(f"/api/share-links/{listed[0]['id']}/revoke/").status_code == 200
    assert alice.post(f"/api/share-links/{listed[0]['id']}/revoke/").status_code == 400
    bad = alice.post(f"/api/rounds/{review_round.pk}/share-links/", {"expires": "soon"}, format="json")
    assert bad.status_code == 400


def test_maybe_later_pool_is_reused_as_a_reference_and_recorded_in_the_graph(cast):
    import io

    from assets.selectors import version_descendants
    from assets.services.briefs import brief_create
    from review.services.curation import versions_triage
    from tests.factories import image_bytes

    parked = cast["version_a2"]
    versions_triage(versions=[parked], triage="maybe_later", actor=cast["alice"])
    sequel = brief_create(campaign=cast["brief_a"].campaign, title="Aurora sequel")
    alice = api_as(cast["alice"])
    assert [v["id"] for v in alice.get(f"/api/briefs/{sequel.pk}/pool/").json()] == [parked.pk]
    assert alice.get(f"/api/briefs/{cast['brief_b'].pk}/pool/").json() == []  # another client's pool stays apart
    upload = io.BytesIO(image_bytes(colour=(1, 99, 1)))
    upload.name = "sequel.png"
    made = alice.post(
        "/api/versions/import/", {"brief": sequel.pk, "image": upload, "pool_versions": [parked.pk]}, format="multipart"
    )
    assert made.status_code == 201, made.content
    assert [v.pk for v in version_descendants(version=parked)] == [made.json()["id"]]
    lineage = alice.get(f"/api/versions/{made.json()['id']}/lineage/").json()
    assert any(e["from"] == f"version:{parked.pk}" and e["role"] == "reference" for e in lineage["edges"])
    upload.seek(0)
    foreign = alice.post(
        "/api/versions/import/",
        {"brief": cast["brief_b"].pk, "image": upload, "pool_versions": [parked.pk]},
        format="multipart",
    )
    assert foreign.status_code == 400 and "another client" in foreign.json()["message"]
