"""Small server-rendered SVG charts for the admin: no JavaScript, no external assets."""

from __future__ import annotations

from xml.sax.saxutils import escape

BAR_HEIGHT, GAP, LABEL_W, CHART_W = 18, 6, 170, 320


def _bars(title: str, rows: list[tuple[str, float, str]], colour: str, y0: int) -> tuple[list[str], int]:
    top = max((value for _, value, _ in rows), default=0) or 1
    parts = [f'<text x="0" y="{y0 + 12}" font-weight="bold">{escape(title)}</text>']
    y = y0 + 20
    for label, value, shown in rows:
        width = max(1, int(CHART_W * value / top)) if value else 0
        parts.append(
            f'<text x="0" y="{y + 13}">{escape(label)}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{width}" height="{BAR_HEIGHT}" fill="{colour}" rx="3"/>'
            f'<text x="{LABEL_W + width + 6}" y="{y + 13}">{escape(shown)}</text>'
        )
        y += BAR_HEIGHT + GAP
    return parts, y + 10


def cycle_chart_svg(*, stats: dict) -> str:
    """Hours spent in each review round and GPU-seconds per phase, as two bar groups."""
    parts: list[str] = []
    y = 0
    round_rows = [
        (
            f"round {r['number']} ({r['stage']}{', open' if r['status'] == 'open' else ''})",
            r["hours"],
            f"{r['hours']} h",
        )
        for r in stats["rounds"]
    ]
    chunk, y = _bars("Time in each round", round_rows or [("no rounds yet", 0, "")], "#FE2C54", y)
    parts += chunk
    waiting_rows = [(who, hours, f"{hours} h") for who, hours in stats.get("waiting_hours", {}).items()]
    if waiting_rows:
        chunk, y = _bars("Time waiting on each reviewer", waiting_rows, "#FFB300", y)
        parts += chunk
    if "gpu_seconds_by_phase" in stats:  # the studio's view only (brief_cycle_stats)
        gpu_rows = [(phase, seconds, f"{seconds:g} s") for phase, seconds in stats["gpu_seconds_by_phase"].items()]
        chunk, y = _bars("GPU-seconds per phase", gpu_rows, "#00B8D4", y)
        parts += chunk
    width = LABEL_W + CHART_W + 90
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="seed-cycles" width="{width}" height="{y}" '
        f'viewBox="0 0 {width} {y}" font-family="sans-serif" font-size="12">{"".join(parts)}</svg>'
    )
