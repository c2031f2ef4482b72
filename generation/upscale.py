"""Real-ESRGAN upscaling through spandrel, tiled with overlap. Worker-only: imports torch and spandrel.

spandrel loads the weights (the `realesrgan` package no longer imports with current torchvision) but
does not tile; tiles are cut with an overlap margin, run alone, and only their centres are kept, so
memory is bounded by the tile size and seams fall where the network saw context on both sides.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from assets.errors import ApplicationError
from assets.models import ModelWeights

_LOADED: dict[str, object] = {}


def upscaler_load(*, weights: ModelWeights, device: str):
    """The model as a spandrel descriptor, cached per process by sha256."""
    from spandrel import ImageModelDescriptor, ModelLoader

    from generation.loader import weights_path

    key = f"{weights.sha256}:{device}"
    descriptor = _LOADED.get(key)
    if descriptor is None:
        try:
            descriptor = ModelLoader(device=device).load_from_file(str(weights_path(weights=weights)))
        except Exception as exc:  # spandrel raises many types for files it does not recognise
            raise ApplicationError(f"{weights.name} could not be loaded as an upscaler: {exc}") from exc
        if not isinstance(descriptor, ImageModelDescriptor) or descriptor.scale not in (2, 4):
            raise ApplicationError(f"{weights.name} is not a 2x or 4x image upscaler")
        descriptor.model.eval()
        _LOADED[key] = descriptor
    return descriptor


def upscale_array(pixels: np.ndarray, *, descriptor, tile: int, overlap: int, device: str = "cpu") -> np.ndarray:
    """Upscale an HxWx3 uint8 array; each tile sees `overlap` extra pixels of context on every side."""
    import torch

    height, width, _ = pixels.shape
    scale = descriptor.scale
    out = np.empty((height * scale, width * scale, 3), dtype=np.uint8)
    with torch.inference_mode():
        for top in range(0, height, tile):
            for left in range(0, width, tile):
                bottom, right = min(top + tile, height), min(left + tile, width)
                y0, x0 = max(top - overlap, 0), max(left - overlap, 0)
                y1, x1 = min(bottom + overlap, height), min(right + overlap, width)
                patch = torch.from_numpy(np.array(pixels[y0:y1, x0:x1])).to(
                    device
                )  # a copy: Pillow's arrays are read-only
                patch = patch.permute(2, 0, 1).unsqueeze(0).float().div_(255.0)
                result = descriptor.model(patch)[0].clamp_(0.0, 1.0).mul_(255.0).round_().byte().permute(1, 2, 0)
                keep = result[(top - y0) * scale : (bottom - y0) * scale, (left - x0) * scale : (right - x0) * scale]
                out[top * scale : bottom * scale, left * scale : right * scale] = keep.cpu().numpy()
    return out


def upscale_image(image: Image.Image, *, weights: ModelWeights, tile: int, overlap: int) -> Image.Image:
    from generation.loader import placement_pick

    device = placement_pick().device
    descriptor = upscaler_load(weights=weights, device=device)
    pixels = np.asarray(image.convert("RGB"))
    return Image.fromarray(
        upscale_array(pixels, descriptor=descriptor, tile=tile, overlap=overlap, device=device), "RGB"
    )
