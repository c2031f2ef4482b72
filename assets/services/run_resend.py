"""Send again the tasks a broker lost, so that no queued run waits for ever.

A run's task can leave the broker without its run ending: Redis hands a task out and keeps no receipt, so the task
dies with a worker killed mid-job (or with the tasks its cluster had taken ahead); a restarted Redis holds nothing;
a process can die between its commit and the send that follows it. The rows keep what was sent (run_enqueue), so
the lifecycle finds both kinds of loss by itself. Every worker process looks every SEED_Q_RESEND_S, on its heartbeat's
thread (assets.services.workers): not through a broker, which may be the very thing that lost the tasks.

- claimed but dead: running, and claimed longer ago than the task timeout, which is when run_claim lets another
  worker take the row over;
- sent but never delivered: queued, sent more than SEED_Q_RESEND_S ago, while its queue on the broker is empty.
  A task still waiting in a busy queue is left alone; one a cluster holds ahead of its workers may be sent twice,
  and then the claim lets one copy run and the other finds nothing to do.

Each row is sent again at most once per period: the send moves its `sent_at`, under a conditional UPDATE that another
worker's sweep running at the same moment matches nothing with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assets.models.base import queued_run_models
from assets.services.queues import Queue, queue_broker, queue_cluster, task_send

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resent:
    kind: str
    pk: int
    state: str


def _queue_size(queue: Queue) -> int | None:
    """Tasks waiting on the queue's broker; None when it does not answer."""
    from redis.exceptions import RedisError

    try:
        return queue_broker(list_key=queue_cluster(queue=queue)).queue_size()
    except RedisError as exc:
        logger.warning("the %s queue's broker did not answer (%s): its lost runs are sent once it does", queue, exc)
        return None


def runs_resend() -> list[Resent]:
    """Send again every run whose task a broker lost; returns what was sent. Runs of a queue whose broker does not
    answer wait for the next period, so that a send that cannot arrive does not move their time."""
    now = timezone.now()
    dead_before = now - timedelta(seconds=settings.Q_CLUSTER["timeout"])
    undelivered_before = now - timedelta(seconds=settings.SEED_Q_RESEND_S)
    sizes = {str(queue): _queue_size(queue) for queue in Queue}
    answering = [queue for queue, size in sizes.items() if size is not None]
    empty = [queue for queue, size in sizes.items() if size == 0]
    resent: list[Resent] = []
    for model in queued_run_models():
        lost = Q(state=model.State.RUNNING, started_at__lt=dead_before, sent_at__lt=dead_before) | Q(
            state=model.State.QUEUED, sent_at__lt=undelivered_before, task_queue__in=empty
        )
        rows = model.objects.filter(lost, task_queue__in=answering).exclude(task_func="")
        for pk, state, sent_at, func, queue in rows.values_list("pk", "state", "sent_at", "task_func", "task_queue"):
            if model.objects.filter(pk=pk, state=state, sent_at=sent_at).update(sent_at=now):
                kind = model._meta.model_name
                transaction.on_commit(
                    partial(task_send, func=func, args=(pk,), name=f"{kind}-{pk}-resent", queue=Queue(queue))
                )
                resent.append(Resent(kind=kind, pk=pk, state=state))
    if resent:
        logger.warning(
            "sent again %s run(s) a broker lost: %s",
            len(resent),
            ", ".join(f"{row.kind} {row.pk} ({row.state})" for row in resent[:20]),
        )
    return resent
