"""Upscale: a Real-ESRGAN-class model (2x or 4x) run in overlapping tiles, only when the slot is larger than the
version (generation.services.finishing.upscale_create picks the factor)."""

from assets.errors import ApplicationError
from assets.operations import ENHANCED, OperationSpec, Param, operation_register

DEFAULT_TILE = 256
DEFAULT_TILE_OVERLAP = 16


def prepare(*, version, params, models):
    upscaler = models.get("upscaler")
    if upscaler is None or upscaler.kind != "upscaler":
        raise ApplicationError("upscale needs registered upscaler weights (kind upscaler)")
    params = {"scale": upscaler.scale, "tile": DEFAULT_TILE, "tile_overlap": DEFAULT_TILE_OVERLAP, **params}
    if params["scale"] != upscaler.scale:
        raise ApplicationError(f"{upscaler.name} upscales {upscaler.scale}x, not {params['scale']}x")
    return params


def render(source, *, params, inputs, image_of):
    from generation.upscale import upscale_image

    weights = inputs["upscaler"][0].model_weights
    return upscale_image(source, weights=weights, tile=params["tile"], overlap=params["tile_overlap"])


operation_register(
    OperationSpec(
        name="upscale",
        label="Upscale",
        phase="finishing",
        params=(
            Param("scale", int, choices=(2, 4), key=True),
            Param("tile", int, minimum=32, maximum=4096),
            Param("tile_overlap", int, minimum=0, maximum=512),
            Param("target_width", int, required=False, minimum=1, maximum=65536),
            Param("target_height", int, required=False, minimum=1, maximum=65536),
        ),
        roles=frozenset({"parent", "upscaler"}),
        c2pa_action="c2pa.resized",
        digital_source_type=ENHANCED,
        rerun="image",
        queue="gpu",
        starts=frozenset({"cli"}),
        prepare=prepare,
        render=render,
    )
)
