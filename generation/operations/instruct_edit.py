"""Instruction edit: a version changed as its prompt asks ("make the sky warmer"), on FLUX.1 Kontext or Qwen-Image-Edit.

What Midjourney users know as vary region and remaster: the model reads the init image beside the instruction and
paints a new image from noise, keeping what the instruction leaves alone. There is no strength: the init conditions
every step instead of being the start of the denoising.
"""

from PIL import Image

from assets.models import ModelWeights
from assets.operations import TRAINED, OperationSpec, operation_register
from generation.operations._sampling import GENERATION_ROLES, SAMPLING


def pipeline(*, base, recipe, cache):
    return base


def pipeline_inputs(*, recipe, image_of):
    size = (recipe.params["width"], recipe.params["height"])
    image = image_of(recipe.init).resize(size, Image.Resampling.LANCZOS)
    if recipe.base.architecture == ModelWeights.Architecture.QWEN_IMAGE_EDIT:
        # Qwen-Image-Edit's pipeline takes no size for its condition: it scales the image it is given to a megapixel
        # at that image's aspect. Given at the recorded size, the condition follows from the recipe alone; the output
        # is made at the recorded width and height, which the runner passes.
        return {"image": image}
    return {
        "image": image,
        # At the recorded size, which the request fitted to Kontext's area: left alone, diffusers scales the output
        # to a megapixel and the init to the nearest size Kontext was trained at, neither of which the recipe says.
        "max_area": size[0] * size[1],
        "_auto_resize": False,
    }


operation_register(
    OperationSpec(
        name="instruct_edit",
        label="Instruction edit",
        phase="production",
        params=SAMPLING,
        roles=GENERATION_ROLES | {"init_image"},
        c2pa_action="c2pa.edited",
        digital_source_type=TRAINED,
        rerun="pipeline",
        pipeline=pipeline,
        pipeline_inputs=pipeline_inputs,
        queue="gpu",
    )
)
