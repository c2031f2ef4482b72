import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from assets.models import ClientMembership, Derivation
from generation.models import GenerationJob, JobBatch, ReproductionRun
from tests.factories import api_as, make_brief
from tests.generation.conftest import FAST

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password="x", is_staff=True, is_superuser=True)


def test_create_follow_and_cancel_a_job_through_the_api(tiny, alice, run_jobs):
    brief = make_brief()
    api = api_as(alice)
    body = {
        "brief": brief.pk,
        "op": "txt2img",
        "base_model": tiny["base"].pk,
        "prompt": "a can",
        "loras": [{"weights": tiny["lora_a"].pk, "weight": 0.6}],
        "params": {**FAST, "seed": 3, "batch_size": 2},
    }
    with run_jobs():
        created = api.post("/api/jobs/", body, format="json")
    assert created.status_code == 201, created.content
    job = api.get(f"/api/jobs/{created.json()['id']}/").json()
    assert (
        job["summary"]["state"] == "succeeded"
        and job["summary"]["progress_step"] == job["summary"]["progress_total"] == 8
    )
    outputs = job["batches"][0]["outputs"]
    assert [o["seed"] for o in outputs] == [3, 4] and outputs[0]["thumbnail_url"].startswith("/blobs/")

    queued = api.post("/api/jobs/", {**body, "params": {**FAST, "seed": 4, "batch_size": 1}}, format="json").json()
    cancelled = api.post(f"/api/jobs/{queued['id']}/cancel/").json()
    assert cancelled["summary"]["state"] == "cancelled"
    derivation_id = JobBatch.objects.get(job_id=queued["id"]).derivation_id
    recorded = api.get(f"/api/derivations/{derivation_id}/").json()
    assert (recorded["cancelled_by"], recorded["error"]) == (alice.pk, f"cancelled by {alice.username}")
    assert recorded["cancelled_at"] and recorded["run_notes"] == []

    with run_jobs():
        regenerated = api.post(
            f"/api/versions/{outputs[0]['id']}/regenerate/", {"params": {"batch_size": 1}}, format="json"
        )
    assert regenerated.status_code == 201
    assert regenerated.json()["regenerated_from"] == outputs[0]["id"]
    after = api.get(f"/api/jobs/{regenerated.json()['id']}/").json()
    assert after["batches"][0]["outputs"][0]["seed"] == 5


