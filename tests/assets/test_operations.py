"""What an operator sees: Prometheus metrics, the cluster status, worker heartbeats and errors reaching Sentry."""

import gzip
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.storage import storages
from django.core.management import CommandError, call_command

from assets.models import Derivation, WorkerProcess
from assets.services.versions import version_import
from generation.services.finishing import finishing_create
from tests.factories import image_file, make_brief

GRADE = {"exposure": 0.1, "contrast": 1.0, "saturation": 1.0, "temperature": 0.0}


def _value(text: str, name: str, **labels) -> float:
    """One sample of an exposition, 0 when absent."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def _scrape(client, **headers) -> str:
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def _queue(cluster: str, name: str) -> None:
    """A task on the ORM broker exactly as async_task puts it there (the tests otherwise run tasks at once)."""
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    get_broker(cluster).enqueue(
        SignedPackage.dumps(
            {"id": name, "name": name, "func": "review.tasks.review_clock", "args": (), "kwargs": {}, "started": None}
        )
    )


def test_metrics_are_off_until_a_token_or_network_is_set_and_refuse_others(client, settings, db):
    settings.SEED_METRICS_TOKEN, settings.SEED_METRICS_ALLOW = "", []
    off = client.get("/metrics")
    assert off.status_code == 404 and b"SEED_METRICS_TOKEN" in off.content
    settings.SEED_METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics").status_code == 401
    refused = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-the-secret")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    _scrape(client, HTTP_AUTHORIZATION="Bearer scrape-secret")
    settings.SEED_METRICS_TOKEN, settings.SEED_METRICS_ALLOW = "", ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 401  # the test client is 127.0.0.1
    settings.SEED_METRICS_ALLOW = ["10.0.0.0/8", "127.0.0.0/8"]
    _scrape(client)


def test_metrics_count_jobs_by_operation_and_outcome_and_failures_by_reason(client, settings, db, run_jobs):
    settings.SEED_METRICS_TOKEN = "scrape-secret"
    auth = {"HTTP_AUTHORIZATION": "Bearer scrape-secret"}
    before = _scrape(client, **auth)
    brief = make_brief()
    version = version_import(brief=brief, source=image_file())
    with run_jobs():
        finishing_create(version=version, op="grade", params=GRADE)
    lost = version_import(brief=brief, source=image_file("lost.png", colour=(1, 2, 3)))
    storages["blobs"].delete(lost.blob.storage_name)  # the store lost a file: the job cannot read its input
    with run_jobs():
        crashed = finishing_create(version=lost, op="sharpen", params={"radius": 2.0, "percent": 150, "threshold": 3})
    crashed.refresh_from_db()
    assert crashed.state == Derivation.State.FAILED and "FileNotFoundError" in crashed.error

    after = _scrape(client, **auth)
    grade = {"op": "grade", "outcome": "succeeded"}
    assert (
        _value(after, "seed_job_run_seconds_count", **grade)
        == _value(before, "seed_job_run_seconds_count", **grade) + 1
    )
    assert (
        _value(after, "seed_job_wait_seconds_count", op="grade")
        == _value(before, "seed_job_wait_seconds_count", op="grade") + 1
    )
    assert (
        _value(after, "seed_job_failures_total", op="sharpen", reason="crashed")
        == _value(before, "seed_job_failures_total", op="sharpen", reason="crashed") + 1
    )
    assert "# TYPE seed_gpu_seconds_total counter" in after


def test_queue_depth_and_workers_per_cluster_in_metrics_and_seed_status(client, settings, db, capsys):
    from assets.services.workers import worker_register

    settings.SEED_SPLIT_CLUSTERS = True
    settings.SEED_METRICS_ALLOW = ["127.0.0.0/8"]
    _queue("gpu", "derivation-901")
    _queue("gpu", "derivation-902")
    _queue("cpu", "delivery-77")
    worker_register(cluster="gpu", ready_seconds=3.5)
    WorkerProcess.objects.create(
        cluster="cpu", host="cpu-box", pid=4242, started_at="2026-11-01T08:00:00Z", seen_at="2026-11-01T09:00:00Z"
    )

    text = _scrape(client)
    assert _value(text, "seed_queue_depth", cluster="gpu", state="waiting") == 2
    assert _value(text, "seed_queue_depth", cluster="cpu", state="waiting") == 1
    assert _value(text, "seed_queue_oldest_waiting_seconds", cluster="gpu") >= 0
    assert _value(text, "seed_workers", cluster="gpu", state="alive") == 1
    assert _value(text, "seed_workers", cluster="cpu", state="silent") == 1

    call_command("seed_status")
    out = capsys.readouterr().out
    assert "cluster gpu (generation, upscale, reproduction, reproducibility watch): 1 worker(s) alive" in out
    assert "cluster cpu (" in out and "cpu-box:4242  SILENT" in out
    assert "queue: 2 waiting, 0 held by a worker; oldest waiting derivation-901 for" in out
    call_command("seed_status", "--json")
    status = json.loads(capsys.readouterr().out)
    gpu = next(cluster for cluster in status["clusters"] if cluster["name"] == "gpu")
    assert gpu["waiting"] == 2 and gpu["oldest_waiting"]["task"] == "derivation-901" and gpu["workers"][0]["alive"]
    with pytest.raises(CommandError, match="--failures"):
        call_command("seed_status", "--failures", "-1")


def test_seed_status_lists_the_last_failures_of_every_kind_of_run(db, run_jobs, capsys):
    brief = make_brief()
    lost = version_import(brief=brief, source=image_file("gone.png", colour=(9, 9, 9)))
    storages["blobs"].delete(lost.blob.storage_name)
    with run_jobs():
        failed = finishing_create(version=lost, op="grade", params=GRADE)
    call_command("seed_status", "--failures", "5")
    out = capsys.readouterr().out
    assert f"derivation {failed.pk} (grade): FileNotFoundError" in out


@pytest.mark.django_db(transaction=True)
def test_a_worker_heartbeat_keeps_its_row_fresh():
    from assets.services.workers import worker_heartbeat_start, worker_register

    worker = worker_register(cluster="cpu", ready_seconds=0.1)
    first = worker.seen_at
    stop = worker_heartbeat_start(worker=worker, interval=0.05)
    try:
        deadline = time.monotonic() + 10
        while WorkerProcess.objects.get(pk=worker.pk).seen_at == first:
            assert time.monotonic() < deadline, "no heartbeat reached the database"
            time.sleep(0.05)
    finally:
        stop()


class _SentryIngest(BaseHTTPRequestHandler):
    """Sentry's envelope endpoint, enough to receive what the SDK sends."""

    received: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        type(self).received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def sentry_ingest():
    _SentryIngest.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SentryIngest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server, _SentryIngest.received
    server.shutdown()
    server.server_close()


