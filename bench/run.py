"""Run every benchmark in bench/ one after another and print one table of the ratios they measured.

Each script prints its own details, then one `BENCH {...}` line; this collects those lines. A script
that fails shows up in the table as failed, and the run exits non-zero.

    python bench/run.py [lineage worker_queue queue_scale delivery upscale load notify search real_architecture
                         flux_quantised soft_binding lora_training]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = [
    "lineage",
    "worker_queue",
    "queue_scale",
    "delivery",
    "upscale",
    "load",
    "notify",
    "search",
    "real_architecture",
    "flux_quantised",
    "soft_binding",
    "lora_training",
]
PREFIX = "BENCH "


def run(name: str) -> tuple[list[dict], float, int]:
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", f"bench.{name}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=BENCH.parent,
    )
    results = []
    for line in process.stdout:
        print(f"  [{name}] {line}", end="", flush=True)
        if line.startswith(PREFIX):
            results.append(json.loads(line[len(PREFIX) :]))
    return results, time.monotonic() - started, process.wait()


def main(names: list[str]) -> int:
    rows, failed = [], []
    for name in names or SCRIPTS:
        print(f"== bench/{name}.py", flush=True)
        results, seconds, code = run(name)
        if code != 0 or not results:
            failed.append(name)
            rows.append(
                {
                    "name": name,
                    "ratio": None,
                    "meaning": f"failed (exit {code})",
                    "target": "",
                    "met": False,
                    "details": "",
                }
            )
        rows.extend({**result, "seconds": seconds} for result in results)
    print()
    print(f"{'benchmark':<14}{'ratio':>9}  {'target':<38}{'met':<5}measured as")
    for row in rows:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        print(f"{row['name']:<14}{ratio:>9}  {row['target']:<38}{met:<5}{row['meaning']}; {row['details']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
