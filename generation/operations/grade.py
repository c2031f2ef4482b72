"""Colour grade: exposure in stops and temperature (warm > 0) in linear light; contrast and saturation in sRGB."""

import numpy as np
from PIL import Image

from assets.colour import linear_to_srgb, srgb_to_linear
from assets.operations import OperationSpec, Param, operation_register


def grade(
    image: Image.Image, *, exposure: float, contrast: float, saturation: float, temperature: float
) -> Image.Image:
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0
    linear = srgb_to_linear(pixels) * (2.0**exposure)
    linear *= np.array([1 + temperature / 200, 1.0, 1 - temperature / 200])
    encoded = linear_to_srgb(linear)
    encoded = (encoded - 0.5) * contrast + 0.5
    luma = encoded @ np.array([0.2126, 0.7152, 0.0722])
    encoded = luma[..., None] + (encoded - luma[..., None]) * saturation
    return Image.fromarray(np.round(np.clip(encoded, 0.0, 1.0) * 255).astype(np.uint8), "RGB")


def render(source, *, params, inputs, image_of):
    return grade(source, **{name: params[name] for name in ("exposure", "contrast", "saturation", "temperature")})


operation_register(
    OperationSpec(
        name="grade",
        label="Colour grade",
        phase="finishing",
        params=(
            Param("exposure", float, minimum=-5.0, maximum=5.0, key=True),
            Param("contrast", float, minimum=0.0, maximum=4.0, key=True),
            Param("saturation", float, minimum=0.0, maximum=4.0, key=True),
            Param("temperature", float, minimum=-100.0, maximum=100.0, key=True),
        ),
        roles=frozenset({"parent"}),
        c2pa_action="c2pa.color_adjustments",
        digital_source_type=None,
        rerun="image",
        queue="cpu",
        starts=frozenset({"api", "admin", "cli"}),
        render=render,
    )
)
