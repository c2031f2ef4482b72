"""Queue finishing operations on a version: each is one derivation the worker runs (generation/finishing.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from assets.errors import ApplicationError
from assets.models import Derivation, DerivedFile, ModelWeights, Phase, Reference, Used, Version
from assets.operations import operation_get, operation_names
from assets.services.blobs import BlobsStored, blob_staged
from assets.services.derivations import UsedInput, derivation_create
from assets.services.queues import Queue
from assets.services.runs import run_enqueue
from generation import finishing_ops
from generation.operations.upscale import DEFAULT_TILE, DEFAULT_TILE_OVERLAP
from generation.vectorise import VECTORISE_DEFAULTS

# The input roles registered weights fill; the others are images, files and prompts.
MODEL_ROLES = frozenset(
    {
        Used.Role.BASE_MODEL,
        Used.Role.LORA,
        Used.Role.VAE,
        Used.Role.CONTROLNET,
        Used.Role.UPSCALER,
        Used.Role.IP_ADAPTER,
        Used.Role.IMAGE_ENCODER,
        Used.Role.MATTING,
    }
)


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
    files: dict | None = None,
    models: dict[str, ModelWeights] | None = None,
    layers: list[Layer] = (),
    created_by=None,
) -> Derivation:
    """Validate and record one queued finishing derivation on `version`; the worker runs it after commit.

    `files` are what the operation declares by role (a .cube, a font, an ICC profile), `models` the weights it
    reads by role (an upscaler). Files are checked before anything is written (a malformed one is refused with
    the reason), then stored content-addressed and recorded as used.
    """
    spec = operation_get(op)
    if spec.render is None or spec.phase != Phase.FINISHING:
        names = operation_names(rerun="image", phase=Phase.FINISHING)
        raise ApplicationError(f"{op!r} is not a finishing operation; choose one of {', '.join(names)}")
    _kept_check(version)
    if not isinstance(params, dict):
        raise ApplicationError("parameters must be an object")
    recorded = sorted(side.param for side in spec.files if side.param in params)
    if recorded:
        raise ApplicationError(
            f"{', '.join(recorded)} is recorded from the file itself; give the file, not its hash",
            extra={"params": recorded},
        )
    files, models = dict(files or {}), dict(models or {})
    _inputs_known_check(spec, files=files, models=models, layers=layers)
    params = spec.prepare(version=version, params=dict(params), models=models) if spec.prepare else dict(params)
    side = _side_files_read(spec, files)
    masks = _layer_masks_read(layers, version=version)
    with BlobsStored() as stored, transaction.atomic():
        inputs = [UsedInput(role=Used.Role.PARENT, target=version)]
        inputs += [UsedInput(role=role, target=weights) for role, weights in models.items()]
        for declared, data in side:
            blob = stored.store_bytes(data=data, media_type=declared.media_type)
            inputs.append(UsedInput(role=declared.role, target=blob))
            if declared.param:
                params[declared.param] = blob.sha256
        for position, data in masks:
            inputs.append(
                UsedInput(
                    role=Used.Role.MASK, target=stored.store_bytes(data=data, media_type="image/png"), position=position
                )
            )
        inputs += [UsedInput(role=Used.Role.LAYER, target=layer.source, position=i) for i, layer in enumerate(layers)]
        inputs += [
            UsedInput(role=Used.Role.MASK, target=layer.mask.blob, position=i)
            for i, layer in enumerate(layers)
            if isinstance(layer.mask, DerivedFile)
        ]
        return _finishing_record(version=version, op=op, params=params, inputs=inputs, created_by=created_by)


def _inputs_known_check(spec, *, files: dict, models: dict, layers) -> None:
    """Refuse what the operation does not read, and ask for what it needs, before anything is read or written."""
    declared = {side.role for side in spec.files}
    unknown = sorted(set(files) - declared) + sorted(set(models) - (spec.roles & MODEL_ROLES))
    if unknown:
        raise ApplicationError(f"{spec.name} does not read {', '.join(unknown)}", extra={"unknown": unknown})
    if not all(isinstance(weights, ModelWeights) for weights in models.values()):
        raise ApplicationError("a model input is registered weights")
    missing = [side for side in spec.files if side.required and files.get(side.role) is None]
    if missing:
        raise ApplicationError(
            missing[0].missing or f"{spec.name} needs a {missing[0].role} file",
            extra={"code": "file_missing", "role": missing[0].role},
        )
    if Used.Role.LAYER in spec.roles and not layers:
        raise ApplicationError(f"a {spec.name} needs at least one layer")
    if layers and Used.Role.LAYER not in spec.roles:
        raise ApplicationError(f"{spec.name} takes no layers")


def _side_files_read(spec, files: dict) -> list[tuple]:
    side = []
    for declared in spec.files:
        if files.get(declared.role) is not None:
            data = _read(files[declared.role])
            declared.check(data)
            side.append((declared, data))
    return side


def _layer_masks_read(layers, *, version: Version) -> list[tuple[int, bytes]]:
    masks = []
    for position, layer in enumerate(layers):
        if isinstance(layer.mask, DerivedFile):
            _recorded_mask_check(layer.mask)
            mask_client_check(mask=layer.mask, brief=version.brief)
        elif layer.mask is not None:
            data = _read(layer.mask)
            _mask_check(data)
            masks.append((position, data))
    return masks


def _recorded_mask_check(mask: DerivedFile) -> None:
    if mask.kind != DerivedFile.Kind.MASK:
        raise ApplicationError(
            f"file {mask.pk} is a {mask.get_kind_display()}, not a mask", extra={"code": "not_a_mask"}
        )


def mask_client_check(*, mask: DerivedFile, brief) -> None:
    """A recorded mask is used through its bytes, which name no client: the version it masks does."""
    if mask.source.brief.campaign.client_id != brief.campaign.client_id:
        raise ApplicationError(
            f"mask {mask.pk} belongs to another client and cannot be used in this brief",
            extra={"code": "other_client", "id": mask.pk},
        )


def _kept_check(version: Version) -> None:
    if version.status == Version.Status.REJECTED:
        raise ApplicationError(f"version {version.pk} was rejected; finish a kept version")


def _finishing_record(
    *, version: Version, op: str, params: dict, inputs: list[UsedInput], created_by=None
) -> Derivation:
    """Record one queued worker op on `version` (finishing, a matte, a mask refine, a vectorise) and enqueue it after
    commit."""
    with transaction.atomic():
        derivation = derivation_create(
            brief=version.brief, op=op, phase=Phase.FINISHING, params=params, inputs=inputs, created_by=created_by
        )
        queue = Queue.GPU if operation_get(op).queue == "gpu" else Queue.CPU
        run_enqueue(
            task="generation.tasks.run_finishing", model=Derivation, pk=derivation.pk, kind="finishing", queue=queue
        )
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
        files={"lut": cube},
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
        models={"upscaler": chosen},
        created_by=created_by,
        params={
            "scale": factor,
            "tile": tile,
            "tile_overlap": tile_overlap,
            "target_width": target_width,
            "target_height": target_height,
        },
    )
