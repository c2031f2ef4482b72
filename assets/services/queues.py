"""Which worker cluster takes which work, and the schedules that feed them.

One django-q2 cluster takes everything by default (one machine, the demo, the tests). With
SEED_SPLIT_CLUSTERS on, work that runs a model (generation, upscale, reproduction, the reproducibility
watch) goes to the "gpu" cluster and everything else (finishing without a model, delivery,
notifications, reminders, audits) to the "cpu" cluster, so a cheap CPU box delivers while GPUs generate.
A worker joins one by its environment: `Q_CLUSTER_NAME=gpu manage.py qcluster`.

Each queue rides the broker its setting names (SEED_Q_BROKER for the one cluster, SEED_Q_GPU_BROKER and
SEED_Q_CPU_BROKER for split ones): django-q2's ORM broker on Postgres, or its Redis broker at SEED_REDIS_URL.
Redis keeps no receipt of a task a worker took: the run lifecycle sends again what a dead worker or a restarted
broker lost (assets.services.run_resend).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class Queue(StrEnum):
    GPU = "gpu"
    CPU = "cpu"


logger = logging.getLogger(__name__)

BROKER_SETTINGS = {"gpu": "SEED_Q_GPU_BROKER", "cpu": "SEED_Q_CPU_BROKER"}


def queue_broker_name(*, list_key: str) -> str:
    """The broker ("orm" or "redis") of the cluster whose tasks go under `list_key` (its name)."""
    return getattr(settings, BROKER_SETTINGS.get(list_key, "SEED_Q_BROKER"))


@lru_cache(maxsize=16)
def _redis_broker(list_key: str, url: str):
    import redis
    from django_q.brokers.redis_broker import Redis

    if not url:
        raise ImproperlyConfigured(f"the {list_key} queue is set to the Redis broker, but SEED_REDIS_URL is empty")
    broker = Redis(list_key=list_key)
    # Bounded waits: a broker host that stopped answering must not hang a person's request (the pusher's own wait
    # for a task is 1 s).
    broker.connection = redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
    return broker


def queue_broker(*, list_key: str | None = None):
    """django-q2's broker for a cluster (its BROKER_CLASS). A Redis broker is made once per cluster and URL in a
    process, so an enqueue reuses its connection pool instead of opening a connection each time."""
    from django_q.conf import Conf

    list_key = list_key or Conf.CLUSTER_NAME
    if queue_broker_name(list_key=list_key) == "redis":
        return _redis_broker(list_key, settings.SEED_REDIS_URL)
    from django_q.brokers.orm import ORM

    return ORM(list_key=list_key)


def cluster_names() -> list[str]:
    """The clusters work is sent to, by the names their tasks go under."""
    from django_q.conf import Conf

    return [str(Queue.GPU), str(Queue.CPU)] if settings.SEED_SPLIT_CLUSTERS else [Conf.PREFIX]


def redis_queue_head(*, list_key: str) -> tuple[int, dict | None]:
    """(tasks waiting on a Redis queue, the oldest one's package: its name and when it was sent). Redis holds no
    task a worker took, so nothing there is "held"."""
    from django_q.signing import SignedPackage

    broker = queue_broker(list_key=list_key)
    waiting = broker.queue_size()
    head = broker.connection.lindex(broker.list_key, 0) if waiting else None
    return waiting, SignedPackage.loads(head) if head is not None else None


def queue_cluster(*, queue: Queue) -> str | None:
    """The django-q2 cluster that takes this queue's tasks; None is the one default cluster."""
    return str(queue) if settings.SEED_SPLIT_CLUSTERS else None


def task_send(*, func: str, args: tuple = (), name: str, queue: Queue) -> None:
    """Put a task on the broker now, on its queue's cluster (callers send in `transaction.on_commit`).

    A Redis broker that does not answer loses only the send: the row is committed and remembers it was sent, and the
    run lifecycle sends it again once the broker answers (assets.services.run_resend); the person's request stands."""
    from django_q.tasks import async_task
    from redis.exceptions import RedisError

    try:
        async_task(func, *args, task_name=name, cluster=queue_cluster(queue=queue))
    except RedisError as exc:
        logger.warning("task %s not sent, the broker did not answer (%s); it is sent again once it does", name, exc)


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
