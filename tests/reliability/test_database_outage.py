"""Postgres stops for 10 s under a draining worker and a serving web process; both must carry on by themselves."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from collections import Counter

import pytest

from config.localpg import free_port
from config.middleware import OUTAGE_LOG_SECONDS
from tests.reliability.conftest import assert_exactly_once

pytestmark = pytest.mark.reliability

JOBS = 12
OUTAGE_SECONDS = 10


def _get(url: str, token: str) -> tuple[int | str, dict | None]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}", "Host": "localhost"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, json.loads(body) if body.startswith(b"{") else None
    except (urllib.error.URLError, TimeoutError) as error:
        return f"no answer: {error}", None


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_worker_and_web_ride_out_a_database_outage(stack):
    token = stack.driver("token", "--user", "outage-probe")["token"]
    stack.driver("seed", "--jobs", str(JOBS), "--label", "outage")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/derivations/?state=succeeded"
    web, worker = stack.web(port), stack.worker("outage")
    _wait_for(lambda: _get(url, token)[0] == 200, 60, "the web process")
    secret = secrets.token_urlsafe(32)
    assert _get(f"http://127.0.0.1:{port}/review/s/{secret}/", token)[0] == 404
    _wait_for(lambda: _get(url, token)[1]["count"] >= 2, 180, "the worker to be mid-drain")

    stack.cluster.stop()
    answers = Counter()
    bodies = set()
    stopped_at = time.monotonic()
    while time.monotonic() - stopped_at < OUTAGE_SECONDS:
        status, body = _get(url, token)
        answers[status] += 1
        if body is not None:
            bodies.add(json.dumps(body, sort_keys=True))
        time.sleep(0.2)
    stack.cluster.start()

    assert set(answers) == {503}, f"answers while the database was down: {dict(answers)}"
    assert bodies == {
        json.dumps(
            {"extra": {"code": "database_unavailable"}, "message": "the database is unavailable; retry shortly"},
            sort_keys=True,
        )
    }
    _wait_for(lambda: _get(url, token)[0] == 200, 60, "the web process to answer again")
    stack.wait_drained("outage", timeout=300)
    assert web.poll() is None and worker.poll() is None, "a process died instead of riding the outage out"
    assert_exactly_once(stack.driver("report", "--label", "outage"), jobs=JOBS)
    stack.kill(web)
    stack.kill(worker)
    access_log = (stack.logs / "web.log").read_text()
    assert secret not in access_log and "/review/s/[redacted]/" in access_log
    records = [json.loads(line) for line in access_log.splitlines() if line.startswith("{")]
    assert all(records)
    # The outage is logged once per interval by each of the two gunicorn workers' guards, not once per request.
    outage_lines = [r for r in records if r["logger"] == "config.middleware" and "database unavailable" in r["message"]]
    assert 1 <= len(outage_lines) <= 2 * (1 + OUTAGE_SECONDS // OUTAGE_LOG_SECONDS)
    assert not [r for r in records if r["logger"] == "django.request" and r.get("status") == 503]
