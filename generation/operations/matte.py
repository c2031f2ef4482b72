"""Background removal: an ONNX U²-Net, IS-Net or BiRefNet predicts the subject's mask; the cut-out is a PNG with
alpha, and its mask is kept beside it as a file of its own (for inpaint masks and composite layers)."""

from assets.operations import OperationSpec, Param, operation_register

FAMILIES = ("u2net", "isnet", "birefnet")


def render(source, *, params, inputs, image_of):
    from generation.matting import cutout, mask_predict, mask_refine

    mask = mask_predict(source, weights=inputs["matting"][0].model_weights, family=params["model_family"])
    return cutout(source, mask_refine(mask, grow=params["grow"], feather=params["feather"]))


operation_register(
    OperationSpec(
        name="matte",
        label="Background removal (mask and cut-out)",
        phase="finishing",
        params=(
            Param("model_family", str, choices=FAMILIES, key=True),
            Param("grow", int, minimum=-100, maximum=100, key=True),
            Param("feather", float, minimum=0.0, maximum=100.0, key=True),
        ),
        roles=frozenset({"parent", "matting"}),
        c2pa_action="c2pa.edited",
        digital_source_type=None,
        rerun="image",
        queue="cpu",
        render=render,
        mask_output=True,
    )
)
