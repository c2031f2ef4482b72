"""Image to image: a version or reference re-imagined at `strength`, as regenerate-at-quality runs it."""

from PIL import Image

from assets.operations import TRAINED, OperationSpec, operation_register
from generation.operations._sampling import GENERATION_ROLES, SAMPLING, STRENGTH


def pipeline(*, base, recipe, cache):
    import diffusers

    return diffusers.AutoPipelineForImage2Image.from_pipe(base)


def pipeline_inputs(*, recipe, image_of):
    size = (recipe.params["width"], recipe.params["height"])
    return {
        "image": image_of(recipe.init).resize(size, Image.Resampling.LANCZOS),
        "strength": recipe.params["strength"],
    }


operation_register(
    OperationSpec(
        name="img2img",
        label="Image to image",
        phase="production",
        params=(*SAMPLING, STRENGTH),
        roles=GENERATION_ROLES | {"init_image"},
        c2pa_action="c2pa.edited",
        digital_source_type=TRAINED,
        rerun="pipeline",
        pipeline=pipeline,
        pipeline_inputs=pipeline_inputs,
        queue="gpu",
        comfyui=True,
    )
)
