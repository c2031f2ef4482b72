"""The reproducibility watch: approved masters re-run before anyone needs them, within a budget, with causes."""

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.db import connection
from django.utils import timezone

from assets.models import ReproducibilityCheck, Version
from assets.rights import with_reproducibility
from assets.services.versions import version_import
from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest, LoraSpec
from generation.services.finishing import palette_snap_create
from generation.services.jobs import generation_job_create
from generation.services.watch import current_environment, watch_plan
from review.models import Notification
from review.roles import PRODUCER, roles_ensure
from review.services.drift import reproducibility_watch_run
from tests.factories import image_file, make_brief, member, with_triggers_off
from tests.generation.conftest import FAST


def _masters(tiny, run_jobs, count: int, lora=None) -> list[Version]:
    brief = make_brief(title="Watched")
    loras = [LoraSpec(weights=lora, weight=0.7)] if lora is not None else []
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a lamp on a table",
                loras=loras,
                params={**FAST, "seed": 3, "batch_size": count},
            ),
        )
    versions = [edge.version for edge in job.batches.get().derivation.generated.order_by("index")]
    Version.objects.filter(pk__in=[v.pk for v in versions]).update(status=Version.Status.APPROVED)
    return versions


@pytest.fixture
def producer(db):
    roles_ensure()
    return member("paula", PRODUCER)


def _aged(version: Version, *, days: int, wall_seconds: float, digest: str) -> None:
    check = ReproducibilityCheck.objects.create(
        version=version,
        verdict="bit_identical",
        environment_digest=digest,
        trigger="schedule",
        wall_seconds=wall_seconds,
    )
    with with_triggers_off():
        ReproducibilityCheck.objects.filter(pk=check.pk).update(checked_at=timezone.now() - timedelta(days=days))


@pytest.mark.django_db
def test_the_watch_checks_oldest_first_and_stays_within_its_budget(tiny, run_jobs, producer):
    a, b, c, fresh = _masters(tiny, run_jobs, 4)
    _, digest = current_environment()
    for version, days in ((a, 30), (b, 20), (c, 10)):
        _aged(version, days=days, wall_seconds=10.0, digest=digest)
    never_checked_estimate = fresh.generated_by.derivation.wall_seconds
    budget = 20.0 + never_checked_estimate + 1.0  # the unchecked one, then the two oldest; the third waits
    plan = watch_plan(digest=digest, budget_s=budget)
    assert [version.pk for version, _, _ in plan.due] == [fresh.pk, a.pk, b.pk] and plan.skipped == 1

    result = reproducibility_watch_run(budget_s=budget)
    assert (result["checked"], result["skipped"], result["verdicts"]) == (3, 1, {"bit_identical": 3})
    assert result["spent_s"] <= budget
    new = ReproducibilityCheck.objects.filter(checked_at__gte=timezone.now() - timedelta(minutes=10))
    assert set(new.values_list("version_id", flat=True)) == {fresh.pk, a.pk, b.pk}
    assert (
        with_reproducibility(Version.objects.filter(pk=c.pk)).get().reproducibility == "bit_identical"
    )  # its old check
    # Run again at once: nothing is due but the one the budget left out.
    assert [version.pk for version, _, _ in watch_plan(digest=digest, budget_s=1000).due] == [c.pk]
    assert not Notification.objects.filter(kind="reproducibility").exists()


@pytest.mark.django_db
def test_a_budget_longer_than_the_task_timeout_is_spent_in_slices(tiny, run_jobs, producer):
    masters = _masters(tiny, run_jobs, 3)
    _, digest = current_environment()
    for days, version in enumerate(masters, start=10):
        _aged(version, days=days, wall_seconds=10.0, digest=digest)
    # A slice fits one 10 s estimate: each run checks one master and queues the next with what is left of the budget.
    result = reproducibility_watch_run(budget_s=100, slice_s=15)
    assert result["checked"] == 1 and result["continued_with_s"] is not None and result["continued_with_s"] < 100
    fresh = ReproducibilityCheck.objects.filter(checked_at__gte=timezone.now() - timedelta(minutes=10))
    assert sorted(fresh.values_list("version_id", flat=True)) == sorted(v.pk for v in masters)  # each once, none twice
    assert watch_plan(digest=digest, budget_s=1000).due == []


@pytest.mark.django_db
def test_a_missing_model_names_its_sha256_and_the_producer_hears_of_it(tiny, run_jobs, producer, client):
    [master] = _masters(tiny, run_jobs, 1, lora=tiny["lora_b"])
    storages["blobs"].delete(tiny["lora_b"].blob.storage_name)
    reproducibility_watch_run(budget_s=600)
    check = ReproducibilityCheck.objects.get(version=master)
    assert (check.verdict, check.cause) == ("failed", "missing_weights")
    assert tiny["lora_b"].blob_id in check.detail
    notice = Notification.objects.get(kind="reproducibility")
    assert (
        notice.recipient == producer
        and f"v{master.pk}" in notice.subject
        and "Model weights are missing" in notice.text
    )
    client.force_login(producer)
    listing = client.get("/admin/assets/version/?reproducible=failed").content.decode()
    assert f"/admin/assets/version/{master.pk}/change/" in listing
    page = client.get(f"/admin/assets/version/{master.pk}/change/").content.decode()
    assert "Could not be re-run" in page and tiny["lora_b"].blob_id in page