def _events(received: list[bytes]) -> list[dict]:
    events = []
    for envelope in received:
        for line in envelope.split(b"\n"):
            if line.startswith(b"{") and b'"exception"' in line:
                events.append(json.loads(line))
    return events


def test_a_crashed_job_reaches_sentry_with_its_derivation_id_and_nothing_is_sent_without_a_dsn(
    settings, db, run_jobs, sentry_ingest
):
    import sentry_sdk

    from config.observability import sentry_init

    server, received = sentry_ingest
    brief = make_brief()
    lost = version_import(brief=brief, source=image_file("missing.png", colour=(3, 2, 1)))
    storages["blobs"].delete(lost.blob.storage_name)

    settings.SENTRY_DSN = ""
    with run_jobs():
        finishing_create(version=lost, op="grade", params=GRADE)
    assert not sentry_sdk.get_client().is_active() and received == []

    dsn = f"http://public-key@127.0.0.1:{server.server_address[1]}/42"
    settings.SENTRY_DSN = dsn
    sentry_init(dsn=dsn, environment="test")
    try:
        with run_jobs():
            crashed = finishing_create(version=lost, op="denoise", params={"strength": 0.4})
        sentry_sdk.flush(timeout=10)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init(dsn=None)
    [event] = _events(received)
    assert event["tags"]["seed.derivation_id"] == str(crashed.pk) and event["tags"]["seed.run"] == "derivation"
    assert event["contexts"]["seed run"]["op"] == "denoise"
    assert event["exception"]["values"][-1]["type"] == "FileNotFoundError"
    assert "user" not in event or not event["user"].get("email")


def test_schedules_follow_the_clusters_their_work_goes_to(settings, db):
    from django_q.models import Schedule

    from assets.services.audit_checkpoints import checkpoint_schedule_ensure
    from delivery.services.rights_watch import expiry_schedule_ensure
    from review.services.deadlines import schedules_ensure
    from review.services.drift import watch_schedule_ensure

    ensure = (watch_schedule_ensure, expiry_schedule_ensure, checkpoint_schedule_ensure, schedules_ensure)
    for function in ensure:
        function()
    assert set(Schedule.objects.values_list("cluster", flat=True)) == {None}
    settings.SEED_SPLIT_CLUSTERS = True
    for function in ensure:
        function()
    clusters = dict(Schedule.objects.values_list("func", "cluster"))
    assert clusters.pop("review.tasks.reproducibility_watch") == "gpu"
    assert set(clusters.values()) == {"cpu"} and len(clusters) == 4
    count = Schedule.objects.count()
    for function in ensure:
        function()
    assert Schedule.objects.count() == count
