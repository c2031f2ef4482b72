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
from assets.operations import operation_get
from assets.services.blobs import blob_open
from assets.services.derivations import OutputFile, OutputImage
from assets.services.runs import RunScope


def blob_bytes(edge: Used) -> bytes:
    with blob_open(blob=edge.blob) as handle:
        return handle.read()


def blob_image(edge: Used) -> Image.Image:
    with blob_open(blob=edge.blob) as handle, Image.open(handle) as image:
        image.load()
        return image.copy()


def inputs_by_role(inputs: list[Used]) -> dict[str, list[Used]]:
    by_role: dict[str, list[Used]] = {}
    for edge in sorted(inputs, key=lambda edge: edge.position):
        by_role.setdefault(edge.role, []).append(edge)
    return by_role


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
    spec = operation_get(derivation.op)
    if spec.render is None:
        raise ApplicationError(f"{derivation.op} is not a finishing operation")
    by_role = inputs_by_role(inputs)
    if not by_role.get(Used.Role.PARENT):
        raise ApplicationError(f"derivation {derivation.pk} has no parent image to finish")
    source = image_of(by_role[Used.Role.PARENT][0])
    rendered = spec.render(source, params=derivation.params, inputs=by_role, image_of=image_of)
    result, icc = rendered if isinstance(rendered, tuple) else (rendered, None)
    return result, finishing_png(image=result, derivation=derivation, icc=icc)


def file_render(*, derivation: Derivation, inputs: list[Used]) -> OutputFile:
    """The one file of an operation whose output is not an image version (a mask refine, a vectorise)."""
    spec = operation_get(derivation.op)
    if spec.render_file is None:
        raise ApplicationError(f"{derivation.op} makes no file")
    return spec.render_file(derivation=derivation, inputs=inputs_by_role(inputs))


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
    spec = operation_get(derivation.op)
    if spec.render_file is not None:
        return [], environment, 0.0, [file_render(derivation=derivation, inputs=inputs)]
    started = time.perf_counter()
    image, png = finishing_render(derivation=derivation, inputs=inputs, image_of=stored_image)
    elapsed = time.perf_counter() - started
    output = OutputImage(
        index=0, seed=parent.seed if parent is not None else None, data=png, width=image.width, height=image.height
    )
    gpu_seconds = elapsed if placement.device.startswith("cuda") and spec.queue == "gpu" else 0.0
    files = []
    if spec.mask_output:
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
