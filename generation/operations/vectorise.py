"""Vectorise: raster to SVG with vtracer; every option is recorded (vtracer's defaults filled in) so the trace
re-runs."""

from PIL import Image

from assets.models import DerivedFile
from assets.operations import OperationSpec, Param, operation_register
from assets.services.blobs import blob_open
from assets.services.derivations import OutputFile
from generation.vectorise import VECTORISE_OPTIONS, svg_trace


def render_file(*, derivation, inputs):
    parent = inputs["parent"][0]
    # The version's own bytes, alpha included: a cut-out's transparent background stays empty in the SVG.
    with blob_open(blob=parent.version.blob) as handle, Image.open(handle) as image:
        image.load()
    options = {key: value for key, value in derivation.params.items() if key in VECTORISE_OPTIONS}
    return OutputFile(
        kind=DerivedFile.Kind.SVG,
        data=svg_trace(image, **options),
        media_type="image/svg+xml",
        width=image.width,
        height=image.height,
        source_id=parent.version_id,
    )


operation_register(
    OperationSpec(
        name="vectorise",
        label="Vectorise (raster to SVG)",
        phase="finishing",
        params=(
            Param("colour_mode", str, choices=("color", "binary"), key=True),
            Param("hierarchical", str, choices=("stacked", "cutout")),
            Param("mode", str, choices=("spline", "polygon", "none"), key=True),
            Param("filter_speckle", int, minimum=0, maximum=128),
            Param("colour_precision", int, minimum=1, maximum=8),
            Param("layer_difference", int, minimum=0, maximum=255),
            Param("corner_threshold", int, minimum=0, maximum=180),
            Param("length_threshold", float, minimum=3.5, maximum=10.0),
            Param("splice_threshold", int, minimum=0, maximum=180),
            Param("path_precision", int, minimum=0, maximum=10),
        ),
        roles=frozenset({"parent"}),
        c2pa_action="c2pa.edited",
        digital_source_type=None,
        rerun="file",
        queue="cpu",
        render_file=render_file,
    )
)
