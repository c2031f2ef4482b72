"""The one run lifecycle every queued row goes through: claim once, record while owned, fail with a reason,
leave nothing."""

import pytest
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import Blob, Derivation, Phase, blob_storage_name
from assets.services.runs import ClaimHeld, RunSuperseded, run_complete, run_guarded
from tests.factories import make_brief, staged_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued():
    return Derivation.objects.create(brief=make_brief(), op="grade", phase=Phase.FINISHING)


def _stored(scope, data: bytes) -> Blob:
    staged = staged_bytes(data)
    scope.scratch_add(staged.path)
    return scope.blob_store(staged=staged, media_type="application/octet-stream")


def test_a_run_that_records_its_outcome_ends_once(queued):
    seen = []

    def work(row, scope):
        seen.append(row.claim_token)
        run_complete(row=row, progress_step=3)
        return "succeeded"

    assert run_guarded(model=Derivation, pk=queued.pk, work=work) == "succeeded"
    assert run_guarded(model=Derivation, pk=queued.pk, work=work) == "skipped"
    queued.refresh_from_db()
    assert (queued.state, queued.attempts, queued.progress_step, len(seen)) == ("succeeded", 1, 3, 1)
    assert queued.finished_at is not None and queued.wall_seconds >= 0


def test_a_failing_run_keeps_its_reason_and_leaves_no_file(queued):
    written = {}

    def work(row, scope):
        with transaction.atomic():
            blob = _stored(scope, b"half-made output")
            written.update(name=blob_storage_name(blob.sha256), scratch=scope.scratch[-1])
            assert storages["blobs"].exists(written["name"]) and written["scratch"].exists()
            raise ValueError("the LUT has 17 entries per axis, not 33")

    assert run_guarded(model=Derivation, pk=queued.pk, work=work) == "failed"
    queued.refresh_from_db()
    assert queued.state == "failed" and queued.error == "ValueError: the LUT has 17 entries per axis, not 33"
    assert not storages["blobs"].exists(written["name"]) and not written["scratch"].exists()


def test_an_application_error_is_the_reason_as_said(queued):
    def work(row, scope):
        raise ApplicationError("the parent image is missing")

    assert run_guarded(model=Derivation, pk=queued.pk, work=work) == "failed"
    assert Derivation.objects.get(pk=queued.pk).error == "the parent image is missing"


def test_a_run_taken_over_records_nothing_and_its_files_go(queued):
    names = []

    def work(row, scope):
        Derivation.objects.filter(pk=row.pk).update(state=Derivation.State.CANCELLED)
        with transaction.atomic():
            names.append(blob_storage_name(_stored(scope, b"output of a stale worker").sha256))
            run_complete(row=row)
        return "succeeded"

    assert run_guarded(model=Derivation, pk=queued.pk, work=work) == "cancelled"
    assert Derivation.objects.get(pk=queued.pk).state == "cancelled"
    assert names and not storages["blobs"].exists(names[0])


def test_a_fresh_claim_elsewhere_stays_on_the_broker_and_a_stale_one_is_taken_over(queued, settings):
    Derivation.objects.filter(pk=queued.pk).update(state="running", started_at=timezone.now(), attempts=1)
    with pytest.raises(ClaimHeld):
        run_guarded(model=Derivation, pk=queued.pk, work=lambda row, scope: "succeeded")
    long_ago = timezone.now() - timezone.timedelta(seconds=settings.Q_CLUSTER["timeout"] + 5)
    Derivation.objects.filter(pk=queued.pk).update(started_at=long_ago)
    assert (
        run_guarded(model=Derivation, pk=queued.pk, work=lambda row, scope: run_complete(row=row) or "succeeded")
        == "succeeded"
    )
    assert Derivation.objects.get(pk=queued.pk).attempts == 2


def test_attempts_are_finite(queued, settings):
    long_ago = timezone.now() - timezone.timedelta(seconds=settings.Q_CLUSTER["timeout"] + 5)
    Derivation.objects.filter(pk=queued.pk).update(
        state="running", started_at=long_ago, attempts=settings.Q_CLUSTER["max_attempts"]
    )
    assert run_guarded(model=Derivation, pk=queued.pk, work=lambda row, scope: pytest.fail("must not run")) == "skipped"
    queued.refresh_from_db()
    assert queued.state == "failed" and queued.error.startswith(
        f"gave up after {settings.Q_CLUSTER['max_attempts']} attempts"
    )


def test_run_complete_outside_ownership_raises(queued):
    queued.claim_token = None
    with pytest.raises(RunSuperseded, match="is queued"):
        run_complete(row=queued)
