"""Rendition: a channel variant of a master (crop by focal point or outpaint, resize, encode), made by delivery;
`reproduce` uses its recorded bytes, and `manage.py verify` re-checks a delivered file against them."""

from assets.operations import OperationSpec, Param, operation_register

INTENTS = ("perceptual", "relative", "saturation", "absolute")

operation_register(
    OperationSpec(
        name="rendition",
        label="Crop / rendition",
        phase="delivery",
        params=(
            Param("preset", str, key=True),
            Param("width", int, minimum=1, maximum=16384, key=True),
            Param("height", int, minimum=1, maximum=16384, key=True),
            Param("crop_rule", str, choices=("focal", "outpaint")),
            Param("crop", list, required=False),
            Param("format", str, required=False, choices=("JPEG", "PNG", "WEBP", "AVIF", "TIFF")),
            Param("quality", int, required=False, minimum=1, maximum=100),
            Param("colour_profile", str, required=False, choices=("srgb", "none", "cmyk")),
            Param("rendering_intent", str, required=False, choices=INTENTS),
            Param("dpi", float, required=False, minimum=1.0, maximum=100000.0),
        ),
        roles=frozenset({"parent", "profile"}),
        c2pa_action="c2pa.resized",
        digital_source_type=None,
        rerun="recorded",
    )
)
