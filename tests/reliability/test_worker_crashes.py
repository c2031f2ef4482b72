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


def _drain(stack, label: str, kill_at: list[float], timeout: float) -> tuple[float, int]:
    names = [f"{label}-{index}" for index in range(CLUSTERS)]
    workers = [stack.worker(name) for name in names]
    chooser = random.Random(label)
    kills = []

    def tick(elapsed: float) -> None:
        # A cluster still loading its ML stack takes no task: killing it would hit no job at all.
        warm = [index for index in range(CLUSTERS) if stack.worker_ready(names[index])]
        if len(kills) < len(kill_at) and elapsed >= kill_at[len(kills)] and warm:
            index = chooser.choice(warm)
            stack.kill(workers[index])
            names[index] = f"{label}-{index}-restart-{len(kills)}"
            workers[index] = stack.worker(names[index])
            kills.append(elapsed)

    drained = stack.wait_drained(label, timeout=timeout, tick=tick)
    for worker in workers:
        stack.kill(worker)
    return drained, len(kills)


def test_every_job_finishes_exactly_once_through_kill_9(stack, capsys):
    timeout = 3600 if FULL else 400
    stack.driver("seed", "--jobs", str(JOBS), "--label", "calm")
    calm_seconds, _ = _drain(stack, "calm", [], timeout)
    calm = stack.driver("report", "--label", "calm")
    assert_exactly_once(calm, jobs=JOBS)

    stack.driver("seed", "--jobs", str(JOBS), "--label", "chaos")
    moments = sorted(random.Random(7).uniform(0.05, 0.85) * calm_seconds for _ in range(KILLS))
    chaos_seconds, kills = _drain(stack, "chaos", moments, timeout)
    chaos = stack.driver("report", "--label", "chaos")
    assert kills == KILLS, f"the queue drained after {kills} of {KILLS} kills"
    assert_exactly_once(chaos, jobs=JOBS)
    figures = {"jobs": JOBS, "kills": kills, "calm_drain_s": round(calm_seconds, 1), "chaos_drain_s": round(chaos_seconds, 1),
               "chaos_vs_calm": round(chaos_seconds / calm_seconds, 2), "retried_jobs": chaos["retried"]}
    with capsys.disabled():
        print(f"\nRELIABILITY {json.dumps(figures)}")
