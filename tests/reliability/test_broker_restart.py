"""The Redis broker restarts empty under a draining worker: every task it held is gone, and the run lifecycle must
send them again by itself (the ORM broker's restart is the database outage, tests/reliability/test_database_outage)."""

from __future__ import annotations

import time

import pytest

from tests.reliability.conftest import assert_exactly_once

pytestmark = pytest.mark.reliability

JOBS = 12
DOWN_SECONDS = 5


def test_a_broker_restarted_empty_loses_no_job(redis_stack, capsys):
    stack = redis_stack
    stack.driver("seed", "--jobs", str(JOBS), "--label", "restart")
    worker = stack.worker("restart")
    deadline = time.monotonic() + 300
    while stack.pending("restart")[0] > JOBS - 2:
        assert time.monotonic() < deadline, "the worker did not start draining"
        time.sleep(0.3)
    waiting = stack.pending("restart")[1]
    assert waiting > 0, "the broker held no task to lose"

    stack.redis.stop()
    time.sleep(DOWN_SECONDS)
    stack.redis.start()
    assert stack.pending("restart")[1] == 0, "the restarted broker still holds tasks"

    stack.wait_drained("restart", timeout=300)
    assert worker.poll() is None, "the worker died instead of riding out the broker's restart"
    report = stack.driver("report", "--label", "restart")
    assert_exactly_once(report, jobs=JOBS)
    stack.kill(worker)
    with capsys.disabled():
        print(f"\nRELIABILITY broker restart: {waiting} tasks lost with the broker, {JOBS} jobs each done once")
