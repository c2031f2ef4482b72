from __future__ import annotations

from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import Version
from assets.services.claims import claim_take
from generation.models import ReproductionRun


def reproduction_request(*, version: Version, record: bool = False, threads: int | None = None, requested_by=None) -> ReproductionRun:
    if threads is not None and threads < 1:
        raise ApplicationError("threads must be at least 1")
    with transaction.atomic():
        run = ReproductionRun.objects.create(version=version, record=record, threads=threads, requested_by=requested_by)
        transaction.on_commit(partial(_enqueue, run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from django_q.tasks import async_task

    async_task("generation.tasks.run_reproduction", run_id, task_name=f"reproduction-{run_id}")


def reproduction_run_execute(*, run_id: int) -> str:
    """Worker side: claim the request once, reproduce, store the verdict (and the new version if asked)."""
    from generation.reproduce import reproduction_record, version_reproduce

    if claim_take(model=ReproductionRun, pk=run_id) is None:
        return "skipped"
    run = ReproductionRun.objects.select_related("version__blob", "version__brief").get(pk=run_id)
    if run.attempts > settings.Q_CLUSTER["max_attempts"]:
        ReproductionRun.objects.filter(pk=run_id).update(
            state=ReproductionRun.State.FAILED, finished_at=timezone.now(),
            error=f"gave up after {run.attempts - 1} attempts whose worker stopped")
        return "failed"
    try:
        reproduction = version_reproduce(version=run.version, threads=run.threads)
        recorded = reproduction_record(reproduction=reproduction, created_by=run.requested_by) if run.record else None
    except ApplicationError as exc:
        ReproductionRun.objects.filter(pk=run_id).update(state=ReproductionRun.State.FAILED, error=exc.message,
                                                          finished_at=timezone.now())
        return "failed"
    ReproductionRun.objects.filter(pk=run_id).update(
        state=ReproductionRun.State.SUCCEEDED, result=reproduction.as_dict(), recorded_version=recorded,
        finished_at=timezone.now(),
    )
    return reproduction.verdict
