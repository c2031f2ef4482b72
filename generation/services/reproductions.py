"""Reproductions requested from the web or the API, run on the worker (the web process never loads the ML stack)."""

from __future__ import annotations

from django.db import transaction

from assets.errors import ApplicationError
from assets.models import Version
from assets.services.queues import Queue
from assets.services.runs import RunScope, run_complete, run_enqueue, run_guarded
from generation.models import ReproductionRun


def reproduction_request(
    *, version: Version, record: bool = False, threads: int | None = None, requested_by=None
) -> ReproductionRun:
    if threads is not None and threads < 1:
        raise ApplicationError("threads must be at least 1")
    with transaction.atomic():
        run = ReproductionRun.objects.create(version=version, record=record, threads=threads, requested_by=requested_by)
        run_enqueue(
            task="generation.tasks.run_reproduction",
            model=ReproductionRun,
            pk=run.pk,
            kind="reproduction",
            queue=Queue.GPU,
        )
    return run


def reproduction_run_execute(*, run_id: int) -> str:
    """Worker side: claim the request once, reproduce, store the verdict (and the new version if asked)."""
    return run_guarded(model=ReproductionRun, pk=run_id, work=_reproduce, related=("version__blob", "version__brief"))


def _reproduce(run: ReproductionRun, scope: RunScope) -> str:
    from generation.reproduce import reproduction_record, version_reproduce

    reproduction = version_reproduce(version=run.version, threads=run.threads)
    with transaction.atomic():
        recorded = (
            reproduction_record(reproduction=reproduction, created_by=run.requested_by, scope=scope)
            if run.record
            else None
        )
        run_complete(row=run, result=reproduction.as_dict(), recorded_version=recorded)
    return reproduction.verdict
