"""ControlNet: a generation held to a control image's edges, depth or pose, on SD 1.x or FLUX.1 (the InstantX and
XLabs ControlNets studios use with it).

Canny thresholds as ControlNet's canny models were trained (OpenCV, 100/200); recipes from before they were
recorded keep the image-relative edges they were made with.
"""

from PIL import Image

from assets.operations import TRAINED, OperationSpec, Param, operation_register
from generation.imaging import canny_edges, canny_opencv
from generation.operations._sampling import GENERATION_ROLES, SAMPLING


def pipeline(*, base, recipe, cache):
    import diffusers

    controlnet = cache.controlnet(weights=recipe.controlnet)
    pipeline_class = diffusers.FluxControlNetPipeline if _flux(recipe) else diffusers.StableDiffusionControlNetPipeline
    return pipeline_class.from_pipe(base, controlnet=controlnet)


def _flux(recipe) -> bool:
    return recipe.base.architecture == "flux1"


def pipeline_inputs(*, recipe, image_of):
    params = recipe.params
    control = image_of(recipe.control).resize((params["width"], params["height"]), Image.Resampling.LANCZOS)
    if "canny_low" in params:
        control = canny_opencv(image=control, low=params["canny_low"], high=params["canny_high"])
    elif params["control_type"] in ("canny", "edge"):
        control = canny_edges(image=control)
    # FLUX's ControlNet pipeline names the control image apart from an init image.
    return {
        "control_image" if _flux(recipe) else "image": control,
        "controlnet_conditioning_scale": params["conditioning_scale"],
    }


operation_register(
    OperationSpec(
        name="controlnet",
        label="ControlNet",
        phase="production",
        params=(
            *SAMPLING,
            Param("control_type", str, choices=("canny", "edge", "depth", "pose"), key=True),
            Param("conditioning_scale", float, minimum=0.0, maximum=4.0, key=True),
            Param("canny_low", int, required=False, minimum=0, maximum=1000),
            Param("canny_high", int, required=False, minimum=0, maximum=1000),
        ),
        roles=GENERATION_ROLES | {"control_image", "controlnet"},
        c2pa_action="c2pa.created",
        digital_source_type=TRAINED,
        rerun="pipeline",
        pipeline=pipeline,
        pipeline_inputs=pipeline_inputs,
        queue="gpu",
    )
)
