"""Inpaint: the masked region (white) made again, the rest kept; hands, faces and "fix this region"."""

from PIL import Image

from assets.errors import ApplicationError
from assets.operations import COMPOSITE_TRAINED, OperationSpec, operation_register
from generation.operations._sampling import GENERATION_ROLES, MASK_BLUR, SAMPLING, STRENGTH, inpainting_pipeline


def pipeline(*, base, recipe, cache):
    return inpainting_pipeline(base=base)


def pipeline_inputs(*, recipe, image_of):
    size = (recipe.params["width"], recipe.params["height"])
    from generation.recipe_pipeline import blob_image

    mask = blob_image(blob=recipe.mask, mode="L")
    init = image_of(recipe.init)
    if mask.size != init.size:
        raise ApplicationError(f"the mask is {mask.width}x{mask.height} but the image is {init.width}x{init.height}")
    return {
        "image": init.resize(size, Image.Resampling.LANCZOS),
        "mask_image": mask.resize(size, Image.Resampling.NEAREST),
        "strength": recipe.params["strength"],
    }


operation_register(
    OperationSpec(
        name="inpaint",
        label="Inpaint",
        phase="production",
        params=(*SAMPLING, STRENGTH, MASK_BLUR),
        roles=GENERATION_ROLES | {"init_image", "mask"},
        c2pa_action="c2pa.edited",
        digital_source_type=COMPOSITE_TRAINED,
        rerun="pipeline",
        pipeline=pipeline,
        pipeline_inputs=pipeline_inputs,
        queue="gpu",
    )
)
