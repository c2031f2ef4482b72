"""kill -9 worker clusters at random moments while they drain a mixed queue; every job must end exactly once.

Short by default (inside `make test`); `make reliability` runs the full 500 jobs and 20 kills.
"""

from __future__ import annotations

import json
import random

import pytest

from tests.reliability.conftest import FULL, assert_exactly_once

pytestmark = pytest.mark.reliability

JOBS = 500 if FULL else 16
KILLS = 20 if FULL else 3
CLUSTERS = 2


def _drain(stack, label: str, kill_at: list[float], timeout: float) -> tuple[float, int, list[int]]:
    """Drain the run, killing at the given moments; returns (seconds, kills, jobs whose worker died mid-run).

    The first kill waits for a job in progress and takes every cluster down at once, like a host losing
    power: that job's worker surely dies holding its claim, so the run must re-run it. The other kills hit
    one cluster at random, busy or not.
    """
    names = [f"{label}-{index}" for index in range(CLUSTERS)]
    workers = [stack.worker(name) for name in names]
    chooser = random.Random(label)
    kills = []
    orphaned: list[int] = []

    def restart(index: int) -> None:
        stack.kill(workers[index])
        names[index] = f"{label}-{index}-restart-{len(kills)}"
        workers[index] = stack.worker(names[index])

    def tick(elapsed: float) -> None:
        if len(kills) >= len(kill_at) or elapsed < kill_at[len(kills)]:
            return
        # A cluster still loading its ML stack takes no task: killing it would hit no job at all.
        warm = [index for index in range(CLUSTERS) if stack.worker_ready(names[index])]
        if not warm:
            return
        if not kills:
            if not stack.running(label):
                return
            for index in range(CLUSTERS):
                stack.kill(workers[index])
            stack.wait_disconnected()
            # Claimed before the kill and still running once no worker is connected: its worker is gone.
            orphaned.extend(stack.running(label))
            for index in range(CLUSTERS):
                restart(index)
        else:
            restart(chooser.choice(warm))
        kills.append(elapsed)

    drained = stack.wait_drained(label, timeout=timeout, tick=tick)
    for worker in workers:
        stack.kill(worker)
    return drained, len(kills), orphaned


def _kill_9_run(stack, capsys, broker: str) -> None:
    timeout = 3600 if FULL else 400
    stack.driver("seed", "--jobs", str(JOBS), "--label", f"calm-{broker}")
    calm_seconds, _, _ = _drain(stack, f"calm-{broker}", [], timeout)
    calm = stack.driver("report", "--label", f"calm-{broker}")
    assert_exactly_once(calm, jobs=JOBS)

    stack.driver("seed", "--jobs", str(JOBS), "--label", f"chaos-{broker}")
    moments = sorted(random.Random(7).uniform(0.05, 0.85) * calm_seconds for _ in range(KILLS))
    chaos_seconds, kills, orphaned = _drain(stack, f"chaos-{broker}", moments, timeout)
    chaos = stack.driver("report", "--label", f"chaos-{broker}")
    assert kills == KILLS, f"the queue drained after {kills} of {KILLS} kills"
    assert_exactly_once(chaos, jobs=JOBS)
    assert orphaned, "the whole-host kill found no job in progress to interrupt"
    assert set(orphaned) <= set(chaos["retried_ids"]), "a job killed mid-run finished without being run again"
    figures = {
        "broker": broker,
        "jobs": JOBS,
        "kills": kills,
        "calm_drain_s": round(calm_seconds, 1),
        "chaos_drain_s": round(chaos_seconds, 1),
        "chaos_vs_calm": round(chaos_seconds / calm_seconds, 2),
        "retried_jobs": chaos["retried"],
        "killed_mid_run": len(orphaned),
    }
    with capsys.disabled():
        print(f"\nRELIABILITY {json.dumps(figures)}")


def test_every_job_finishes_exactly_once_through_kill_9(stack, capsys):
    _kill_9_run(stack, capsys, "orm")


def test_every_job_finishes_exactly_once_through_kill_9_on_redis(redis_stack, capsys):
    """Redis forgets a task once a worker took it: what the kills lose, the run lifecycle sends again."""
    _kill_9_run(redis_stack, capsys, "redis")
