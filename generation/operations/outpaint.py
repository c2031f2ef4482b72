"""Outpaint: the image extended to another aspect, the new margins generated around the kept pixels."""

from assets.operations import COMPOSITE_TRAINED, OperationSpec, Param, operation_register
from generation.imaging import outpaint_prepare
from generation.operations._sampling import GENERATION_ROLES, MASK_BLUR, SAMPLING, inpainting_pipeline


def pipeline(*, base, recipe, cache):
    return inpainting_pipeline(base=base)


def pipeline_inputs(*, recipe, image_of):
    params = recipe.params
    canvas, mask = outpaint_prepare(
        image=image_of(recipe.init), width=params["width"], height=params["height"], blur=params.get("mask_blur", 0)
    )
    return {"image": canvas, "mask_image": mask, "strength": 1.0}


operation_register(
    OperationSpec(
        name="outpaint",
        label="Outpaint",
        phase="production",
        params=(*SAMPLING, Param("target_aspect", str, key=True), MASK_BLUR),
        roles=GENERATION_ROLES | {"init_image"},
        c2pa_action="c2pa.edited",
        digital_source_type=COMPOSITE_TRAINED,
        rerun="pipeline",
        pipeline=pipeline,
        pipeline_inputs=pipeline_inputs,
        queue="gpu",
    )
)
