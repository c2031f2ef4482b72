"""Sharpen: an unsharp mask, as photo editors name its radius, amount (percent) and threshold."""

from PIL import ImageFilter

from assets.operations import OperationSpec, Param, operation_register


def render(source, *, params, inputs, image_of):
    unsharp = ImageFilter.UnsharpMask(radius=params["radius"], percent=params["percent"], threshold=params["threshold"])
    return source.convert("RGB").filter(unsharp)


operation_register(
    OperationSpec(
        name="sharpen",
        label="Sharpen",
        phase="finishing",
        params=(
            Param("radius", float, minimum=0.0, maximum=50.0, key=True),
            Param("percent", int, minimum=0, maximum=500, key=True),
            Param("threshold", int, minimum=0, maximum=255),
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
