"""Prometheus metrics: what the run lifecycle measures in every process, and what the queues hold, read from
Postgres when scraped (so every host's work shows, whichever host is scraped).

Under gunicorn or a django-q2 cluster one host runs many processes: with PROMETHEUS_MULTIPROC_DIR set (an
empty folder per host, e.g. on tmpfs) each process writes its values there and the exposition adds them up.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

# Jobs run from a fraction of a second (a notification) to many minutes (a 4096² upscale, an SDXL batch).
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

JOB_WAIT = Histogram(
    "seed_job_wait_seconds", "From queued to a worker starting it, per operation", ["op"], buckets=DURATION_BUCKETS
)
JOB_RUN = Histogram(
    "seed_job_run_seconds",
    "A worker's time on one job, per operation and outcome",
    ["op", "outcome"],
    buckets=DURATION_BUCKETS,
)
JOB_FAILURES = Counter(
    "seed_job_failures_total", "Jobs that did not succeed, per operation and reason", ["op", "reason"]
)
GPU_SECONDS = Counter("seed_gpu_seconds_total", "Seconds of GPU work recorded with the outputs, per operation", ["op"])

WORKER_SILENT_AFTER = timedelta(seconds=90)
METRICS_OFF = "metrics are off: set SEED_METRICS_TOKEN or SEED_METRICS_ALLOW"
METRICS_REFUSED = "metrics need the bearer token (SEED_METRICS_TOKEN) or an address in SEED_METRICS_ALLOW"


def metrics_access(*, authorization: str, address: str) -> bool | None:
    """Whether a scrape may read the metrics: the bearer token, or a peer address in an allowed network.
    None when neither is configured (the metrics are off)."""
    token, networks = settings.SEED_METRICS_TOKEN, settings.SEED_METRICS_ALLOW
    if not (token or networks):
        return None
    if (
        token
        and authorization.startswith("Bearer ")
        and hmac.compare_digest(authorization.removeprefix("Bearer ").encode(), token.encode())
    ):
        return True
    try:
        peer = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(peer in ipaddress.ip_network(network, strict=False) for network in networks)


def run_op(row) -> str:
    """The operation a queued row stands for: a derivation's op, else the kind of run (delivery, notification …)."""
    return getattr(row, "op", "") or row.run_kind


def job_started(*, row) -> None:
    created = getattr(row, "created_at", None)
    if created is not None and row.started_at is not None:
        JOB_WAIT.labels(op=run_op(row)).observe(max(0.0, (row.started_at - created).total_seconds()))


def job_ended(*, row, outcome: str, seconds: float, failure: str | None) -> None:
    op = run_op(row)
    JOB_RUN.labels(op=op, outcome=outcome).observe(seconds)
    if failure:
        JOB_FAILURES.labels(op=op, reason=failure).inc()


def gpu_seconds_add(*, op: str, seconds: float) -> None:
    if seconds > 0:
        GPU_SECONDS.labels(op=op).inc(seconds)


class QueueCollector:
    """Queue depth, oldest waiting task and live workers per cluster, from the broker's and the workers' tables."""

    def collect(self):
        from assets.models import WorkerProcess

        depth = GaugeMetricFamily(
            "seed_queue_depth",
            "Tasks on the broker, per cluster and whether a worker holds them",
            labels=["cluster", "state"],
        )
        oldest = GaugeMetricFamily(
            "seed_queue_oldest_waiting_seconds",
            "Age of the oldest task no worker holds, per cluster",
            labels=["cluster"],
        )
        for cluster, waiting, held, oldest_seconds in queue_depths():
            depth.add_metric([cluster, "waiting"], waiting)
            depth.add_metric([cluster, "held"], held)
            oldest.add_metric([cluster], oldest_seconds)
        workers = GaugeMetricFamily(
            "seed_workers",
            "Worker processes per cluster: alive (heartbeat within 90 s) or silent",
            labels=["cluster", "state"],
        )
        recent = timezone.now() - WORKER_SILENT_AFTER
        counts: dict[tuple[str, str], int] = {}
        for cluster, seen_at in WorkerProcess.objects.values_list("cluster", "seen_at"):
            key = (cluster, "alive" if seen_at >= recent else "silent")
            counts[key] = counts.get(key, 0) + 1
        for (cluster, state), count in sorted(counts.items()):
            workers.add_metric([cluster, state], count)
        return [depth, oldest, workers]


def queue_depths() -> list[tuple[str, int, int, float]]:
    """(cluster, waiting, held by a worker, seconds the oldest waiting task has waited) per cluster with tasks, from
    the broker each cluster's queue rides."""
    from redis.exceptions import RedisError

    from assets.services.queues import cluster_names, queue_broker_name, redis_queue_head

    # The broker compares its locks with the application's clock, not the database's: so does this.
    now = timezone.now()
    on_redis = [name for name in cluster_names() if queue_broker_name(list_key=name) == "redis"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key, count(*) FILTER (WHERE lock <= %s), count(*) FILTER (WHERE lock > %s), "
            "coalesce(extract(epoch FROM %s - min(lock) FILTER (WHERE lock <= %s)), 0) "
            "FROM django_q_ormq WHERE NOT key = ANY(%s) GROUP BY key ORDER BY key",
            [now, now, now, now, on_redis],
        )
        depths = [(key, waiting, held, float(seconds)) for key, waiting, held, seconds in cursor.fetchall()]
    for name in on_redis:
        try:
            waiting, head = redis_queue_head(list_key=name)
        except RedisError as exc:
            logger.warning("the %s queue's depth is unknown: its Redis broker did not answer (%s)", name, exc)
            continue
        if waiting:
            depths.append((name, waiting, 0, (now - head["started"]).total_seconds() if head else 0.0))
    return sorted(depths)


def exposition() -> bytes:
    """The text a Prometheus scrape reads: this host's process metrics (all processes in multiprocess mode)
    and the queues of every cluster."""
    from prometheus_client import REGISTRY, multiprocess

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics(REGISTRY))
    registry.register(QueueCollector())
    return generate_latest(registry)


class _ProcessMetrics:
    def __init__(self, source) -> None:
        self.source = source

    def collect(self):
        return self.source.collect()
