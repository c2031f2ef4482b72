"""Two worker hosts that share nothing but Postgres and an S3 endpoint: a GPU host (generation, upscale,
reproduce) and a CPU host (finishing without a model, delivery, notifications), each with its own media
root, scratch and model cache. A third host (the control, as the web app would) queues each step.

While a worker host works, every other host's root is moved away (the control's too, once it has queued
the step): a read through any path that another host wrote fails, and a write there would show. What comes
out is compared with the same chain run in one process on a local blob folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from config.processes import child_options
from tests.reliability import chain
from tests.reliability.conftest import HOST_TORCH_THREADS, ROOT, LiveStack

pytestmark = pytest.mark.reliability

HOSTS = ("control", "gpu", "cpu")
STATES = {
    "derivation": "assets_derivation",
    "delivery": "delivery_delivery",
    "reproduction": "generation_reproductionrun",
}


def _baseline(tiny, run_jobs, settings) -> dict:
    # The hosts' thread count, not this process's setting: a worker runs every derivation on the count it is given.
    # The CPU capability needs nothing: the hosts run on this machine with this process's environment.
    settings.SEED_TORCH_THREADS = HOST_TORCH_THREADS
    people = chain.chain_people(label="one-host")
    with run_jobs():
        generated = chain.chain_generate(brief=people["brief"], base=tiny["base"], producer=people["producer"])
    with run_jobs():
        graded = chain.chain_grade(version=chain.output_of(generated))
    with run_jobs():
        upscaled = chain.chain_upscale(version=chain.output_of(graded))
    with run_jobs():
        delivery = chain.chain_deliver(
            version=chain.output_of(upscaled), producer=people["producer"], client=people["client"]
        )
    with run_jobs():
        reproduction = chain.chain_reproduce(version=chain.output_of(upscaled))
    return chain.chain_report(
        generated=generated, graded=graded, upscaled=upscaled, delivery=delivery, reproduction=reproduction
    )


class Hosts:
    def __init__(self, folder: Path, live: LiveStack, s3_environment: dict, keys: dict):
        self.folder, self.live = folder, live
        self.roots = {name: folder / name for name in HOSTS}
        self.environments = {}
        for name, root in self.roots.items():
            (root / "keys").mkdir(parents=True)
            for kind, _setting in (
                ("chain", "SEED_C2PA_CERT"),
                ("key", "SEED_C2PA_KEY"),
                ("root", "SEED_C2PA_TRUST_ANCHORS"),
            ):
                shutil.copy(keys[kind], root / "keys" / Path(keys[kind]).name)
            self.environments[name] = {
                **live.env,
                **s3_environment,
                "SEED_SPLIT_CLUSTERS": "1",
                "SEED_MEDIA_ROOT": str(root / "media"),
                "SEED_C2PA_CERT": str(root / "keys" / Path(keys["chain"]).name),
                "SEED_C2PA_KEY": str(root / "keys" / Path(keys["key"]).name),
                "SEED_C2PA_TRUST_ANCHORS": str(root / "keys" / Path(keys["root"]).name),
                "PROMETHEUS_MULTIPROC_DIR": str(root / "metrics"),
                **({"Q_CLUSTER_NAME": name, "SEED_LOG_LEVEL": "INFO"} if name != "control" else {}),
            }

    def control(self, *argv: str, worker: str | None = None) -> dict:
        """Run a command on the control host, with only its own root and that of the worker about to take the work."""
        with self.only("control", *([worker] if worker else [])):
            stdout = self.command("control", *argv)
        lines = stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}

    def command(self, name: str, *argv: str) -> str:
        result = subprocess.run(
            [sys.executable, *argv], cwd=ROOT, env=self.environments[name], capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{argv} failed on {name}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        return result.stdout

    def step(self, step: str, *, worker: str | None = None, **options) -> dict:
        argv = ["-m", "tests.reliability.driver", "chain", step]
        for key, value in options.items():
            argv += [f"--{key}", str(value)]
        return self.control(*argv, worker=worker)

    def worker(self, name: str) -> subprocess.Popen:
        log = (self.live.logs / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=self.environments[name],
            stdout=log,
            stderr=subprocess.STDOUT,
            **child_options(),
        )
        self.live.processes.append(process)
        return process

    @contextmanager
    def only(self, *names: str):
        """Every other host's root moved away while these work."""
        away = [(root, root.with_name(f"{root.name}.away")) for other, root in self.roots.items() if other not in names]
        for root, moved in away:
            root.rename(moved)
        try:
            yield
        finally:
            for root, moved in away:
                assert not root.exists(), (
                    f"something wrote into {root} while its host was away: {sorted(root.rglob('*'))}"
                )
                moved.rename(root)

    def wait(self, name: str, kind: str, pk: int, *, timeout: float = 240) -> None:
        """Wait, with only `name`'s root in place, until the row ends (it must have succeeded) and the broker holds no
        task: the work a step causes (the delivery's notifications, say) is done on its host before the next step."""
        with self.only(name):
            deadline = time.monotonic() + timeout
            while True:
                [(state, error)] = self.live.sql(f"SELECT state, error FROM {STATES[kind]} WHERE id = %s", pk)
                # Notifications are made in the step's own transaction, their tasks sent just after it commits.
                [(tasks,)] = self.live.sql(
                    "SELECT (SELECT count(*) FROM django_q_ormq) + (SELECT count(*) FROM review_notification "
                    "WHERE state IN ('queued', 'running'))"
                )
                if state not in {"queued", "running"} and (tasks == 0 or state != "succeeded"):
                    break
                assert time.monotonic() < deadline, f"{kind} {pk} still {state} after {timeout} s"
                time.sleep(0.3)
        assert state == "succeeded", f"{kind} {pk} ended {state}: {error}\n{self.logs()}"

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}" for path in self.live.logs.glob("*.log")
        )


