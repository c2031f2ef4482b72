"""ICC conversion: to an RGB profile, or a print proof (sRGB pixels showing how a press renders them)."""

from assets.operations import OperationSpec, Param, SideFile, operation_register
from generation import finishing_ops
from generation.finishing import blob_bytes

INTENTS = ("perceptual", "relative", "saturation", "absolute")


def prepare(*, version, params, models):
    return {"intent": "perceptual", **params}


def render(source, *, params, inputs, image_of):
    return finishing_ops.icc_convert(
        source,
        profile_data=blob_bytes(inputs["profile"][0]),
        intent=params["intent"],
        proof=params.get("proof", False),
    )


operation_register(
    OperationSpec(
        name="icc",
        label="ICC conversion",
        phase="finishing",
        params=(
            Param("profile_sha256", str, key=True),
            Param("intent", str, choices=INTENTS),
            Param("proof", bool, required=False),
        ),
        roles=frozenset({"parent", "profile"}),
        c2pa_action="c2pa.converted",
        digital_source_type=None,
        rerun="image",
        queue="cpu",
        starts=frozenset({"api", "cli"}),
        files=(
            SideFile(
                role="profile",
                media_type="application/vnd.iccprofile",
                check=finishing_ops.icc_profile_read,
                param="profile_sha256",
                missing="an ICC conversion needs a profile (.icc or .icm)",
            ),
        ),
        prepare=prepare,
        render=render,
    )
)
