"""Denoise: an edge-keeping median (3x3, 5x5 above half strength) blended in by `strength`."""

from PIL import Image, ImageFilter

from assets.operations import OperationSpec, Param, operation_register


def render(source, *, params, inputs, image_of):
    rgb = source.convert("RGB")
    filtered = rgb.filter(ImageFilter.MedianFilter(5 if params["strength"] > 0.5 else 3))
    return Image.blend(rgb, filtered, params["strength"])


operation_register(
    OperationSpec(
        name="denoise",
        label="Denoise",
        phase="finishing",
        params=(Param("strength", float, minimum=0.0, maximum=1.0, key=True),),
        roles=frozenset({"parent"}),
        c2pa_action="c2pa.filtered",
        digital_source_type=None,
        rerun="image",
        queue="cpu",
        starts=frozenset({"api", "admin", "cli"}),
        render=render,
    )
)
