"""Vignette: the corners darkened toward a colour, as photo editors do it to pull the eye to the subject.

`amount` is how dark the corners get (0 none, 1 the full colour), `midpoint` where the falloff starts (as a share of
the distance from the centre to a corner), `roundness` 1 for a circle and 0 for the frame's own proportions.
"""

import numpy as np
from PIL import Image

from assets.colour import hex_rgb
from assets.operations import HEX_COLOUR, OperationSpec, Param, operation_register


def vignette(image: Image.Image, *, amount: float, midpoint: float, roundness: float, colour: str) -> Image.Image:
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64)
    height, width = rgb.shape[:2]
    # Distances are measured in the frame's proportions, pulled toward a circle by `roundness`.
    aspect = width / height
    scale_x = 1.0 + roundness * (aspect - 1.0) if aspect >= 1 else 1.0
    scale_y = 1.0 + roundness * (1.0 / aspect - 1.0) if aspect < 1 else 1.0
    ys = (np.arange(height) + 0.5) / height * 2.0 - 1.0
    xs = (np.arange(width) + 0.5) / width * 2.0 - 1.0
    distance = np.hypot(xs[None, :] * scale_x, ys[:, None] * scale_y) / np.hypot(scale_x, scale_y)
    falloff = np.clip((distance - midpoint) / max(1.0 - midpoint, 1e-6), 0.0, 1.0)
    weight = (falloff * falloff * (3.0 - 2.0 * falloff) * amount)[..., None]
    toned = rgb * (1.0 - weight) + np.array(hex_rgb(colour), dtype=np.float64) * weight
    return Image.fromarray(np.round(toned).clip(0, 255).astype(np.uint8), "RGB")


def render(source, *, params, inputs, image_of):
    return vignette(
        source,
        amount=params["amount"],
        midpoint=params.get("midpoint", 0.5),
        roundness=params.get("roundness", 0.0),
        colour=params.get("colour", "#000000"),
    )


operation_register(
    OperationSpec(
        name="vignette",
        label="Vignette",
        phase="finishing",
        params=(
            Param("amount", float, minimum=0.0, maximum=1.0, key=True),
            Param("midpoint", float, required=False, minimum=0.0, maximum=0.95),
            Param("roundness", float, required=False, minimum=0.0, maximum=1.0),
            Param("colour", str, required=False, pattern=HEX_COLOUR),
        ),
        roles=frozenset({"parent"}),
        c2pa_action="c2pa.filtered",
        digital_source_type=None,
        rerun="image",
        queue="cpu",
        starts=frozenset({"api", "admin", "cli"}),
        render=render,
    )
)
