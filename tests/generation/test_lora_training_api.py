"""A trained LoRA through the API, `reproduce --lora`, cancelling, and whose LoRA it is."""

import io
import json
import re
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from assets.access import visible
from assets.errors import ApplicationError
from assets.models import Derivation, ModelWeights, Version
from assets.services.versions import version_import
from generation.services.training import lora_training_cancel, lora_training_create
from review.roles import PRODUCER
from tests.factories import api_as, image_file, make_brief, member

pytestmark = pytest.mark.django_db
QUICK = {"name": "Aurora style", "rank": 4, "steps": 3, "learning_rate": 1e-3, "resolution": 64, "seed": 7}


def approved(brief, count=2):
    versions = []
    for index in range(count):
        version = version_import(
            brief=brief,
            source=image_file(f"l{index}.png", size=(64, 128), colour=(30 * index, 90, 160)),
            label=f"l{index}",
        )
        version.status = Version.Status.APPROVED
        version.save(update_fields=["status"])
        versions.append(version)
    return versions


def test_the_api_trains_and_reports_progress_loss_samples_and_the_lora(tiny, cast, run_jobs):
    images = approved(cast["brief_a"])
    alice = api_as(cast["alice"])
    body = {
        "versions": [v.pk for v in images],
        "base_model": tiny["base"].pk,
        "params": {**QUICK, "sample_every": 3, "sample_steps": 2, "bucketing": True, "resolution": 192},
        "captions": ["aurora, red can", "aurora, blue can"],
    }
    with run_jobs():
        response = alice.post("/api/trainings/", body, format="json")
    assert response.status_code == 201, response.content
    training = alice.get(f"/api/trainings/{response.json()['id']}/").json()
    assert training["state"] == "succeeded" and training["progress_step"] == 3
    assert training["training_images"] == [v.pk for v in images] and training["base_model"] == tiny["base"].pk
    assert training["params"]["captions"] == body["captions"] and len(training["samples"]) == 1
    assert training["progress_log"][-1]["step"] == 3 and training["progress_log"][-1]["loss"] > 0
    lora = ModelWeights.objects.get(pk=training["lora"])
    assert lora.training_story["training_set_total"] == 2
    # Bucketed at the images' 1:2 aspect: the sample is painted at the first image's bucket.
    sample = Version.objects.get(pk=training["samples"][0])
    assert (sample.width, sample.height) == (128, 256)


def test_the_api_refuses_bad_input_and_other_clients_versions(tiny, cast):
    images = approved(cast["brief_a"])
    other = approved(cast["brief_b"], count=1)
    alice, dana = api_as(cast["alice"]), api_as(cast["dana"])
    before = Derivation.objects.count()
    good = {"versions": [v.pk for v in images], "base_model": tiny["base"].pk, "params": QUICK}
    for body, expected in [
        ({**good, "versions": []}, "versions"),
        ({**good, "params": {**QUICK, "rank": 0}}, "rank"),
        ({**good, "versions": [*good["versions"], other[0].pk]}, "another client|more than one client"),
        ({**good, "versions": [999999]}, "do not exist"),
        ({**good, "captions": ["one"]}, "one caption per training image"),
    ]:
        response = alice.post("/api/trainings/", body, format="json")
        assert response.status_code == 400, response.content
        assert re.search(expected, json.dumps(response.json())), response.json()
    assert dana.post("/api/trainings/", good, format="json").status_code == 403
    assert Derivation.objects.count() == before


def test_reproduce_retrains_the_lora_bit_for_bit(tiny, run_jobs):
    brief = make_brief()
    with run_jobs():
        training = lora_training_create(versions=approved(brief), base=tiny["base"], params=QUICK)
    lora = ModelWeights.objects.get(trained_by=training)
    out = io.StringIO()
    call_command("reproduce", "--lora", str(lora.pk), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["verdict"] == "bit_identical" and result["reproduced_sha256"] == lora.sha256, json.dumps(result)
    assert result["max_abs_difference"] == 0.0 and result["fingerprint_diff"] == []
    with pytest.raises(CommandError, match="not trained here"):
        call_command("reproduce", "--lora", str(tiny["lora_a"].pk))


def test_a_lora_is_its_clients_own(tiny, cast, run_jobs):
    from generation.requests import GenerationRequest, LoraSpec
    from generation.services.jobs import generation_job_create
    from tests.generation.conftest import FAST

    with run_jobs():
        training = lora_training_create(versions=approved(cast["brief_a"]), base=tiny["base"], params=QUICK)
    lora = ModelWeights.objects.get(trained_by=training)
    with pytest.raises(ApplicationError, match="another client"):
        generation_job_create(
            request=GenerationRequest(
                brief=cast["brief_b"],
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                loras=[LoraSpec(weights=lora)],
                params={**FAST, "seed": 1},
            )
        )
    scoped_to_b = member("bianca", PRODUCER, cast["brief_b"].campaign.client)
    assert not visible(ModelWeights.objects.filter(pk=lora.pk), user=scoped_to_b).exists()
    assert visible(ModelWeights.objects.filter(pk=tiny["base"].pk), user=scoped_to_b).exists()
    assert api_as(scoped_to_b).get(f"/api/model-weights/{lora.pk}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_running_training_and_records_nothing(tiny_files, cast, monkeypatch):
    from django_q.conf import Conf

    from generation.services.models import tiny_paths_register
    from generation.training_files import training_run

    # The task waits on the broker, as in production, and this test's own thread plays the worker.
    monkeypatch.setattr(Conf, "SYNC", False)
    tiny = tiny_paths_register(paths=tiny_files)
    training = lora_training_create(
        versions=approved(cast["brief_a"]), base=tiny["base"], params={**QUICK, "steps": 100_000}
    )
    outcome = []
    worker = threading.Thread(
        target=lambda: (outcome.append(training_run(derivation_id=training.pk)), connection.close())
    )
    worker.start()
    deadline = time.monotonic() + 120
    while Derivation.objects.get(pk=training.pk).progress_step == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert lora_training_cancel(derivation=training, cancelled_by=cast["alice"])
    worker.join(timeout=120)
    training.refresh_from_db()
    assert outcome == ["cancelled"] and training.state == "cancelled" and "alice" in training.error
    assert not ModelWeights.objects.filter(trained_by=training).exists() and not training.generated.exists()
