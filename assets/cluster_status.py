"""What an operator asks of the worker clusters: who works, what waits, what runs, what failed last.

Read from Postgres (the ORM broker's queue, the workers' heartbeats, the runs' rows) and from Redis for a queue on
the Redis broker, so any host answers for every host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from assets.metrics import WORKER_SILENT_AFTER, queue_depths, run_op
from assets.models import WorkerProcess
from assets.models.base import queued_run_models
from assets.services.queues import Queue, cluster_names, queue_broker_name, redis_queue_head


@dataclass
class ClusterStatus:
    name: str
    takes: str
    workers: list[dict] = field(default_factory=list)
    waiting: int = 0
    held: int = 0
    oldest_waiting: dict | None = None


def _what_it_takes(name: str) -> str:
    if name == Queue.GPU:
        return "generation, upscale, reproduction, reproducibility watch"
    if name == Queue.CPU:
        return "finishing without a model, delivery, notifications, webhooks, reminders, audits"
    return (
        "every task" if not settings.SEED_SPLIT_CLUSTERS else "nothing: SEED_SPLIT_CLUSTERS sends work to gpu and cpu"
    )


def clusters_status(*, failures: int = 10) -> dict:
    from django_q.models import Failure, OrmQ

    now = timezone.now()
    clusters = {name: ClusterStatus(name=name, takes=_what_it_takes(name)) for name in cluster_names()}

    def cluster(name: str) -> ClusterStatus:
        return clusters.setdefault(name, ClusterStatus(name=name, takes=_what_it_takes(name)))

    for worker in WorkerProcess.objects.all():
        silent = now - worker.seen_at
        cluster(worker.cluster).workers.append(
            {
                "host": worker.host,
                "pid": worker.pid,
                "started_at": worker.started_at,
                "seen_at": worker.seen_at,
                "alive": silent <= WORKER_SILENT_AFTER,
                "seen_seconds_ago": round(silent.total_seconds(), 1),
                "ready_seconds": worker.ready_seconds,
            }
        )
    for name, waiting, held, oldest_seconds in queue_depths():
        status = cluster(name)
        status.waiting, status.held = waiting, held
        if queue_broker_name(list_key=name) == "redis":
            head = redis_queue_head(list_key=name)[1]
            oldest_name = head["name"] if head else None
        else:
            oldest = OrmQ.objects.filter(key=name, lock__lte=now).order_by("lock", "id").first()
            oldest_name = oldest.name() if oldest else None
        if oldest_name is not None:
            status.oldest_waiting = {"task": oldest_name, "waiting_seconds": round(oldest_seconds, 1)}
    return {
        "clusters": [vars(status) for status in clusters.values()],
        "running": _runs(state="running", limit=50),
        "failures": _runs(state="failed", limit=failures),
        "task_failures": [
            {
                "task": failure.name,
                "func": failure.func,
                "cluster": failure.cluster,
                "at": failure.stopped,
                "result": str(failure.result)[:300],
            }
            for failure in Failure.objects.order_by("-stopped")[:failures]
        ],
    }


def _runs(*, state: str, limit: int) -> list[dict]:
    """Rows of every kind of queued run (derivations, deliveries, reproductions, notifications, webhooks) in a state,
    newest first."""
    order = "-finished_at" if state == "failed" else "started_at"
    rows = []
    for model in queued_run_models():
        for row in model.objects.filter(state=state).order_by(order)[:limit]:
            rows.append(
                {
                    "kind": row.run_kind,
                    "id": row.pk,
                    "op": run_op(row),
                    "attempts": row.attempts,
                    "claimed_by": row.claimed_by,
                    "started_at": row.started_at,
                    "finished_at": row.finished_at,
                    "error": row.error[:300],
                }
            )
    moment = "finished_at" if state == "failed" else "started_at"
    rows.sort(key=lambda row: row[moment] or datetime.min.replace(tzinfo=UTC), reverse=state == "failed")
    return rows[:limit]
