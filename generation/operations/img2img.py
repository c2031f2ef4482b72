"""Image to image: a version or reference re-imagined at `strength`, as regenerate-at-quality runs it."""

from assets.operations import TRAINED, OperationSpec, operation_register
from generation.operations._sampling import GENERATION_ROLES, SAMPLING, STRENGTH

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
        queue="gpu",
        comfyui=True,
    )
)
