"""Runs one recorded finishing derivation on the worker, and re-runs it for `reproduce`.

The operation, its parameters and its inputs are read from the lineage alone (params and used
edges), so the worker and a reproduction run the same code and write the same PNG bytes.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable

from PIL import Image, PngImagePlugin

from assets.errors import ApplicationError
from assets.models import Derivation, DerivedFile, Used
from assets.services.blobs import blob_open
from assets.services.derivations import OutputFile, OutputImage
from assets.services.runs import RunScope
from generation import finishing_ops
from generation.vectorise import VECTORISE_OPTIONS, svg_trace

FINISHING_OPS = (
    "upscale",
    "grade",
    "lut",
    "sharpen",
    "denoise",
    "text_overlay",
    "composite",
    "icc",
    "matte",
)
# Operations whose one output is a file that is not an image version (assets.DerivedFile).
FILE_OPS = ("mask_refine", "vectorise")


def _blob_bytes(edge: Used) -> bytes:
    with blob_open(blob=edge.blob) as handle:
        return handle.read()


def _blob_image(edge: Used) -> Image.Image:
    with blob_open(blob=edge.blob) as handle, Image.open(handle) as image:
        image.load()
        return image.copy()


def finishing_png(*, image: Image.Image, derivation: Derivation, icc: bytes | None = None) -> bytes:
    """A lossless master with what made it in a text chunk; nothing time-dependent, so re-runs match byte for byte."""
    info = PngImagePlugin.PngInfo()
    # Only what the lineage records travels in the file: the same recipe on another install writes the same bytes.
    info.add_text("seed:finishing", json.dumps({"op": derivation.op, "params": derivation.params}, sort_keys=True))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info, icc_profile=icc)
    return buffer.getvalue()


def finishing_render(
    *, derivation: Derivation, inputs: list[Used], image_of: Callable[[Used], Image.Image]
) -> tuple[Image.Image, bytes]:
    """Apply the derivation's operation to its parent image; returns the image and its PNG bytes."""
    params = derivation.params
    by_role: dict[str, list[Used]] = {}
    for edge in sorted(inputs, key=lambda edge: edge.position):
        by_role.setdefault(edge.role, []).append(edge)
    if not by_role.get(Used.Role.PARENT):
        raise ApplicationError(f"derivation {derivation.pk} has no parent image to finish")
    source = image_of(by_role[Used.Role.PARENT][0])
    icc = None
    op = derivation.op
    if op == "upscale":
        from generation.upscale import upscale_image

        weights = by_role[Used.Role.UPSCALER][0].model_weights
        result = upscale_image(source, weights=weights, tile=params["tile"], overlap=params["tile_overlap"])
    elif op == "grade":
        result = finishing_ops.grade(
            source,
            exposure=params["exposure"],
            contrast=params["contrast"],
            saturation=params["saturation"],
            temperature=params["temperature"],
        )
    elif op == "lut":
        lut = finishing_ops.cube_parse(_blob_bytes(by_role[Used.Role.LUT][0]))
        result = finishing_ops.cube_apply(source, lut, strength=params.get("strength", 1.0))
    elif op == "sharpen":
        result = finishing_ops.sharpen(
            source, radius=params["radius"], percent=params["percent"], threshold=params["threshold"]
        )
    elif op == "denoise":
        result = finishing_ops.denoise(source, strength=params["strength"])
    elif op == "text_overlay":
        font = _blob_bytes(by_role[Used.Role.FONT][0]) if by_role.get(Used.Role.FONT) else None
        result = finishing_ops.text_overlay(
            source,
            text=params["text"],
            font_data=font,
            size=params["size"],
            colour=params["colour"],
            position=params["position"],
            safe_area=params.get("safe_area", 0.1),
        )
    elif op == "composite":
        masks = {edge.position: _blob_image(edge) for edge in by_role.get(Used.Role.MASK, [])}
        layers = [(image_of(edge), masks.get(edge.position)) for edge in by_role.get(Used.Role.LAYER, [])]
        result = finishing_ops.composite(source, layers, blend=params.get("blend", "normal"))
    elif op == "matte":
        from generation.matting import cutout, mask_predict, mask_refine

        mask = mask_predict(source, weights=by_role[Used.Role.MATTING][0].model_weights, family=params["model_family"])
        result = cutout(source, mask_refine(mask, grow=params["grow"], feather=params["feather"]))
    elif op == "icc":
        result, icc = finishing_ops.icc_convert(
            source,
            profile_data=_blob_bytes(by_role[Used.Role.PROFILE][0]),
            intent=params["intent"],
            proof=params.get("proof", False),
        )
    else:
        raise ApplicationError(f"{op} is not a finishing operation")
    return result, finishing_png(image=result, derivation=derivation, icc=icc)