@pytest.mark.django_db
def test_a_chain_that_starts_with_an_import_reproduces_its_finishing(tiny, run_jobs):
    brief = make_brief(title="Retouched photo")
    photo = version_import(brief=brief, source=image_file(size=(48, 64), colour=(30, 120, 200)))
    with run_jobs():
        snap = palette_snap_create(version=photo, pull=0.7)
    snapped = snap.generated.get().version
    result = version_reproduce(version=snapped)
    assert result.verdict == "bit_identical"
    assert [(step["op"], step["rerun"]) for step in result.steps] == [("import", False), ("lut", True)]


def _watch_in_a_process(media_root, **environ) -> dict:
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "SEED_MEDIA_ROOT": str(media_root),
        "SEED_MODEL_CACHE": str(media_root / "model-cache-cli"),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        **environ,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "reproducibility_watch", "--json", "--budget", "600"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.django_db(transaction=True)
def test_a_new_environment_makes_every_master_due_and_its_drift_is_named(tiny, run_jobs, media_root):
    roles_ensure()
    producer = member("paula", PRODUCER)
    [start] = _masters(tiny, run_jobs, 1)
    Version.objects.filter(pk=start.pk).update(status=Version.Status.IN_REVIEW)
    with run_jobs():  # two steps, as in test_reproduce: the img2img is where portable kernels change the bytes
        edit = generation_job_create(
            request=GenerationRequest(
                brief=start.brief,
                op="img2img",
                base_model=tiny["base"],
                init=start,
                prompt_text="warmer",
                params={**FAST, "seed": 5, "batch_size": 1, "strength": 0.5},
            ),
        )
    master = edit.batches.get().derivation.generated.get().version
    Version.objects.filter(pk=master.pk).update(status=Version.Status.APPROVED)
    first = _watch_in_a_process(media_root)
    assert first["checked"] == 1 and first["verdicts"] == {"bit_identical": 1}
    assert _watch_in_a_process(media_root)["checked"] == 0  # checked under this environment already
    # The same worker on torch's portable kernels: a new environment, so the master is due again at once.
    changed = _watch_in_a_process(media_root, ATEN_CPU_CAPABILITY="default")
    assert changed["checked"] == 1 and changed["environment_digest"] != first["environment_digest"]
    latest = ReproducibilityCheck.objects.filter(version=master).first()
    recorded = master.generated_by.derivation.environment["cpu_capability"]
    assert latest.trigger == "environment"
    assert latest.fingerprint_diff == [{"field": "cpu_capability", "recorded": recorded, "current": "DEFAULT"}]
    # Whether the portable kernels move a pixel of this small recipe depends on the CPU and the pinned thread count:
    # either the same bytes, or a drift that the verdict and the producer's notice put down to the kernels.
    if latest.reproduced_sha256 == master.blob_id:
        assert latest.verdict == "bit_identical"
        assert not Notification.objects.filter(kind="reproducibility", recipient=producer).exists()
    else:
        assert (latest.verdict, latest.cause) == ("perceptual_match", "environment") and latest.distance <= 4
        notice = Notification.objects.get(kind="reproducibility", recipient=producer)
        assert "cpu_capability" in notice.text


@pytest.mark.django_db
def test_a_master_with_nothing_to_re_run_is_named_unrunnable_and_the_others_still_run(tiny, run_jobs, producer):
    from tests.factories import derive

    [generated] = _masters(tiny, run_jobs, 1)
    composed = derive(brief=generated.brief, parents=[generated], op="grid")  # a sheet: nothing the worker re-runs
    Version.objects.filter(pk=composed.pk).update(status=Version.Status.APPROVED)
    result = reproducibility_watch_run(budget_s=600)
    assert result["checked"] == 2
    failed = ReproducibilityCheck.objects.get(version=composed)
    assert (failed.verdict, failed.cause) == ("failed", "unrunnable") and "re-run" in failed.detail
    assert ReproducibilityCheck.objects.get(version=generated).verdict == "bit_identical"


@pytest.mark.django_db
def test_a_worker_under_an_environment_no_check_ran_under_runs_the_watch_at_once(
    tiny, run_jobs, producer, django_capture_on_commit_callbacks
):
    from review.services.drift import watch_on_worker_start

    [master] = _masters(tiny, run_jobs, 1)
    _aged(master, days=0, wall_seconds=1.0, digest="an environment this worker is not")
    with django_capture_on_commit_callbacks(execute=True):
        watch_on_worker_start()  # django-q2's post_spawn; the tests' broker runs the queued watch at once
    latest = ReproducibilityCheck.objects.filter(version=master).first()
    assert latest.trigger == "environment" and latest.environment_digest == current_environment()[1]


@pytest.mark.django_db
def test_the_nightly_schedule_made_when_generation_ran_the_watch_now_starts_reviews_run(db):
    from django_q.models import Schedule

    from review.services.drift import WATCH_SCHEDULE, watch_schedule_ensure

    watch_schedule_ensure()
    schedule = Schedule.objects.filter(name=WATCH_SCHEDULE)
    schedule.update(func="generation.tasks.reproducibility_watch")  # as a studio migrated before the move has it
    watch_schedule_ensure()
    assert list(schedule.values_list("func", flat=True)) == ["review.tasks.reproducibility_watch"]
