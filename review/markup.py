"""Markup drawn on an image: vector shapes in coordinates normalised to the image (0..1), checked on the server
and drawn back as an SVG overlay in the image's own aspect."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from assets.errors import ApplicationError

MAX_SHAPES = 50
MAX_POINTS = 4000
MAX_LABEL = 200
# How many points each kind takes: (least, most).
POINTS = {"pin": (1, 1), "rect": (2, 2), "ellipse": (2, 2), "arrow": (2, 2), "text": (1, 1), "freehand": (2, 1000)}
COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
DEFAULT_COLOUR = "#FF2C54"


def markup_clean(shapes) -> list[dict]:
    """The shapes as stored, or ApplicationError naming the first thing wrong."""
    if shapes in (None, ""):
        return []
    if not isinstance(shapes, list):
        raise ApplicationError("markup must be a list of shapes")
    if len(shapes) > MAX_SHAPES:
        raise ApplicationError(f"at most {MAX_SHAPES} shapes per note, not {len(shapes)}")
    cleaned, total = [], 0
    for index, shape in enumerate(shapes):
        where = f"shape {index + 1}"
        if not isinstance(shape, dict) or shape.get("type") not in POINTS:
            raise ApplicationError(f"{where}: type must be one of {', '.join(POINTS)}")
        points = shape.get("points")
        least, most = POINTS[shape["type"]]
        if not isinstance(points, list) or not least <= len(points) <= most:
            raise ApplicationError(
                f"{where}: a {shape['type']} takes {least if least == most else f'{least} to {most}'} point(s)"
            )
        clean_points = []
        for point in points:
            if (
                not isinstance(point, (list, tuple))
                or len(point) != 2
                or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in point)
            ):
                raise ApplicationError(f"{where}: each point is [x, y], two numbers")
            if not all(0.0 <= v <= 1.0 for v in point):
                raise ApplicationError(f"{where}: point {list(point)} lies outside the image; coordinates are 0..1")
            clean_points.append([round(float(point[0]), 5), round(float(point[1]), 5)])
        total += len(clean_points)
        if total > MAX_POINTS:
            raise ApplicationError(f"the markup has more than {MAX_POINTS} points")
        colour = shape.get("colour", DEFAULT_COLOUR)
        if not isinstance(colour, str) or not COLOUR.match(colour):
            raise ApplicationError(f"{where}: colour must be #RRGGBB")
        item = {"type": shape["type"], "points": clean_points, "colour": colour.upper()}
        if shape["type"] == "text":
            label = shape.get("text")
            if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
                raise ApplicationError(f"{where}: a text label needs 1 to {MAX_LABEL} characters")
            item["text"] = label.strip()
        cleaned.append(item)
    return cleaned


def markup_bounds(shapes: list[dict]) -> tuple[float, float, float, float] | None:
    """The box (x, y, w, h) around every area-enclosing shape: what "fix this region" repaints."""
    points = [p for s in shapes if s["type"] in ("rect", "ellipse", "freehand") for p in s["points"]]
    if not points:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def markup_svg(shapes: list[dict], *, width: int, height: int, greyed: bool = False) -> str:
    """An SVG overlay in the image's pixel space; greyed for markup carried from an earlier version."""
    parts = []
    for shape in shapes:
        colour = "#9A9AA0" if greyed else shape["colour"]
        stroke = f'stroke="{colour}" stroke-width="{max(2, width // 200)}" fill="none"'
        pts = [(x * width, y * height) for x, y in shape["points"]]
        kind = shape["type"]
        if kind == "pin":
            ((x, y),) = pts
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{max(6, width // 80)}" fill="{colour}" fill-opacity=".8"/>'
            )
        elif kind == "rect":
            (x1, y1), (x2, y2) = pts
            parts.append(
                f'<rect x="{min(x1, x2):.1f}" y="{min(y1, y2):.1f}" width="{abs(x2 - x1):.1f}" '
                f'height="{abs(y2 - y1):.1f}" {stroke}/>'
            )
        elif kind == "ellipse":
            (x1, y1), (x2, y2) = pts
            parts.append(
                f'<ellipse cx="{(x1 + x2) / 2:.1f}" cy="{(y1 + y2) / 2:.1f}" rx="{abs(x2 - x1) / 2:.1f}" '
                f'ry="{abs(y2 - y1) / 2:.1f}" {stroke}/>'
            )
        elif kind == "arrow":
            (x1, y1), (x2, y2) = pts
            parts.append(
                f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                f'{stroke} marker-end="url(#seed-arrow)"/>'
            )
        elif kind == "freehand":
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(f'<polyline points="{path}" {stroke} stroke-linejoin="round" stroke-linecap="round"/>')
        else:
            ((x, y),) = pts
            parts.append(
                f'<text x="{x:.1f}" y="{y:.1f}" fill="{colour}" font-size="{max(12, width // 40)}" '
                f'font-family="sans-serif" paint-order="stroke" stroke="#fff" stroke-width="3">'
                f"{escape(shape['text'])}</text>"
            )
    marker = (
        '<defs><marker id="seed-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="seed-markup{" greyed" if greyed else ""}" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="none">{marker}{"".join(parts)}</svg>'
    )
