"""Server-rendered SVG of a version's ancestry: no JavaScript, no external assets."""

from __future__ import annotations

from collections import defaultdict
from xml.sax.saxutils import escape

from django.urls import reverse

from assets.models import Used
from assets.operations import params_key_summary
from assets.selectors import LineageGraph, used_node_id

COLUMN_WIDTH = 230
VERSION_BOX = (120, 136)
DERIVATION_BOX = (180, 60)
SIDE_BOX = (180, 44)
GAP = 18
MARGIN = 20
MAX_TEXT = 28


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _ranks(graph: LineageGraph) -> dict[str, int]:
    """Longest distance from the root, so every node sits left of everything made from it."""
    made_by = {f"version:{vid}": f"derivation:{edge.derivation_id}" for vid, edge in graph.made_by.items()}
    inputs = {f"derivation:{did}": [used_node_id(edge) for edge in edges] for did, edges in graph.inputs.items()}
    rank = {f"version:{graph.root.pk}": 0}
    frontier = [f"version:{graph.root.pk}"]
    while frontier:
        next_frontier = []
        for node in frontier:
            children = [made_by[node]] if node in made_by else inputs.get(node, [])
            for child in children:
                if rank.get(child, -1) < rank[node] + 1:
                    rank[child] = rank[node] + 1
                    next_frontier.append(child)
        frontier = next_frontier
    return rank


def _side_label(edge: Used, graph: LineageGraph) -> tuple[str, str]:
    if edge.model_weights_id:
        weights = edge.model_weights
        label = f"{edge.get_role_display()}: {weights.name}"
        if edge.weight is not None:
            label += f" ×{edge.weight:g}"
        return label, weights.sha256[:12]
    if edge.prompt_id:
        return f"Prompt: {edge.prompt.text}", f"neg: {edge.prompt.negative_text}"
    if edge.reference_id:
        return f"Reference: {edge.reference.title or edge.reference_id}", edge.reference.blob_id[:12]
    mask = graph.masks.get(edge.blob_id)
    if mask is not None:
        made = f"{mask.derivation.op_label} #{mask.derivation_id}" if mask.derivation_id else mask.label or "uploaded"
        return f"Mask #{mask.pk} of v{mask.source_id}", made
    return f"{edge.get_role_display()} (file)", edge.blob_id[:12]


def lineage_svg(*, graph: LineageGraph) -> str:
    columns, side_edges = _columns(graph)
    boxes, width, height = _layout(columns)
    parts = [
        # Drawn at its own size: a long chain scrolls (or is zoomed by the viewer), it never shrinks to the page width.
        f'<svg xmlns="http://www.w3.org/2000/svg" class="seed-lineage" width="{width}" height="{height + MARGIN}" '
        f'viewBox="0 0 {width} {height + MARGIN}" role="img" aria-label="Lineage of version {graph.root.pk}">',
        "<style>.n{fill:#fff;stroke:#8a8f98}.root{stroke:#d6336c;stroke-width:3}.d{fill:#eef4ff;stroke:#4c6ef5}"
        ".s{fill:#f8f9fa;stroke:#adb5bd;stroke-dasharray:4 2}text{font:12px sans-serif;fill:#212529}"
        "text.k{font-size:10px;fill:#495057}path{fill:none;stroke:#868e96;stroke-width:1.4}"
        "path.u{stroke-dasharray:3 3}</style>",
        *_edges_draw(graph, boxes),
    ]
    for node_id, box in boxes.items():
        kind, pk = node_id.split(":")
        if kind == "version":
            parts.append(_version_draw(graph.versions[int(pk)], box, root=graph.root))
        elif kind == "derivation":
            parts.append(_derivation_draw(graph.derivations[int(pk)], box))
        else:
            parts.append(_side_draw(*_side_label(side_edges[node_id], graph), box))
    parts.append("</svg>")
    return "".join(parts)