def test_bad_job_requests_are_400_with_a_message(tiny, alice):
    brief = make_brief()
    api = api_as(alice)
    base = {"brief": brief.pk, "op": "txt2img", "base_model": tiny["base"].pk, "prompt": "a can"}
    cases = [
        ({**base, "params": {"sampler": "nope"}}, "sampler"),
        ({**base, "loras": [{"weights": 999999}]}, "loras"),
        ({**base, "loras": [{"weights": tiny["base"].pk}]}, "loras"),
        ({**base, "op": "img2img"}, "needs an init image"),
        ({**base, "params": "{not json"}, "not valid JSON"),
    ]
    for body, message in cases:
        response = api.post("/api/jobs/", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert message in response.json()["message"], response.json()
    assert not GenerationJob.objects.exists() and not Derivation.objects.exists()


def test_inpaint_job_with_a_mask_upload(tiny, alice, run_jobs):
    from assets.services.versions import version_import
    from tests.factories import image_file

    brief = make_brief()
    init = version_import(brief=brief, source=image_file(size=(64, 64)))
    mask = io.BytesIO()
    image = Image.new("L", (64, 64), 0)
    image.paste(255, (8, 8, 40, 40))
    image.save(mask, format="PNG")
    mask.seek(0)
    mask.name = "hand.png"
    with run_jobs():
        response = api_as(alice).post(
            "/api/jobs/",
            {
                "brief": brief.pk,
                "op": "inpaint",
                "base_model": tiny["base"].pk,
                "prompt": "a hand",
                "init_version": init.pk,
                "params": json.dumps({**FAST, "seed": 1, "batch_size": 1}),
                "mask": mask,
            },
            format="multipart",
        )
    assert response.status_code == 201, response.content
    assert api_as(alice).get(f"/api/jobs/{response.json()['id']}/").json()["summary"]["state"] == "succeeded"


def test_reproduce_endpoint_runs_on_the_worker_path(tiny, alice, run_jobs):
    brief = make_brief()
    api = api_as(alice)
    with run_jobs():
        created = api.post(
            "/api/jobs/",
            {
                "brief": brief.pk,
                "op": "txt2img",
                "base_model": tiny["base"].pk,
                "prompt": "a can",
                "params": {**FAST, "seed": 8, "batch_size": 1},
            },
            format="json",
        ).json()
    job = api.get(f"/api/jobs/{created['id']}/").json()
    version_id = job["batches"][0]["outputs"][0]["id"]
    with run_jobs():
        accepted = api.post(f"/api/versions/{version_id}/reproduce/", {"record": True}, format="json")
    assert accepted.status_code == 202
    run = api.get(f"/api/reproductions/{accepted.json()['id']}/").json()
    assert run["state"] == "succeeded" and run["result"]["verdict"] == "bit_identical" and run["recorded_version"]
    assert ReproductionRun.objects.get().recorded_version.generated_by.role == "reproduction"


def test_client_users_cannot_generate_and_jobs_of_other_clients_are_404(tiny, alice):
    mine, theirs = make_brief(), make_brief(client_name="Other", title="Other")
    job = (
        api_as(alice)
        .post(
            "/api/jobs/",
            {
                "brief": theirs.pk,
                "op": "txt2img",
                "base_model": tiny["base"].pk,
                "prompt": "a can",
                "params": {**FAST, "batch_size": 1},
            },
            format="json",
        )
        .json()
    )
    charlie = get_user_model().objects.create_user("charlie", is_staff=True)
    ClientMembership.objects.create(user=charlie, client=mine.campaign.client)
    client_api = api_as(charlie)
    assert (
        client_api.post(
            "/api/jobs/", {"brief": mine.pk, "base_model": tiny["base"].pk, "prompt": "x"}, format="json"
        ).status_code
        == 403
    )
    assert client_api.get(f"/api/jobs/{job['id']}/").status_code == 404
    assert client_api.get("/api/jobs/").json()["results"] == []


def test_job_list_has_a_constant_query_count(tiny, alice, run_jobs):
    brief = make_brief()
    api = api_as(alice)

    def add(n):
        for i in range(n):
            with run_jobs():
                api.post(
                    "/api/jobs/",
                    {
                        "brief": brief.pk,
                        "op": "txt2img",
                        "base_model": tiny["base"].pk,
                        "prompt": f"can {i}",
                        "params": {**FAST, "steps": 1, "seed": i, "batch_size": 2},
                    },
                    format="json",
                )

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/jobs/").status_code == 200
        return len(queries)

    add(1)
    few = count()
    add(3)
    assert count() == few


def test_admin_job_form_and_version_actions(tiny, alice, run_jobs):
    brief = make_brief()
    template = brief.templates.create(name="t", text="{subject}", placeholders=["subject"], negative_text="")
    browser = Client()
    browser.force_login(alice)
    with run_jobs():
        response = browser.post(
            reverse("admin:generation_generationjob_add"),
            {
                "brief": brief.pk,
                "op": "txt2img",
                "template": template.pk,
                "values": "subject = a can | a bottle",
                "base_model": tiny["base"].pk,
                "sampler": "euler_a",
                "steps": 3,
                "cfg": 7,
                "seed": 11,
                "batch_size": 1,
                "width": 64,
                "height": 64,
            },
        )
    assert response.status_code == 302, response.content.decode()[-3000:]
    job = GenerationJob.objects.get()
    assert job.batches.count() == 2
    page = browser.get(reverse("admin:generation_generationjob_change", args=[job.pk])).content.decode()
    assert "succeeded" in page and "/thumb/256/" in page
    bad = browser.post(
        reverse("admin:generation_generationjob_add"),
        {
            "brief": brief.pk,
            "op": "txt2img",
            "template": template.pk,
            "values": "nothing here",
            "base_model": tiny["base"].pk,
            "sampler": "euler_a",
            "steps": 3,
            "cfg": 7,
            "batch_size": 1,
        },
    )
    assert bad.status_code == 200 and "placeholder = value" in bad.content.decode()
    version = job.batches.first().derivation.generated.first().version
    with run_jobs():
        browser.post(
            reverse("admin:assets_version_changelist"),
            {"action": "reproduce_versions", "_selected_action": [version.pk]},
        )
    assert ReproductionRun.objects.get().result["verdict"] == "bit_identical"
