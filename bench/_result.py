"""Every benchmark ends with one machine-readable line; `bench/run.py` gathers them into one table."""

import json

PREFIX = "BENCH "


def result_print(*, name: str, ratio: float, meaning: str, target: str, met: bool | None, details: str = "") -> None:
    print(
        PREFIX
        + json.dumps(
            {
                "name": name,
                "ratio": round(ratio, 3),
                "meaning": meaning,
                "target": target,
                "met": met,
                "details": details,
            }
        ),
        flush=True,
    )