def test_two_hosts_sharing_only_postgres_and_s3_make_the_same_bytes(
    tmp_path_factory, s3_endpoint, tiny, run_jobs, c2pa_keys, settings
):
    expected = _baseline(tiny, run_jobs, settings)
    assert expected["reproduction"] == "bit_identical" and expected["delivery_state"] == "succeeded"

    folder = tmp_path_factory.mktemp("two-hosts")
    live = LiveStack(folder)
    hosts = Hosts(folder, live, s3_endpoint.host_environment(bucket=s3_endpoint.bucket_create()), c2pa_keys)
    live.cluster.up()
    try:
        hosts.control("manage.py", "migrate", "--noinput")
        live.schedules_hold()
        workers = {name: hosts.worker(name) for name in ("gpu", "cpu")}
        deadline = time.monotonic() + 240
        while not all(live.worker_ready(name) for name in workers):
            assert all(process.poll() is None for process in workers.values()), hosts.logs()
            assert time.monotonic() < deadline, "the workers did not start:\n" + hosts.logs()
            time.sleep(0.5)

        # The model files are registered from the control host's disk, then gone from it: the GPU host can only
        # have them from the store.
        seeded = hosts.step("seed", worker="gpu", label="two-hosts")
        shutil.rmtree(hosts.roots["control"] / "media" / "tiny-models")
        assert seeded["base_sha256"] == tiny["base"].sha256, "the tiny models differ from the baseline's"
        ids = {"generated": seeded["generated"]}
        hosts.wait("gpu", "derivation", ids["generated"])
        ids["graded"] = hosts.step("grade", worker="cpu", derivation=ids["generated"])["graded"]
        hosts.wait("cpu", "derivation", ids["graded"])
        ids["upscaled"] = hosts.step("upscale", worker="gpu", derivation=ids["graded"])["upscaled"]
        hosts.wait("gpu", "derivation", ids["upscaled"])
        ids["delivery"] = hosts.step(
            "deliver", worker="cpu", derivation=ids["upscaled"], producer=seeded["producer"], client=seeded["client"]
        )["delivery"]
        hosts.wait("cpu", "delivery", ids["delivery"])
        ids["reproduction"] = hosts.step("reproduce", worker="gpu", derivation=ids["upscaled"])["reproduction"]
        hosts.wait("gpu", "reproduction", ids["reproduction"])

        assert hosts.step("report", ids=json.dumps(ids)) == expected

        def ran_on(table: str, pk: int) -> str:
            """The cluster of the worker whose claim ran the row ("<cluster>@<host>:<pid>")."""
            return live.sql(f"SELECT split_part(claimed_by, '@', 1) FROM {table} WHERE id = %s", pk)[0][0]

        assert ran_on("assets_derivation", ids["generated"]) == ran_on("assets_derivation", ids["upscaled"]) == "gpu"
        assert ran_on("assets_derivation", ids["graded"]) == ran_on("delivery_delivery", ids["delivery"]) == "cpu"
        assert ran_on("generation_reproductionrun", ids["reproduction"]) == "gpu"

        # The operator's view, from the control host: both clusters' workers alive, their queues empty.
        status = json.loads(hosts.command("control", "manage.py", "seed_status", "--json"))
        clusters = {cluster["name"]: cluster for cluster in status["clusters"]}
        assert {name: [worker["alive"] for worker in clusters[name]["workers"]] for name in ("gpu", "cpu")} == {
            "gpu": [True],
            "cpu": [True, True],
        }
        assert status["failures"] == [] and clusters["gpu"]["waiting"] == clusters["cpu"]["waiting"] == 0
        # Each worker host's metrics, summed over its worker processes: the jobs it ran, by operation.
        scraped = {name: hosts.command(name, "manage.py", "metrics_serve", "--once") for name in ("gpu", "cpu")}
        assert 'seed_job_run_seconds_count{op="txt2img",outcome="succeeded"} 1.0' in scraped["gpu"]
        assert 'seed_job_run_seconds_count{op="upscale",outcome="succeeded"} 1.0' in scraped["gpu"]
        assert 'seed_job_run_seconds_count{op="reproduction",outcome="bit_identical"} 1.0' in scraped["gpu"]
        assert 'seed_job_run_seconds_count{op="delivery",outcome="succeeded"} 1.0' in scraped["cpu"]
        assert 'seed_job_run_seconds_count{op="grade",outcome="succeeded"} 1.0' in scraped["cpu"]
        assert 'op="txt2img"' not in scraped["cpu"]
    finally:
        live.stop_all()
        live.cluster.stop()

    for name, root in hosts.roots.items():
        media = root / "media"
        assert not (media / "blobs").exists(), f"the {name} host kept blobs of its own instead of the shared store"
    gpu_cache = hosts.roots["gpu"] / "media" / "model-cache" / "blobs"
    assert sorted(path.name for path in gpu_cache.iterdir()), "the GPU host loaded no model from its own cache"
    assert not (hosts.roots["cpu"] / "media" / "model-cache").exists(), "the CPU host loaded a model"
