"""Outpaint: the image extended to another aspect, the new margins generated around the kept pixels."""

from assets.operations import COMPOSITE_TRAINED, OperationSpec, Param, operation_register
from generation.operations._sampling import GENERATION_ROLES, MASK_BLUR, SAMPLING

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
        queue="gpu",
    )
)
