"""LUT: a 3D `.cube` applied at `strength`; the brief's palette snap is one made from the brand colours."""

from assets.operations import OperationSpec, Param, SideFile, operation_register
from generation import finishing_ops
from generation.finishing import blob_bytes


def render(source, *, params, inputs, image_of):
    lut = finishing_ops.cube_parse(blob_bytes(inputs["lut"][0]))
    return finishing_ops.cube_apply(source, lut, strength=params.get("strength", 1.0))


operation_register(
    OperationSpec(
        name="lut",
        label="LUT / palette snap",
        phase="finishing",
        params=(
            Param("lut_sha256", str, key=True),
            Param("strength", float, required=False, minimum=0.0, maximum=1.0),
            Param("source", str, required=False, choices=("studio", "brief_palette")),
        ),
        roles=frozenset({"parent", "lut"}),
        c2pa_action="c2pa.color_adjustments",
        digital_source_type=None,
        rerun="image",
        queue="cpu",
        starts=frozenset({"api", "cli"}),
        files=(
            SideFile(
                role="lut",
                media_type="text/plain",
                check=finishing_ops.cube_parse,
                param="lut_sha256",
                missing="a LUT operation needs a .cube file",
            ),
        ),
        render=render,
    )
)
