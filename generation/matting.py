"""Background removal with a registered ONNX matting model, run by onnxruntime; mask refinement. Worker-only.

The model families are the ones rembg serves, prepared as rembg prepares them: U²-Net at 320 px with ImageNet
normalisation, IS-Net at 1024 px centred on grey, BiRefNet at 1024 px with ImageNet normalisation and a sigmoid on its
logits. The model file comes from our registry (sha256-addressed, never downloaded). One intra-op thread keeps the
float sums in one order, so a recorded matte re-runs to the same bytes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from assets.errors import ApplicationError
from assets.models import ModelWeights

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass(frozen=True)
class Family:
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    logits: bool  # the output needs a sigmoid before it reads as 0..1


FAMILIES = {
    "u2net": Family(size=320, mean=IMAGENET[0], std=IMAGENET[1], logits=False),
    "isnet": Family(size=1024, mean=(0.5, 0.5, 0.5), std=(1.0, 1.0, 1.0), logits=False),
    "birefnet": Family(size=1024, mean=IMAGENET[0], std=IMAGENET[1], logits=True),
}


@functools.lru_cache(maxsize=2)
def _session(sha256: str, path: str):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    providers = [
        provider
        for provider in ("CUDAExecutionProvider", "CPUExecutionProvider")
        if provider in onnxruntime.get_available_providers()
    ]
    return onnxruntime.InferenceSession(path, sess_options=options, providers=providers)


def mask_predict(image: Image.Image, *, weights: ModelWeights, family: str) -> Image.Image:
    """The model's mask for `image`, white on the subject, at the image's size (mode L)."""
    from generation.loader import weights_path

    if weights.kind != ModelWeights.Kind.MATTING:
        raise ApplicationError(f"{weights.name} is a {weights.get_kind_display()}, not a matting model")
    spec = FAMILIES[family]
    session = _session(weights.sha256, str(weights_path(weights=weights)))
    rgb = image.convert("RGB")
    pixels = np.asarray(rgb.resize((spec.size, spec.size), Image.Resampling.LANCZOS), dtype=np.float32)
    pixels = pixels / max(float(pixels.max()), 1.0)
    pixels = (pixels - np.array(spec.mean, dtype=np.float32)) / np.array(spec.std, dtype=np.float32)
    tensor = pixels.transpose(2, 0, 1)[None].astype(np.float32)
    try:
        output = session.run(None, {session.get_inputs()[0].name: tensor})[0]
    except Exception as exc:  # onnxruntime raises its own Fail / InvalidArgument types
        raise ApplicationError(
            f"matting model {weights.name} could not run on a {spec.size} px {family} input: {str(exc)[:300]}",
            extra={"code": "matting_failed"},
        ) from exc
    prediction = np.asarray(output, dtype=np.float32).reshape(output.shape[-2:])
    if spec.logits:
        prediction = 1.0 / (1.0 + np.exp(-prediction))
    low, high = float(prediction.min()), float(prediction.max())
    prediction = (prediction - low) / (high - low) if high > low else np.zeros_like(prediction)
    mask = Image.fromarray(np.round(prediction * 255).astype(np.uint8), "L")
    return mask.resize(rgb.size, Image.Resampling.BILINEAR)


def mask_refine(mask: Image.Image, *, grow: int = 0, feather: float = 0.0) -> Image.Image:
    """Grow (> 0) or shrink (< 0) the mask by `grow` pixels, then soften its edge by a Gaussian of radius `feather`."""
    refined = mask.convert("L")
    if grow:
        size = 2 * abs(grow) + 1
        refined = refined.filter(ImageFilter.MaxFilter(size) if grow > 0 else ImageFilter.MinFilter(size))
    if feather:
        refined = refined.filter(ImageFilter.GaussianBlur(feather))
    return refined


def cutout(image: Image.Image, mask: Image.Image) -> Image.Image:
    """The image with the mask as its alpha channel."""
    result = image.convert("RGB").convert("RGBA")
    result.putalpha(mask.convert("L").resize(result.size, Image.Resampling.BILINEAR))
    return result
