"""Pixel helpers shared by the web process and the worker: Pillow and NumPy only, no torch."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter, PngImagePlugin

from assets.errors import ApplicationError
from assets.models.validators import ASPECT


def _aspect(aspect: str) -> tuple[int, int]:
    match = ASPECT.match(aspect or "")
    if not match:
        raise ApplicationError(f"{aspect!r} is not an aspect ratio like 9:16")
    return int(match.group(1)), int(match.group(2))


def palette_guide(*, palette: list[str], aspect: str, long_side: int = 512) -> bytes:
    """The brief's palette as an image prompt for colour lock: one band per brand colour, in palette order, at the
    brief's aspect (bands run along the long side). PNG with nothing time-dependent, so the same brief makes the
    same guide bytes."""
    from assets.colour import hex_rgb

    if not palette:
        raise ApplicationError(
            "the brief has no palette: add its brand colours before asking for a colour lock",
            extra={"code": "palette_empty"},
        )
    aw, ah = _aspect(aspect)
    width, height = (
        (long_side, max(1, round(long_side * ah / aw))) if aw >= ah else (max(1, round(long_side * aw / ah)), long_side)
    )
    guide = Image.new("RGB", (width, height))
    across = width if width >= height else height
    for position, colour in enumerate(palette):
        start, end = across * position // len(palette), across * (position + 1) // len(palette)
        box = (start, 0, end, height) if width >= height else (0, start, width, end)
        guide.paste(hex_rgb(colour), box)
    buffer = io.BytesIO()
    guide.save(buffer, format="PNG")
    return buffer.getvalue()


def outpaint_canvas_size(*, size: tuple[int, int], aspect: str, multiple: int = 8) -> tuple[int, int]:
    """The smallest canvas at `aspect` that holds the image, in the multiples the architecture's latents need."""
    width, height = size
    aw, ah = _aspect(aspect)
    if width * ah >= height * aw:
        canvas_w, canvas_h = width, -(-width * ah // aw)
    else:
        canvas_w, canvas_h = -(-height * aw // ah), height
    return -(-canvas_w // multiple) * multiple, -(-canvas_h // multiple) * multiple


def outpaint_prepare(*, image: Image.Image, width: int, height: int, blur: int = 0) -> tuple[Image.Image, Image.Image]:
    """Centre the image on the bigger canvas; the new margin is masked for the model to paint.

    The margin starts as the image's edge pixels stretched outward, which gives the model colours
    to continue rather than a flat fill.
    """
    image = image.convert("RGB")
    left, top = (width - image.width) // 2, (height - image.height) // 2
    canvas = image.resize((width, height), Image.Resampling.NEAREST).filter(ImageFilter.GaussianBlur(8))
    canvas.paste(image, (left, top))
    mask = Image.new("L", (width, height), 255)
    mask.paste(0, (left, top, left + image.width, top + image.height))
    if blur:
        mask = mask.filter(ImageFilter.GaussianBlur(blur))
    return canvas, mask


def hires_size(*, width: int, height: int, scale: float) -> tuple[int, int]:
    """The hi-res fix's second-pass size: the first pass's scaled, down to multiples of 8 (as A1111 rounds it)."""
    return int(width * scale) // 8 * 8, int(height * scale) // 8 * 8


def canny_opencv(*, image: Image.Image, low: int, high: int) -> Image.Image:
    """Canny edges made the way ControlNet's canny models were trained: OpenCV's Canny on the RGB image with
    absolute thresholds (100/200 by default), white on black, three channels."""
    import cv2

    edges = cv2.Canny(np.asarray(image.convert("RGB")), low, high)
    return Image.fromarray(edges, mode="L").convert("RGB")


def canny_edges(*, image: Image.Image, low: float = 0.1, high: float = 0.25) -> Image.Image:
    """Canny edges (Gaussian blur, Sobel, non-maximum suppression, hysteresis) with thresholds relative to the image's
    strongest edge: how control images were made before recipes recorded OpenCV's thresholds; kept so that those
    recipes reproduce."""
    from scipy import ndimage

    gray = np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    gray = ndimage.gaussian_filter(gray, 1.4)
    gx, gy = ndimage.sobel(gray, axis=1), ndimage.sobel(gray, axis=0)
    magnitude = np.hypot(gx, gy)
    magnitude /= magnitude.max() or 1.0
    angle = (np.rad2deg(np.arctan2(gy, gx)) + 180.0) % 180.0
    direction = ((angle + 22.5) // 45).astype(int) % 4
    offsets = {0: (0, 1), 1: (1, 1), 2: (1, 0), 3: (1, -1)}
    padded = np.pad(magnitude, 1)
    rows, cols = magnitude.shape
    keep = np.zeros_like(magnitude, dtype=bool)
    for code, (dy, dx) in offsets.items():
        ahead = padded[1 + dy : 1 + dy + rows, 1 + dx : 1 + dx + cols]
        behind = padded[1 - dy : 1 - dy + rows, 1 - dx : 1 - dx + cols]
        keep |= (direction == code) & (magnitude >= ahead) & (magnitude >= behind)
    thin = np.where(keep, magnitude, 0.0)
    strong, weak = thin >= high, thin >= low
    labels, _ = ndimage.label(weak, structure=np.ones((3, 3)))
    connected = np.isin(labels, np.unique(labels[strong]))
    edges = (weak & connected & (labels > 0)).astype(np.uint8) * 255
    return Image.fromarray(edges, mode="L").convert("RGB")


def png_bytes(*, image: Image.Image, infotext: str) -> bytes:
    """PNG with A1111's "parameters" chunk; nothing time- or id-dependent, so a re-run gives the same bytes."""
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", infotext)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()
