"""Queue finishing operations on a version: each is one derivation the worker runs (generation/finishing.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from assets.errors import ApplicationError
from assets.models import Derivation, DerivedFile, ModelWeights, Phase, Reference, Used, Version
from assets.services.blobs import BlobsStored, blob_staged
from assets.services.derivations import UsedInput, derivation_create
from assets.services.queues import Queue
from assets.services.runs import run_enqueue
from generation import finishing_ops
from generation.finishing import FINISHING_OPS
from generation.vectorise import VECTORISE_DEFAULTS

DEFAULT_TILE = 256
DEFAULT_TILE_OVERLAP = 16


@dataclass(frozen=True)
class Layer:
    source: Version | Reference
    mask: object | None = None  # a recorded mask (DerivedFile), an uploaded file or bytes: white where the layer shows


def _read(source) -> bytes:
    if isinstance(source, bytes):
        return source
    data = source.read()
    return data.encode() if isinstance(data, str) else data


def finishing_create(
    *,
    version: Version,
    op: str,
    params: dict,
    upscaler: ModelWeights | None = None,
    lut_file=None,
    font_file=None,
    profile_file=None,
    layers: list[Layer] = (),
    created_by=None,
) -> Derivation:
    """Validate and record one queued finishing derivation on `version`; the worker runs it after commit.

    Side files are checked before anything is written (a malformed .cube, font or ICC profile is
    refused with the reason), then stored content-addressed and recorded as used.
    """
    if op not in FINISHING_OPS:
        raise ApplicationError(f"{op!r} is not a finishing operation; choose one of {', '.join(FINISHING_OPS)}")
    _kept_check(version)
    params = dict(params)
    side: list[tuple[str, bytes, str, int]] = []
    if op == "upscale":
        if upscaler is None or upscaler.kind != ModelWeights.Kind.UPSCALER:
            raise ApplicationError("upscale needs registered upscaler weights (kind upscaler)")
        params.setdefault("scale", upscaler.scale)
        params.setdefault("tile", DEFAULT_TILE)
        params.setdefault("tile_overlap", DEFAULT_TILE_OVERLAP)
        if params["scale"] != upscaler.scale:
            raise ApplicationError(f"{upscaler.name} upscales {upscaler.scale}x, not {params['scale']}x")
    if op == "lut":
        if lut_file is None:
            raise ApplicationError("a LUT operation needs a .cube file")
        data = _read(lut_file)
        finishing_ops.cube_parse(data)
        side.append((Used.Role.LUT, data, "text/plain", 0))
    if op == "text_overlay" and font_file is not None:
        data = _read(font_file)
        finishing_ops.font_load(data, 12)
        side.append((Used.Role.FONT, data, "font/ttf", 0))
    if op == "text_overlay":
        params.setdefault("position", "bottom")
        params.setdefault("colour", "#FFFFFF")
        params.setdefault("size", max(12, version.height // 12))
    if op == "icc":
        if profile_file is None:
            raise ApplicationError("an ICC conversion needs a profile (.icc or .icm)")
        data = _read(profile_file)
        finishing_ops.icc_profile_read(data)
        side.append((Used.Role.PROFILE, data, "application/vnd.iccprofile", 0))
        params.setdefault("intent", "perceptual")
    if op == "composite":
        if not layers:
            raise ApplicationError("a composite needs at least one layer")
        for position, layer in enumerate(layers):
            if isinstance(layer.mask, DerivedFile):
                _recorded_mask_check(layer.mask)
            elif layer.mask is not None:
                data = _read(layer.mask)
                _mask_check(data)
                side.append((Used.Role.MASK, data, "image/png", position))
    with BlobsStored() as stored, transaction.atomic():
        inputs = [UsedInput(role=Used.Role.PARENT, target=version)]
        if upscaler is not None:
            inputs.append(UsedInput(role=Used.Role.UPSCALER, target=upscaler))
        for role, data, media_type, position in side:
            blob = stored.store_bytes(data=data, media_type=media_type)
            inputs.append(UsedInput(role=role, target=blob, position=position))
            key = {Used.Role.LUT: "lut_sha256", Used.Role.FONT: "font_sha256", Used.Role.PROFILE: "profile_sha256"}.get(
                role
            )
            if key:
                params[key] = blob.sha256
        inputs += [UsedInput(role=Used.Role.LAYER, target=layer.source, position=i) for i, layer in enumerate(layers)]
        inputs += [
            UsedInput(role=Used.Role.MASK, target=layer.mask.blob, position=i)
            for i, layer in enumerate(layers)
            if isinstance(layer.mask, DerivedFile)
        ]
        return _finishing_record(
            version=version,
            op=op,
            params=params,
            inputs=inputs,
            created_by=created_by,
            queue=Queue.GPU if op == "upscale" else Queue.CPU,
        )


def _recorded_mask_check(mask: DerivedFile) -> None:
    if mask.kind != DerivedFile.Kind.MASK:
        raise ApplicationError(
            f"file {mask.pk} is a {mask.get_kind_display()}, not a mask", extra={"code": "not_a_mask"}
        )


def _kept_check(version: Version) -> None:
    if version.status == Version.Status.REJECTED:
        raise ApplicationError(f"version {version.pk} was rejected; finish a kept version")


def _finishing_record(
    *, version: Version, op: str, params: dict, inputs: list[UsedInput], queue: str, created_by=None
) -> Derivation:
    """Record one queued worker op on `version` (finishing, a matte, a mask refine, a vectorise) and enqueue it after
    commit."""
    with transaction.atomic():
        derivation = derivation_create(
            brief=version.brief, op=op, phase=Phase.FINISHING, params=params, inputs=inputs, created_by=created_by
        )
        run_enqueue(task="generation.tasks.run_finishing", pk=derivation.pk, kind="finishing", queue=queue)
    return derivation


def matte_create(
    *,
    version: Version,
    matting: ModelWeights,
    model_family: str = "u2net",
    grow: int = 0,
    feather: float = 0.0,
    created_by=None,
) -> Derivation:
    """Background removal: the worker makes a cut-out version (PNG with alpha) and its mask (a DerivedFile)."""
    if matting.kind != ModelWeights.Kind.MATTING:
        raise ApplicationError(
            f"{matting.name} is a {matting.get_kind_display()}, not a matting model (register an ONNX "
            "U²-Net, IS-Net or BiRefNet export with --kind matting)"
        )
    _kept_check(version)
    return _finishing_record(
        version=version,
        op="matte",
        queue=Queue.CPU,
        created_by=created_by,
        params={"model_family": model_family, "grow": grow, "feather": feather},
        inputs=[UsedInput(role=Used.Role.PARENT, target=version), UsedInput(role=Used.Role.MATTING, target=matting)],
    )


def mask_refine_create(*, mask: DerivedFile, grow: int = 0, feather: float = 0.0, created_by=None) -> Derivation:
    """A new mask from `mask`, grown (or shrunk, grow < 0) and feathered; the original stays as it is."""
    _recorded_mask_check(mask)
    if not grow and not feather:
        raise ApplicationError(
            "a refine needs grow (pixels, negative to shrink) or feather (pixels)", extra={"code": "refine_nothing"}
        )
    _kept_check(mask.source)
    return _finishing_record(
        version=mask.source,
        op="mask_refine",
        queue=Queue.CPU,
        created_by=created_by,
        params={"mask_id": mask.pk, "grow": grow, "feather": feather},
        inputs=[UsedInput(role=Used.Role.PARENT, target=mask.source), UsedInput(role=Used.Role.MASK, target=mask.blob)],
    )


def vectorise_create(*, version: Version, options: dict | None = None, created_by=None) -> Derivation:
    """Raster to SVG with vtracer; every option is recorded (vtracer's defaults filled in) so the trace re-runs."""
    options = dict(options or {})
    unknown = sorted(set(options) - set(VECTORISE_DEFAULTS))
    if unknown:
        raise ApplicationError(
            f"unknown vectorise option(s): {', '.join(unknown)}", extra={"allowed": sorted(VECTORISE_DEFAULTS)}
        )
    _kept_check(version)
    return _finishing_record(
        version=version,
        op="vectorise",
        queue=Queue.CPU,
        created_by=created_by,
        params={**VECTORISE_DEFAULTS, **options},
        inputs=[UsedInput(role=Used.Role.PARENT, target=version)],
    )


def _mask_check(data: bytes) -> None:
    from PIL import Image

    from assets.images import image_inspect

    with blob_staged(source=io.BytesIO(data)) as staged:
        image_inspect(path=staged.path)
    with Image.open(io.BytesIO(data)) as mask:
        if mask.convert("L").getextrema()[1] == 0:
            raise ApplicationError(
                "a layer mask is empty: paint where the layer shows in white", extra={"code": "mask_empty"}
            )


def palette_snap_create(*, version: Version, pull: float = 0.6, strength: float = 1.0, created_by=None) -> Derivation:
    """A LUT built from the brief's palette (hues pulled toward the brand colours), applied as a finishing step."""
    if not 0.0 < pull <= 1.0:
        raise ApplicationError(f"pull must be above 0 and at most 1; got {pull}")
    cube = finishing_ops.palette_cube(palette=version.brief.palette, pull=pull)
    return finishing_create(
        version=version,
        op="lut",
        params={"strength": strength, "source": "brief_palette"},
        lut_file=cube,
        created_by=created_by,
    )


def upscale_factor_pick(*, source: tuple[int, int], target: tuple[int, int], available: list[int]) -> int | None:
    """The studio's rule: no upscale when the source already covers the slot; else the smallest factor that
    covers it, or the largest there is when none does."""
    needed = max(target[0] / source[0], target[1] / source[1])
    if needed <= 1.0:
        return None
    covering = sorted(factor for factor in available if factor >= needed)
    return covering[0] if covering else max(available)


def upscale_create(
    *,
    version: Version,
    target_width: int,
    target_height: int,
    upscaler: ModelWeights | None = None,
    tile: int = DEFAULT_TILE,
    tile_overlap: int = DEFAULT_TILE_OVERLAP,
    created_by=None,
) -> Derivation:
    """Upscale only for a slot larger than the version, by the smallest registered factor that covers it."""
    if target_width < 1 or target_height < 1:
        raise ApplicationError("the target slot needs a positive width and height")
    candidates = (
        [upscaler]
        if upscaler is not None
        else list(
            ModelWeights.objects.filter(kind=ModelWeights.Kind.UPSCALER).filter(~Q(scale=None)).order_by("scale", "pk")
        )
    )
    if not candidates:
        raise ApplicationError(
            "no upscaler is registered (manage.py register_model --kind upscaler, or make_tiny_models)"
        )
    factor = upscale_factor_pick(
        source=(version.width, version.height),
        target=(target_width, target_height),
        available=sorted({weights.scale for weights in candidates}),
    )
    if factor is None:
        raise ApplicationError(
            f"no upscale needed: version {version.pk} is {version.width}x{version.height}, "
            f"the slot {target_width}x{target_height}",
            extra={"code": "upscale_not_needed"},
        )
    chosen = next(weights for weights in candidates if weights.scale == factor)
    return finishing_create(
        version=version,
        op="upscale",
        upscaler=chosen,
        created_by=created_by,
        params={
            "scale": factor,
            "tile": tile,
            "tile_overlap": tile_overlap,
            "target_width": target_width,
            "target_height": target_height,
        },
    )
