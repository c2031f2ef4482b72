"""Many workers on one queue: a django-q2 cluster of 8 worker processes (on the Redis broker, and on the ORM broker on
Postgres) drains 2,000 small jobs through the one run lifecycle — claim by conditional UPDATE, record one small output
(a durable blob write and the one-statement record) — against the bare floor, 8 processes taking rows with
`FOR UPDATE SKIP LOCKED` and writing a row each, in one run. Reports jobs per second, claim conflicts (a job
claimed more than once), duplicates and lost jobs, for the project's broker settings (`queue_limit` 1: a cluster
takes one task ahead of its workers) and for a cluster that takes 8 ahead, and the broker alone (tasks that do
nothing), which shows how much of a job's cost is the broker's. The target is the Redis broker's: 500 jobs/s or 0.2× the
floor, whichever is lower.

    python -m bench.queue_scale [--jobs 2000] [--workers 8] [--brokers orm redis]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from multiprocessing import Process
from pathlib import Path

from bench._django import REPO, django_on_postgres
from bench._result import result_print
from config.localpg import free_port
from config.localredis import RedisServer


def job(derivation_id: int) -> str:
    """The task the cluster runs: the real run lifecycle with one 8×8 output of the job's own."""
    from PIL import Image

    from assets.models import Derivation
    from assets.services.derivations import OutputImage, derivation_outputs_record
    from assets.services.runs import run_guarded

    def record(derivation, scope) -> str:
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (derivation.pk % 256, derivation.pk // 256 % 256, 7)).save(buffer, format="PNG")
        derivation_outputs_record(
            derivation=derivation,
            outputs=[OutputImage(index=0, seed=None, data=buffer.getvalue(), width=8, height=8)],
            blobs=scope.blobs,
            environment={},
            gpu_seconds=0.0,
        )
        return "succeeded"

    return run_guarded(model=Derivation, pk=derivation_id, work=record)


def noop(derivation_id: int) -> int:
    """A task that does nothing: what the broker alone costs per task."""
    return derivation_id


def _floor_worker(dsn: str, worker: int) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        while True:
            row = connection.execute(
                "UPDATE bench_floor SET state = 'done', worker = %s, output = %s WHERE id = ("
                "SELECT id FROM bench_floor WHERE state = 'queued' ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) "
                "RETURNING id",
                [worker, os.urandom(120)],
            ).fetchone()
            if row is None:
                return


def _floor(dsn: str, jobs: int, workers: int) -> tuple[float, int, int]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_floor")
        connection.execute(
            "CREATE TABLE bench_floor (id serial PRIMARY KEY, state text NOT NULL, worker int, output bytea)"
        )
        connection.execute("INSERT INTO bench_floor (state) SELECT 'queued' FROM generate_series(1, %s)", [jobs])
        processes = [Process(target=_floor_worker, args=(dsn, worker)) for worker in range(workers)]
        started = time.perf_counter()
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        seconds = time.perf_counter() - started
        (done,) = connection.execute("SELECT count(*) FROM bench_floor WHERE state = 'done'").fetchone()
    return seconds, done, jobs - done


def _cluster(
    *, jobs: int, workers: int, queue_limit: int, brief, task: str = "bench.queue_scale.job", redis_url: str = ""
) -> dict:
    """Start a cluster, let its workers load, then queue `jobs` in one transaction and time the drain; on the Redis
    broker at `redis_url` when one is given, on the ORM broker otherwise."""
    from django.conf import settings
    from django.db import transaction
    from django.db.models import Count
    from django_q.models import OrmQ, Task
    from django_q.tasks import async_task

    from assets.models import Derivation, Generated, Phase
    from assets.services.queues import queue_broker

    broker = "redis" if redis_url else "orm"
    settings.SEED_Q_BROKER, settings.SEED_REDIS_URL = broker, redis_url
    env = {
        **os.environ,
        "SEED_Q_WORKERS": str(workers),
        "SEED_Q_QUEUE_LIMIT": str(queue_limit),
        "SEED_Q_BROKER": broker,
        "SEED_REDIS_URL": redis_url,
        "PYTHONPATH": str(REPO),
    }

    def broker_empty() -> bool:
        return not (OrmQ.objects.exists() if broker == "orm" else queue_broker().queue_size())

    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        warm = Derivation.objects.bulk_create(
            Derivation(brief=brief, op="import", phase=Phase.PRODUCTION) for _ in range(workers)
        )
        for derivation in warm:
            async_task("bench.queue_scale.job", derivation.pk)
        _wait(lambda: Derivation.objects.filter(pk__in=[d.pk for d in warm], state="succeeded").count() == workers, 600)
        rows = Derivation.objects.bulk_create(
            Derivation(brief=brief, op="import", phase=Phase.PRODUCTION) for _ in range(jobs)
        )
        ids = [row.pk for row in rows]
        started = time.perf_counter()
        # The project keeps no result of a task that succeeded (its run's row is the record); a task that does nothing
        # has no row, so its result is kept to tell when it ran.
        options = {"q_options": {"save": True}} if task.endswith(".noop") else {}
        with transaction.atomic():
            sent = [async_task(task, pk, **options) for pk in ids]
        if task.endswith(".noop"):
            # A task leaves the ORM broker's table only when acknowledged, after it ran. Redis forgets it once taken:
            # once its list is empty, the tasks still running are among the last ones sent, so their results tell.
            last = sent[-4 * workers :]
            _wait(lambda: broker_empty() and Task.objects.filter(id__in=last).count() == len(last), 1800)
            return {"seconds": time.perf_counter() - started}
        _wait(
            lambda: broker_empty() and Derivation.objects.filter(pk__in=ids, state="succeeded").count() == jobs,
            1800,
        )
        seconds = time.perf_counter() - started
    finally:
        cluster.terminate()
        cluster.wait(timeout=60)
    done = Derivation.objects.filter(pk__in=ids, state="succeeded").count()
    outputs = Generated.objects.filter(derivation_id__in=ids).values("derivation_id").annotate(n=Count("id"))
    return {
        "seconds": seconds,
        "done": done,
        "lost": jobs - done,
        "duplicates": sum(row["n"] - 1 for row in outputs if row["n"] > 1),
        "conflicts": Derivation.objects.filter(pk__in=ids, attempts__gt=1).count(),
    }


def _wait(done, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit("the cluster did not finish in time")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--brokers", nargs="+", choices=["orm", "redis"], default=["orm", "redis"])
    args = parser.parse_args()
    redis_server = RedisServer(folder=Path(tempfile.mkdtemp(prefix="seed-bench-redis-")), port=free_port())
    with django_on_postgres():
        from django.db import connection

        from assets.services.briefs import brief_create, campaign_create, client_create

        brief = brief_create(campaign=campaign_create(client=client_create(name="Bench"), name="Queue"), title="Scale")
        settings_dict = connection.settings_dict
        dsn = (
            f"host={settings_dict['HOST']} port={settings_dict['PORT']} dbname={settings_dict['NAME']} "
            f"user={settings_dict['USER']}"
        )
        floor_seconds, floor_done, floor_lost = _floor(dsn, args.jobs, args.workers)
        try:
            url = redis_server.start()
            cluster = partial(_cluster, jobs=args.jobs, workers=args.workers, brief=brief)
            runs = {
                (broker, limit): cluster(queue_limit=limit, redis_url=url if broker == "redis" else "")
                for broker in args.brokers
                for limit in (1, args.workers)
            }
            alone = {
                broker: cluster(
                    queue_limit=1, redis_url=url if broker == "redis" else "", task="bench.queue_scale.noop"
                )
                for broker in args.brokers
            }
        finally:
            redis_server.stop()
            shutil.rmtree(redis_server.folder, ignore_errors=True)
    _report(args=args, floor=(floor_seconds, floor_lost), runs=runs, alone=alone)


def _report(*, args, floor: tuple[float, int], runs: dict, alone: dict) -> None:
    floor_seconds, floor_lost = floor
    floor_rate = args.jobs / floor_seconds
    names = {"orm": "ORM broker (Postgres)", "redis": "Redis broker"}
    print(f"{args.jobs} jobs, {args.workers} worker processes, {os.cpu_count()} CPUs")
    print(f"  floor, FOR UPDATE SKIP LOCKED + a row each: {floor_rate:8.0f} jobs/s, {floor_lost} lost")
    for broker, run in alone.items():
        print(f"  django-q2 {names[broker]} alone (a task that does nothing): {args.jobs / run['seconds']:8.0f} jobs/s")
    for (broker, limit), run in runs.items():
        print(
            f"  django-q2 {names[broker]}, queue_limit {limit}: {args.jobs / run['seconds']:8.0f} jobs/s, "
            f"{run['conflicts']} claimed more than once, {run['duplicates']} duplicates, {run['lost']} lost"
        )
    target = min(500.0, 0.2 * floor_rate)
    headline = "redis" if "redis" in args.brokers else "orm"
    ours = args.jobs / runs[(headline, 1)]["seconds"]
    result_print(
        name="queue scale",
        ratio=ours / floor_rate,
        meaning=f"{args.workers} workers through the {names[headline]} and the run lifecycle / bare SKIP LOCKED "
        "floor, jobs/s (queue_limit 1)",
        target=f">= {target:.0f} jobs/s (min of 500, 0.2x floor); 0 duplicates, 0 lost",
        met=ours >= target
        and all(run["duplicates"] == 0 and run["lost"] == 0 for run in runs.values())
        and floor_lost == 0,
        details=", ".join(
            f"{broker} queue_limit {limit}: {args.jobs / run['seconds']:.0f} jobs/s, {run['conflicts']} conflicts"
            for (broker, limit), run in runs.items()
        )
        + "; "
        + ", ".join(f"{broker} broker alone {args.jobs / run['seconds']:.0f} jobs/s" for broker, run in alone.items())
        + f"; floor {floor_rate:.0f} jobs/s",
    )


if __name__ == "__main__":
    main()
