"""Text to image, with A1111's hi-res fix: a second img2img pass at hires_scale × the size, `strength` its
denoising strength."""

from assets.operations import TRAINED, OperationSpec, Param, operation_register
from generation.operations._sampling import GENERATION_ROLES, HIRES_UPSCALERS, SAMPLING


def pipeline(*, base, recipe, cache):
    return base


operation_register(
    OperationSpec(
        name="txt2img",
        label="Text to image",
        phase="ideation",
        params=(
            *SAMPLING,
            Param("hires_scale", float, required=False, minimum=1.0, maximum=4.0, key=True),
            Param("hires_steps", int, required=False, minimum=0, maximum=500),
            Param("hires_upscaler", str, required=False, choices=HIRES_UPSCALERS, key=True),
            Param("strength", float, required=False, minimum=0.0, maximum=1.0, key=True),
        ),
        roles=GENERATION_ROLES,
        c2pa_action="c2pa.created",
        digital_source_type=TRAINED,
        rerun="pipeline",
        pipeline=pipeline,
        queue="gpu",
        comfyui=True,
    )
)
