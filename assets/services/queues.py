"""Which worker cluster takes which work, and the schedules that feed them.

One django-q2 cluster takes everything by default (one machine, the demo, the tests). With
SEED_SPLIT_CLUSTERS on, work that runs a model (generation, upscale, reproduction, the reproducibility
watch) goes to the "gpu" cluster and everything else (finishing without a model, delivery,
notifications, reminders, audits) to the "cpu" cluster, so a cheap CPU box delivers while GPUs generate.
A worker joins one by its environment: `Q_CLUSTER_NAME=gpu manage.py qcluster`.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings


class Queue(StrEnum):
    GPU = "gpu"
    CPU = "cpu"


def queue_cluster(*, queue: Queue) -> str | None:
    """The django-q2 cluster that takes this queue's tasks; None is the one default cluster."""
    return str(queue) if settings.SEED_SPLIT_CLUSTERS else None


def task_send(*, func: str, args: tuple = (), name: str, queue: Queue) -> None:
    """Put a task on the broker now, on its queue's cluster (callers send in `transaction.on_commit`)."""
    from django_q.tasks import async_task

    async_task(func, *args, task_name=name, cluster=queue_cluster(queue=queue))


def schedule_ensure(*, name: str, func: str, queue: Queue, **timing) -> None:
    """A repeating schedule made on migrate: running migrate again changes nothing, except routing it to
    the cluster the current set-up sends its queue to (a studio that splits its clusters migrates once) and
    pointing it at its task where the task moved to another app (the schedule keeps its name and timing)."""
    from django_q.models import Schedule

    cluster = queue_cluster(queue=queue)
    schedule, created = Schedule.objects.get_or_create(
        name=name, defaults={"func": func, "repeats": -1, "cluster": cluster, **timing}
    )
    if not created and (schedule.cluster, schedule.func) != (cluster, func):
        Schedule.objects.filter(pk=schedule.pk).update(cluster=cluster, func=func)
