"""Many workers on one queue: a django-q2 cluster of 8 worker processes (the ORM broker on Postgres) drains 2,000
small jobs through the one run lifecycle — claim by conditional UPDATE, record one small output (a durable blob
write and the one-statement record) — against the bare floor, 8 processes taking rows with
`FOR UPDATE SKIP LOCKED` and writing a row each, in one run. Reports jobs per second, claim conflicts (a job
claimed more than once), duplicates and lost jobs, for the project's broker settings (`queue_limit` 1: a cluster
takes one task ahead of its workers) and for a cluster that takes 8 ahead, and the broker alone (tasks that do
nothing), which shows how much of a job's cost is the broker's.

    python -m bench.queue_scale [--jobs 2000] [--workers 8]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from multiprocessing import Process

from bench._django import REPO, django_on_postgres
from bench._result import result_print


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


def _cluster(*, jobs: int, workers: int, queue_limit: int, brief, task: str = "bench.queue_scale.job") -> dict:
    """Start a cluster, let its workers load, then queue `jobs` in one transaction and time the drain."""
    from django.db import transaction
    from django.db.models import Count
    from django_q.models import OrmQ
    from django_q.tasks import async_task

    from assets.models import Derivation, Generated, Phase

    env = {
        **os.environ,
        "SEED_Q_WORKERS": str(workers),
        "SEED_Q_QUEUE_LIMIT": str(queue_limit),
        "PYTHONPATH": str(REPO),
    }
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
        with transaction.atomic():
            for pk in ids:
                async_task(task, pk)
        if task.endswith(".noop"):
            # A task leaves the broker's table only when acknowledged, after it ran.
            _wait(lambda: not OrmQ.objects.exists(), 1800)
            return {"seconds": time.perf_counter() - started}
        _wait(
            lambda: (
                not OrmQ.objects.exists() and Derivation.objects.filter(pk__in=ids, state="succeeded").count() == jobs
            ),
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
    args = parser.parse_args()
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
        runs = {
            limit: _cluster(jobs=args.jobs, workers=args.workers, queue_limit=limit, brief=brief)
            for limit in (1, args.workers)
        }
        broker = _cluster(
            jobs=args.jobs, workers=args.workers, queue_limit=1, brief=brief, task="bench.queue_scale.noop"
        )
    floor_rate = args.jobs / floor_seconds
    print(f"{args.jobs} jobs, {args.workers} worker processes, {os.cpu_count()} CPUs")
    print(f"  floor, FOR UPDATE SKIP LOCKED + a row each: {floor_rate:8.0f} jobs/s, {floor_lost} lost")
    print(
        "  django-q2 ORM broker alone (a task that does nothing), queue_limit 1: "
        f"{args.jobs / broker['seconds']:8.0f} jobs/s"
    )
    for limit, run in runs.items():
        print(
            f"  django-q2 ORM broker, queue_limit {limit}: {args.jobs / run['seconds']:8.0f} jobs/s, "
            f"{run['conflicts']} claimed more than once, {run['duplicates']} duplicates, {run['lost']} lost"
        )
    ours = runs[1]
    result_print(
        name="queue scale",
        ratio=(args.jobs / ours["seconds"]) / floor_rate,
        meaning=f"{args.workers} workers through the ORM broker and the run lifecycle / bare SKIP LOCKED floor, jobs/s",
        target="0 duplicates, 0 lost (throughput reported)",
        met=all(run["duplicates"] == 0 and run["lost"] == 0 for run in runs.values()) and floor_lost == 0,
        details=", ".join(
            f"queue_limit {limit}: {args.jobs / run['seconds']:.0f} jobs/s, {run['conflicts']} conflicts"
            for limit, run in runs.items()
        )
        + f"; broker alone {args.jobs / broker['seconds']:.0f} jobs/s; floor {floor_rate:.0f} jobs/s",
    )


if __name__ == "__main__":
    main()
