"""Raster to SVG with vtracer, for logos and flat graphics. vtracer is imported when a trace runs (worker only)."""

from __future__ import annotations

import io

from PIL import Image

from assets.errors import ApplicationError

# vtracer's own defaults, by our parameter names (its names in `_VTRACER_NAMES` where they differ).
VECTORISE_DEFAULTS = {
    "colour_mode": "color",
    "hierarchical": "stacked",
    "mode": "spline",
    "filter_speckle": 4,
    "colour_precision": 6,
    "layer_difference": 16,
    "corner_threshold": 60,
    "length_threshold": 4.0,
    "splice_threshold": 45,
    "path_precision": 8,
}
VECTORISE_OPTIONS = frozenset(VECTORISE_DEFAULTS)
_VTRACER_NAMES = {"colour_mode": "colormode", "colour_precision": "color_precision"}
MAX_TRACE_PIXELS = 4096 * 4096


def svg_trace(image: Image.Image, **options) -> bytes:
    """The image traced to SVG paths. Transparent pixels (a cut-out's background) stay empty."""
    import vtracer

    if image.width * image.height > MAX_TRACE_PIXELS:
        raise ApplicationError(
            f"a {image.width}x{image.height} image is too large to vectorise (at most "
            f"{MAX_TRACE_PIXELS} pixels); vectorise a smaller rendition",
            extra={"code": "too_large"},
        )
    buffer = io.BytesIO()
    image.convert("RGBA").save(buffer, format="PNG")
    settings = {**VECTORISE_DEFAULTS, **options}
    svg = vtracer.convert_raw_image_to_svg(
        buffer.getvalue(), img_format="png", **{_VTRACER_NAMES.get(key, key): value for key, value in settings.items()}
    )
    return svg.encode("utf-8")
