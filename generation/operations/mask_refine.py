"""Mask refine: a recorded mask grown (or shrunk, grow < 0) and feathered into a new one; the original stays."""

from assets.models import DerivedFile
from assets.operations import OperationSpec, Param, operation_register
from assets.services.derivations import OutputFile
from generation.finishing import blob_image, mask_png


def render_file(*, derivation, inputs):
    from generation.matting import mask_refine

    params = derivation.params
    mask_file = DerivedFile.objects.get(pk=params["mask_id"])
    refined = mask_refine(blob_image(inputs["mask"][0]), grow=params["grow"], feather=params["feather"])
    return OutputFile(
        kind=DerivedFile.Kind.MASK,
        data=mask_png(refined),
        media_type="image/png",
        width=refined.width,
        height=refined.height,
        source_id=mask_file.source_id,
        refined_from_id=mask_file.pk,
    )


operation_register(
    OperationSpec(
        name="mask_refine",
        label="Mask refine (grow / shrink, feather)",
        phase="finishing",
        params=(
            Param("mask_id", int, minimum=1),
            Param("grow", int, minimum=-100, maximum=100, key=True),
            Param("feather", float, minimum=0.0, maximum=100.0, key=True),
        ),
        roles=frozenset({"parent", "mask"}),
        c2pa_action="c2pa.edited",
        digital_source_type=None,
        rerun="file",
        queue="cpu",
        render_file=render_file,
    )
)
