"""Worker processes report themselves: a row when they start, a heartbeat while they live."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from assets.models import WorkerProcess
from assets.services.run_resend import runs_resend

logger = logging.getLogger(__name__)

FORGET_AFTER = timedelta(days=7)


def worker_register(*, cluster: str, ready_seconds: float | None) -> WorkerProcess:
    """Record this process as a worker of `cluster` (a pid the host reused replaces the old row)."""
    now = timezone.now()
    WorkerProcess.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()
    worker, _ = WorkerProcess.objects.update_or_create(
        host=socket.gethostname(),
        pid=os.getpid(),
        defaults={"cluster": cluster, "started_at": now, "seen_at": now, "ready_seconds": ready_seconds},
    )
    return worker


def worker_beat(*, worker: WorkerProcess) -> bool:
    """Touch the worker's row; False when the database could not be reached (the worker carries on)."""
    try:
        return bool(WorkerProcess.objects.filter(pk=worker.pk).update(seen_at=timezone.now()))
    except DatabaseError as exc:
        logger.warning("worker heartbeat not recorded: %s", exc)
        return False
    finally:
        # The heartbeat's thread holds no connection between beats: the pool stays for the jobs.
        connection.close()


def worker_resend() -> None:
    """The lifecycle's sweep for lost tasks, from this worker; a broker or database that cannot be reached now is
    tried again at the next period."""
    from redis.exceptions import RedisError

    try:
        runs_resend()
    except (DatabaseError, RedisError) as exc:
        logger.warning("lost tasks not looked for: %s", exc)
    finally:
        connection.close()


def worker_heartbeat_start(*, worker: WorkerProcess, interval: float) -> Callable[[], None]:
    """Beat every `interval` seconds on a daemon thread while the process lives, and every SEED_Q_RESEND_S send again
    what a broker lost (assets.services.run_resend); returns what stops it (and waits)."""
    stop = threading.Event()
    resend_every = settings.SEED_Q_RESEND_S

    def beat() -> None:
        resent_at = time.monotonic()
        while not stop.wait(min(interval, resend_every)):
            try:
                worker_beat(worker=worker)
                if time.monotonic() - resent_at >= resend_every:
                    resent_at = time.monotonic()
                    worker_resend()
            except Exception:  # a heartbeat that dies would report a working worker as dead
                logger.exception("worker heartbeat failed")

    thread = threading.Thread(target=beat, name="seed-worker-heartbeat", daemon=True)
    thread.start()

    def stopped() -> None:
        stop.set()
        thread.join(timeout=interval + 30)

    return stopped
