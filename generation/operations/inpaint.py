"""Inpaint: the masked region (white) made again, the rest kept; hands, faces and "fix this region"."""

from assets.operations import COMPOSITE_TRAINED, OperationSpec, operation_register
from generation.operations._sampling import GENERATION_ROLES, MASK_BLUR, SAMPLING, STRENGTH

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
        queue="gpu",
    )
)