def file_render(*, derivation: Derivation, inputs: list[Used]) -> OutputFile:
    """The one file of a mask refine or a vectorise derivation, from its recorded inputs and parameters."""
    params = derivation.params
    by_role = {edge.role: edge for edge in inputs}
    if derivation.op == "mask_refine":
        from generation.matting import mask_refine

        mask_file = DerivedFile.objects.get(pk=params["mask_id"])
        refined = mask_refine(_blob_image(by_role[Used.Role.MASK]), grow=params["grow"], feather=params["feather"])
        return OutputFile(
            kind=DerivedFile.Kind.MASK,
            data=mask_png(refined),
            media_type="image/png",
            width=refined.width,
            height=refined.height,
            source_id=mask_file.source_id,
            refined_from_id=mask_file.pk,
        )
    if derivation.op == "vectorise":
        parent = by_role[Used.Role.PARENT]
        # The version's own bytes, alpha included: a cut-out's transparent background stays empty in the SVG.
        with blob_open(blob=parent.version.blob) as handle, Image.open(handle) as image:
            image.load()
        svg = svg_trace(image, **{key: value for key, value in params.items() if key in VECTORISE_OPTIONS})
        return OutputFile(
            kind=DerivedFile.Kind.SVG,
            data=svg,
            media_type="image/svg+xml",
            width=image.width,
            height=image.height,
            source_id=parent.version_id,
        )
    raise ApplicationError(f"{derivation.op} makes no file")


def mask_png(mask: Image.Image) -> bytes:
    """A mask's bytes as the worker records them (single-channel PNG); a re-run encodes with this too, to compare."""
    buffer = io.BytesIO()
    mask.convert("L").save(buffer, format="PNG")
    return buffer.getvalue()


def finishing_run(*, derivation_id: int) -> str:
    """The worker's job for one finishing derivation: claim, render, record once; failures are recorded."""
    from generation.runner import derivation_guarded

    return derivation_guarded(derivation_id=derivation_id, make=_finish)


def _finish(derivation: Derivation, scope: RunScope):
    from generation.environment import environment_fingerprint
    from generation.loader import placement_pick
    from generation.runner import stored_image

    inputs = list(derivation.used.select_related("version__blob", "reference__blob", "model_weights", "blob"))
    parent = next((edge.version for edge in inputs if edge.role == Used.Role.PARENT), None)
    placement = placement_pick()
    environment = environment_fingerprint(device=placement.device, dtype="float32")
    if derivation.op in FILE_OPS:
        return [], environment, 0.0, [file_render(derivation=derivation, inputs=inputs)]
    started = time.perf_counter()
    image, png = finishing_render(derivation=derivation, inputs=inputs, image_of=stored_image)
    elapsed = time.perf_counter() - started
    output = OutputImage(
        index=0, seed=parent.seed if parent is not None else None, data=png, width=image.width, height=image.height
    )
    gpu_seconds = elapsed if placement.device.startswith("cuda") and derivation.op == "upscale" else 0.0
    files = []
    if derivation.op == "matte":
        # The mask is the cut-out's alpha, kept as an entity of its own to serve inpaint and composite layers.
        alpha = image.getchannel("A")
        files.append(
            OutputFile(
                kind=DerivedFile.Kind.MASK,
                data=mask_png(alpha),
                media_type="image/png",
                width=alpha.width,
                height=alpha.height,
                source_id=parent.pk,
            )
        )
    return [output], environment, gpu_seconds, files
