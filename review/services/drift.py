"""The reproducibility watch as the studio runs it: generation re-runs the final-approved masters and records each
check (generation.services.watch); review runs the watch and tells the producers what no longer reproduces.

Review starts every run (the nightly schedule, a worker that starts under a new environment, `manage.py
reproducibility_watch`) because telling people is review's: generation knows nothing of who is told.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from assets.models import ReproducibilityCheck
from assets.notification_kinds import NotificationKind
from assets.services.queues import Queue, schedule_ensure, task_send
from generation.services.watch import environment_unwatched, reproducibility_watch
from generation.worker import worker_loads_models
from review.services.notifications import producers_notify

logger = logging.getLogger(__name__)

# The name the schedule was made under when generation ran the watch: studios that migrated then keep their one
# schedule, pointed at the task below (schedule_ensure).
WATCH_SCHEDULE = "generation: reproducibility watch"
WATCH_TASK = "review.tasks.reproducibility_watch"


def drift_notify(check: ReproducibilityCheck) -> None:
    """Tell the producers that a master no longer reproduces bit for bit, once per verdict and environment."""
    version = check.version
    producers_notify(
        kind=NotificationKind.REPRODUCIBILITY,
        key=f"reproducibility:{version.pk}:{check.verdict}:{check.environment_digest[:16]}",
        subject=NotificationKind.REPRODUCIBILITY.notice.subject_render(
            version=version.pk, brief=version.brief.title, verdict=check.get_verdict_display().lower()
        ),
        lines=[
            f"The reproducibility watch re-ran v{version.pk} on {check.checked_at:%Y-%m-%d}: "
            f"{check.get_verdict_display()}"
            + (f", perceptual distance {check.distance:g} bits" if check.distance is not None else "")
            + ".",
            f"Cause: {check.get_cause_display()}" + (f" ({check.detail})" if check.detail else ""),
        ],
        link=f"/admin/assets/version/{version.pk}/change/",
    )


def reproducibility_watch_run(*, budget_s: float | None = None, slice_s: float | None = None) -> dict:
    """One run of the watch, each drift told as it is recorded, and the next slice queued while masters are due."""
    result = reproducibility_watch(budget_s=budget_s, slice_s=slice_s, on_drift=drift_notify)
    left = result.get("continued_with_s")
    if left is not None:
        task_send(func=WATCH_TASK, args=(left,), name=f"reproducibility-watch-{left:.0f}s-left", queue=Queue.GPU)
    return result


def watch_schedule_ensure(**kwargs) -> None:
    """The nightly watch, made on migrate; migrating again changes nothing."""
    from django_q.models import Schedule

    schedule_ensure(
        name=WATCH_SCHEDULE,
        func=WATCH_TASK,
        queue=Queue.GPU,
        schedule_type=Schedule.DAILY,
        next_run=(timezone.now() + timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0),
    )


def watch_on_worker_start(**kwargs) -> None:
    """django-q2's post_spawn, after generation's worker_start has loaded the stack: a model worker whose environment
    no check has run under yet queues a run of the watch now rather than at night."""
    if not worker_loads_models() or not environment_unwatched():
        return
    transaction.on_commit(
        lambda: task_send(func=WATCH_TASK, name="reproducibility-watch-new-environment", queue=Queue.GPU)
    )
    logger.warning("this worker's environment is new to the reproducibility watch: approved masters are re-checked now")