def _columns(graph: LineageGraph) -> tuple[dict[int, list[str]], dict[str, Used]]:
    """The node ids in each rank's column, and for each side input (a model, prompt, reference or file) the first edge
    that names it."""
    ranks = _ranks(graph)
    columns: dict[int, list[str]] = defaultdict(list)
    side_edges: dict[str, Used] = {}
    for node_id in ranks:
        if node_id.startswith(("version:", "derivation:")):
            columns[ranks[node_id]].append(node_id)
    for edge in graph.used:
        node_id = used_node_id(edge)
        if not node_id.startswith("version:") and node_id not in side_edges:
            side_edges[node_id] = edge
            columns[ranks[node_id]].append(node_id)
    return columns, side_edges


def _layout(columns: dict[int, list[str]]) -> tuple[dict[str, tuple[int, int, int, int]], int, int]:
    """Each node's box (x, y, width, height), the root's column rightmost, and the drawing's width and height."""
    max_rank = max(columns)
    boxes: dict[str, tuple[int, int, int, int]] = {}
    height = 0
    for rank, node_ids in columns.items():
        x = MARGIN + (max_rank - rank) * COLUMN_WIDTH
        y = MARGIN
        for node_id in sorted(node_ids, key=lambda n: (not n.startswith(("version:", "derivation:")), n)):
            w, h = (
                VERSION_BOX
                if node_id.startswith("version:")
                else DERIVATION_BOX
                if node_id.startswith("derivation:")
                else SIDE_BOX
            )
            boxes[node_id] = (x, y, w, h)
            y += h + GAP
        height = max(height, y)
    return boxes, MARGIN * 2 + max_rank * COLUMN_WIDTH + DERIVATION_BOX[0], height


def _edges_draw(graph: LineageGraph, boxes: dict[str, tuple[int, int, int, int]]) -> list[str]:
    """A curve from each input to its derivation (dashed) and from each derivation to what it made."""
    edges = [(f"derivation:{e.derivation_id}", f"version:{e.version_id}", "") for e in graph.generated]
    edges += [(used_node_id(e), f"derivation:{e.derivation_id}", "u") for e in graph.used]
    paths = []
    for source, target, css in edges:
        if source not in boxes or target not in boxes:
            continue
        sx, sy, sw, sh = boxes[source]
        tx, ty, _, th = boxes[target]
        x1, y1, x2, y2 = sx + sw, sy + sh / 2, tx, ty + th / 2
        bend = (x2 - x1) / 2
        paths.append(f'<path class="{css}" d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}"/>')
    return paths


def _version_draw(version, box: tuple[int, int, int, int], *, root) -> str:
    x, y, w, h = box
    css = "n root" if version.pk == root.pk else "n"
    thumb = reverse("blob-thumbnail", args=[version.blob_id, 96])
    link = reverse("admin:assets_version_change", args=[version.pk])
    return (
        f'<a href="{link}"><rect class="{css}" x="{x}" y="{y}" width="{w}" height="{h}" rx="6"/>'
        f'<image href="{thumb}" x="{x + 12}" y="{y + 6}" width="96" height="96" '
        'preserveAspectRatio="xMidYMid meet"/>'
        f'<text x="{x + 8}" y="{y + 116}">v{version.pk} · {version.width}×{version.height}</text>'
        f'<text class="k" x="{x + 8}" y="{y + 130}">{escape(version.blob_id[:12])}</text></a>'
    )


def _derivation_draw(derivation, box: tuple[int, int, int, int]) -> str:
    x, y, w, h = box
    summary = params_key_summary(op=derivation.op, params=derivation.params)
    return (
        f'<rect class="d" x="{x}" y="{y}" width="{w}" height="{h}" rx="10"/>'
        f'<text x="{x + 10}" y="{y + 20}">{escape(derivation.op_label)} #{derivation.pk}</text>'
        f'<text class="k" x="{x + 10}" y="{y + 38}">{escape(_clip(summary, 34))}</text>'
        f'<text class="k" x="{x + 10}" y="{y + 52}">'
        f"{escape(derivation.get_phase_display())} · {escape(derivation.state)}</text>"
    )


def _side_draw(title: str, detail: str, box: tuple[int, int, int, int]) -> str:
    x, y, w, h = box
    return (
        f'<rect class="s" x="{x}" y="{y}" width="{w}" height="{h}" rx="4"/>'
        f'<text x="{x + 8}" y="{y + 18}">{escape(_clip(title))}</text>'
        f'<text class="k" x="{x + 8}" y="{y + 34}">{escape(_clip(detail, 34))}</text>'
    )
