"""Machine-read checks of the pixels themselves: where the image is soft, and whether a cut-out's edge carries a
halo. Both are suggestions for the reviewer (a bokeh background is soft on purpose), never a rejection."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from assets.machine_checks import Finding, version_pixels
from assets.models import VersionCheck

Verdict = VersionCheck.Verdict

# Measured on at most this many pixels a side: softness is relative to the image itself, not to its size.
MEASURE_SIDE = 1024
# A tile with less contrast than this (luminance std, 0–255) holds no detail to be sharp or soft: sky, a backdrop.
FLAT_CONTRAST = 4.0
# A tile is soft where its edges carry less than this share of the detail the image's median tile carries.
SOFT_RELATIVE = 0.4
# Soft regions covering less of the image than this are a detail, not something to look at.
SOFT_SHARE_WARN = 0.04
SOFTEST_SHOWN = 3
MAP_SIDE = 512

# The edge band of a cut-out: its width in pixels (at least, growing with the image), and the ring inside it that
# stands for the subject's own colour near each edge pixel.
HALO_BAND = 2.0
HALO_RING = 6.0
# An edge pixel differs from the subject beside it by more than this (RGB distance, 0–441) where it carries a fringe.
FRINGE_DISTANCE = 48.0
FRINGE_SHARE_WARN = 0.2
HALO_BRIGHTNESS_WARN = 24.0


def _luminance(image: Image.Image) -> np.ndarray:
    image = image.convert("RGBA")
    if max(image.size) > MEASURE_SIDE:
        image.thumbnail((MEASURE_SIDE, MEASURE_SIDE), Image.Resampling.LANCZOS)
    # Transparent pixels are measured over mid grey: a cut-out's outline is an edge, not a blur.
    flat = Image.alpha_composite(Image.new("RGBA", image.size, (128, 128, 128, 255)), image)
    return np.asarray(flat.convert("L"), dtype=np.float32)


def _laplacian(luma: np.ndarray) -> np.ndarray:
    padded = np.pad(luma, 1, mode="edge")
    return 4 * padded[1:-1, 1:-1] - padded[:-2, 1:-1] - padded[2:, 1:-1] - padded[1:-1, :-2] - padded[1:-1, 2:]


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    side = max(16, min(height, width) // 8)
    rows, cols = max(1, round(height / side)), max(1, round(width / side))
    return np.linspace(0, height, rows + 1).astype(int), np.linspace(0, width, cols + 1).astype(int)


def sharpness_tiles(luma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per tile of a grid over the luminance: edge energy (RMS of the Laplacian) over local contrast, so a soft tile
    reads soft whatever its subject's contrast; NaN where the tile is flat. Returns (map, row edges, column edges,
    flat mask)."""
    lap = _laplacian(luma)
    row_edges, col_edges = _grid(*luma.shape)
    values = np.full((len(row_edges) - 1, len(col_edges) - 1), np.nan, dtype=np.float64)
    for r in range(values.shape[0]):
        for c in range(values.shape[1]):
            window = np.s_[row_edges[r] : row_edges[r + 1], col_edges[c] : col_edges[c + 1]]
            contrast = float(luma[window].std())
            if contrast >= FLAT_CONTRAST:
                values[r, c] = float(np.sqrt(np.mean(lap[window] ** 2))) / contrast
    return values, row_edges, col_edges, np.isnan(values)


def sharpness_check(version) -> list[Finding]:
    """Sharpness map: the softest regions, against the image's own median detail"""
    luma = _luminance(version_pixels(version))
    values, row_edges, col_edges, flat = sharpness_tiles(luma)
    height, width = luma.shape
    if flat.all():
        return [
            Finding(
                key="sharpness",
                kind="sharpness",
                label="Sharpness map",
                verdict=Verdict.UNKNOWN,
                detail="no region holds enough detail to judge its sharpness",
                measure={"tiles": [values.shape[1], values.shape[0]], "soft_share": 0.0, "softest": []},
            )
        ]
    median = float(np.nanmedian(values))
    relative = values / median if median > 0 else np.ones_like(values)
    soft = ~flat & (relative < SOFT_RELATIVE)
    areas = np.outer(np.diff(row_edges), np.diff(col_edges)) / (height * width)
    soft_share = float(areas[soft].sum())
    order = [index for index in np.argsort(np.where(flat, np.inf, relative), axis=None) if soft.flat[index]]
    softest = [
        _tile_box(int(index), values.shape, row_edges, col_edges, height, width, float(relative.flat[index]))
        for index in order[:SOFTEST_SHOWN]
    ]
    warn = soft_share >= SOFT_SHARE_WARN
    detail = (
        f"soft details: {soft_share:.0%} of the image holds under {SOFT_RELATIVE:.0%} of the median tile's edge "
        f"detail (the softest at {softest[0]['relative']:.0%}); intended depth of field, or inconsistent edges?"
        if warn
        else "edges are consistent across the image"
    )
    return [
        Finding(
            key="sharpness",
            kind="sharpness",
            label="Sharpness map",
            verdict=Verdict.WARN if warn else Verdict.PASS,
            detail=detail,
            measure={
                "sharpness": round(median, 4),
                "tiles": [values.shape[1], values.shape[0]],
                "soft_share": round(soft_share, 4),
                "softest": softest,
            },
            artefact=_heat_map(relative, flat, soft, softest),
        )
    ]


