"""Composite: layers (versions or references) fitted to the base, blended, each through its mask (white = layer)."""

from PIL import Image, ImageChops

from assets.operations import OperationSpec, Param, operation_register
from generation.finishing import blob_image

BLENDS = {
    "normal": lambda base, layer: layer,
    "multiply": ImageChops.multiply,
    "screen": ImageChops.screen,
}


def composite(
    base: Image.Image, layers: list[tuple[Image.Image, Image.Image | None]], *, blend: str = "normal"
) -> Image.Image:
    result = base.convert("RGB")
    for layer, mask in layers:
        fitted = layer.convert("RGB").resize(result.size, Image.Resampling.LANCZOS)
        blended = BLENDS[blend](result, fitted)
        alpha = (
            mask.convert("L").resize(result.size, Image.Resampling.BILINEAR)
            if mask is not None
            else Image.new("L", result.size, 255)
        )
        result = Image.composite(blended, result, alpha)
    return result


def render(source, *, params, inputs, image_of):
    masks = {edge.position: blob_image(edge) for edge in inputs.get("mask", [])}
    layers = [(image_of(edge), masks.get(edge.position)) for edge in inputs.get("layer", [])]
    return composite(source, layers, blend=params.get("blend", "normal"))


operation_register(
    OperationSpec(
        name="composite",
        label="Composite",
        phase="finishing",
        params=(Param("blend", str, required=False, choices=tuple(BLENDS)),),
        roles=frozenset({"parent", "layer", "mask"}),
        c2pa_action="c2pa.placed",
        digital_source_type=None,
        rerun="image",
        queue="cpu",
        starts=frozenset({"api"}),
        render=render,
    )
)
