"""A live Seed install for fault tests: its own Postgres, media root, qcluster workers and gunicorn.

Every process is real and separate; the tests kill them, stop the database under them and read the
outcome through the same tables an operator would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
import redis

from config.localpg import Cluster, free_port
from config.localredis import RedisServer
from config.processes import child_options

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("SEED_RELIABILITY") == "full"
# Torch's threads on every live host; a baseline made in the test's own process runs on the same count.
HOST_TORCH_THREADS = 1


class LiveStack:
    def __init__(self, folder: Path, *, broker: str = "orm"):
        self.folder = folder
        self.cluster = Cluster(data_dir=folder / "pg", port=free_port(), fast=True)
        # On the Redis broker a task taken by a killed worker is gone: the run lifecycle must send it again.
        self.redis = RedisServer(folder=folder / "redis", port=free_port()) if broker == "redis" else None
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "SEED_", "DATABASE_URL", "PYTEST"))
        }
        self.env.update(
            DJANGO_SETTINGS_MODULE="config.settings.local",
            DJANGO_DEBUG="0",
            DATABASE_URL=self.cluster.url,
            SEED_MEDIA_ROOT=str(folder / "media"),
            SEED_TORCH_THREADS=str(HOST_TORCH_THREADS),
            SEED_Q_WORKERS="1",
            # Short enough that a task lost with its worker comes back within the test; long enough for a cold start.
            SEED_Q_TIMEOUT="20",
            SEED_Q_RETRY="24",
            SEED_Q_MAX_ATTEMPTS="6",
            SEED_LOG_LEVEL="WARNING",
            # The lifecycle's sweep for lost tasks (every worker, this often) and the wait before it sends again a
            # queued run whose broker no longer holds its task.
            SEED_Q_RESEND_S="5",
        )
        if self.redis is not None:
            self.env.update(SEED_Q_BROKER="redis", SEED_REDIS_URL=self.redis.url)
        self.processes: list[subprocess.Popen] = []

    def run(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, *argv], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"{argv} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        return result

    def driver(self, *argv: str) -> dict:
        return json.loads(self.run("-m", "tests.reliability.driver", *argv).stdout.strip().splitlines()[-1])

    def spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        # A session of its own: kill -9 of the group takes the cluster's sentinel, pusher, monitor and worker at once;
        # if this test process dies without its clean-up, the kernel stops the child too.
        process = subprocess.Popen(
            argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, **child_options()
        )
        self.processes.append(process)
        return process

    def worker(self, name: str) -> subprocess.Popen:
        self.env["SEED_LOG_LEVEL"] = "INFO"  # the worker's "ready" line
        try:
            return self.spawn(name, [sys.executable, "manage.py", "qcluster"])
        finally:
            self.env["SEED_LOG_LEVEL"] = "WARNING"

    def worker_ready(self, name: str) -> bool:
        """The cluster's worker has loaded its ML stack and takes tasks (a kill now can hit a job in flight)."""
        log = self.logs / f"{name}.log"
        return log.exists() and b"worker ready" in log.read_bytes()

    def web(self, port: int) -> subprocess.Popen:
        env_port = {"SEED_BIND": f"127.0.0.1:{port}", "SEED_WEB_WORKERS": "2", "SEED_LOG_FORMAT": "json"}
        self.env.update(env_port)
        process = self.spawn(
            "web", [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--config", "config/gunicorn.conf.py"]
        )
        for key in env_port:
            del self.env[key]
        return process

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.kill(process)
        self.processes.clear()

    def sql(self, query: str, *params) -> list[tuple]:
        with psycopg.connect(self.cluster.url.replace("postgres://", "postgresql://"), connect_timeout=5) as connection:
            return connection.execute(query, params).fetchall()

    def pending(self, label: str) -> tuple[int, int]:
        """(derivations of the run not yet finished, tasks still on the broker)."""
        ((unfinished,),) = self.sql(
            "SELECT count(*) FROM assets_derivation d JOIN assets_brief b ON b.id = d.brief_id "
            "WHERE b.title = %s AND d.state IN ('queued', 'running')",
            label,
        )
        if self.redis is not None:
            return unfinished, redis.from_url(self.redis.url).llen("django_q:seed:q")
        ((queued,),) = self.sql("SELECT count(*) FROM django_q_ormq")
        return unfinished, queued

    def running(self, label: str) -> list[int]:
        """Derivations of the run that a worker has claimed and not finished."""
        return [
            pk
            for (pk,) in self.sql(
                "SELECT d.id FROM assets_derivation d JOIN assets_brief b ON b.id = d.brief_id "
                "WHERE b.title = %s AND d.state = 'running'",
                label,
            )
        ]

    def schedules_hold(self) -> None:
        """Move the housekeeping schedules (the review clock, digests, audits) a day out. A cluster's scheduler first
        runs 30 s after it starts and the clock repeats every minute, so their tasks would reach the broker at moments
        unrelated to the work under test, and a drained broker would fill again between a wait and its report."""
        self.sql("UPDATE django_q_schedule SET next_run = now() + interval '1 day' RETURNING id")

    def wait_disconnected(self, timeout: float = 30) -> None:
        """Wait until Postgres has ended every other client's session, so a commit a killed worker had sent is
        either applied or gone before anyone reads the rows."""
        deadline = time.monotonic() + timeout
        while self.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )[0][0]:
            assert time.monotonic() < deadline, "sessions of killed workers did not end"
            time.sleep(0.1)

    def wait_drained(self, label: str, *, timeout: float, tick=None) -> float:
        started = time.monotonic()
        while True:
            if tick is not None:
                tick(time.monotonic() - started)
            try:
                if self.pending(label) == (0, 0):
                    return time.monotonic() - started
            except (psycopg.OperationalError, redis.ConnectionError):
                pass
            assert time.monotonic() - started < timeout, f"{label} did not drain in {timeout} s: {self.pending(label)}"
            time.sleep(0.5)


def assert_exactly_once(report: dict, *, jobs: int) -> None:
    """The driver's report of one run: each job ended once, with one version, and nothing is left over."""
    assert report["derivations"] == jobs
    assert report["not_finished"] == [], "rows left queued or running"
    assert report["failed"] == [], "jobs failed (with these reasons)"
    assert report["states"] == {"succeeded": jobs}
    assert report["wrong_output_counts"] == {}, "a job recorded more or fewer versions than it makes"
    assert report["versions"] == jobs
    assert (
        report["orphan_blob_files"] == [] and report["blob_rows_without_file"] == [] and report["blob_temp_files"] == []
    )
    assert report["queued_tasks"] == 0


def _live(folder: Path, *, broker: str):
    live = LiveStack(folder, broker=broker)
    if live.redis is not None:
        live.redis.start()
    live.cluster.up()
    live.run("manage.py", "migrate", "--noinput")
    live.schedules_hold()
    try:
        yield live
    finally:
        live.stop_all()
        live.cluster.stop()
        if live.redis is not None:
            live.redis.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from _live(tmp_path_factory.mktemp("live"), broker="orm")


@pytest.fixture(scope="module")
def redis_stack(tmp_path_factory):
    """The same install with its queue on django-q2's Redis broker (Debian's redis-server, no persistence)."""
    yield from _live(tmp_path_factory.mktemp("live-redis"), broker="redis")