def _tile_box(index, shape, row_edges, col_edges, height, width, relative) -> dict:
    r, c = divmod(index, shape[1])
    return {
        "x": round(col_edges[c] / width, 4),
        "y": round(row_edges[r] / height, 4),
        "w": round((col_edges[c + 1] - col_edges[c]) / width, 4),
        "h": round((row_edges[r + 1] - row_edges[r]) / height, 4),
        "relative": round(relative, 3),
    }


def _heat_map(relative: np.ndarray, flat: np.ndarray, soft: np.ndarray, softest: list[dict]) -> bytes:
    """A transparent overlay of the image's shape: soft tiles in red (the softer, the stronger), the softest outlined.
    Drawn at tile resolution and scaled without smoothing, so each tile stays a tile."""
    rows, cols = relative.shape
    rgba = np.zeros((rows, cols, 4), dtype=np.uint8)
    strength = np.clip(1 - relative / SOFT_RELATIVE, 0, 1)
    rgba[soft] = np.stack(
        [np.full(soft.sum(), 255), np.full(soft.sum(), 40), np.full(soft.sum(), 60), 90 + 110 * strength[soft]],
        axis=-1,
    ).astype(np.uint8)
    rgba[flat] = (0, 0, 0, 0)
    scale = max(1, MAP_SIDE // max(rows, cols))
    overlay = Image.fromarray(rgba, "RGBA").resize((cols * scale, rows * scale), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(overlay)
    for box in softest:
        left, top = box["x"] * overlay.width, box["y"] * overlay.height
        right, bottom = left + box["w"] * overlay.width, top + box["h"] * overlay.height
        draw.rectangle((left, top, right - 1, bottom - 1), outline=(255, 214, 0, 255), width=max(2, scale // 32))
    buffer = io.BytesIO()
    overlay.save(buffer, format="PNG")
    return buffer.getvalue()


def _cutout(image: Image.Image) -> np.ndarray | None:
    """RGBA of an image that is a cut-out (an alpha channel with transparent pixels), else None."""
    if "A" not in image.getbands() and "transparency" not in image.info:
        return None
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
    return rgba if rgba[..., 3].min() < 250 else None


def halo_measure(rgba: np.ndarray) -> dict | None:
    """Each pixel of the thin band along the alpha edge against the subject's own colour just inside it (the mean of
    an inner ring around it): how much brighter it is, and what share of the edge differs by a fringe's distance.
    None when the edge or the subject is too small to tell."""
    from scipy import ndimage

    rgb, alpha = rgba[..., :3], rgba[..., 3]
    shown = alpha >= 16
    band_width = max(HALO_BAND, min(alpha.shape) / 256)
    depth = ndimage.distance_transform_edt(shown)
    band = shown & (depth <= band_width)
    ring = (alpha >= 250) & (depth > band_width + 1) & (depth <= band_width + 1 + HALO_RING)
    if band.sum() < 16 or ring.sum() < 16:
        return None
    window = int(2 * (band_width + 1 + HALO_RING)) + 1
    weight = ndimage.uniform_filter(ring.astype(np.float32), window)
    summed = ndimage.uniform_filter(rgb * ring[..., None], (window, window, 1))
    near = band & (weight > 1e-3)
    if near.sum() < 16:
        return None
    difference = rgb[near] - summed[near] / weight[near][:, None]
    brightness = difference @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    return {
        "edge_px": int(near.sum()),
        "brightness_halo": round(float(brightness.mean()), 2),
        "fringe_share": round(float((np.linalg.norm(difference, axis=1) > FRINGE_DISTANCE).mean()), 4),
        "colour_shift": round(float(np.linalg.norm(difference, axis=1).mean()), 2),
    }


def halo_check(version) -> list[Finding]:
    """Halo or fringe along a cut-out's alpha edge"""
    rgba = _cutout(version_pixels(version))
    if rgba is None:
        return []
    measure = halo_measure(rgba)
    finding = {"key": "halo", "kind": "halo", "label": "Halo or fringe along the cut-out's edge"}
    if measure is None:
        return [Finding(**finding, verdict=Verdict.UNKNOWN, detail="the cut-out is too small to read its edge")]
    brightness, share = measure["brightness_halo"], measure["fringe_share"]
    warn = share > FRINGE_SHARE_WARN or abs(brightness) > HALO_BRIGHTNESS_WARN
    if warn:
        tone = "a bright halo" if brightness > 0 else "a dark fringe" if brightness < 0 else "a colour fringe"
        detail = (
            f"{tone}: {share:.0%} of the edge differs from the subject beside it "
            f"(on average {abs(brightness):.0f} levels {'brighter' if brightness >= 0 else 'darker'})"
        )
    else:
        detail = f"clean edge: {share:.0%} of it differs from the subject beside it"
    return [Finding(**finding, verdict=Verdict.WARN if warn else Verdict.PASS, detail=detail, measure=measure)]
