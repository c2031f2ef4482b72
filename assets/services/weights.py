from __future__ import annotations

from pathlib import Path

from django.db import IntegrityError, transaction

from assets.errors import ApplicationError
from assets.gguf_files import gguf_notes
from assets.lora_story import lora_story_read
from assets.model_files import ModelFiles, ip_adapter_check, matting_check, model_files_read, upscale_factor
from assets.models import ModelWeights, Used, Version
from assets.services.blobs import BlobsStored
from assets.services.validation import instance_validate


def model_weights_register(
    *,
    path: Path,
    kind: str,
    name: str,
    architecture: str | None = None,
    source_name: str = "",
    source_version: str = "",
    notes: str = "",
    config: Path | None = None,
    scale: int | None = None,
) -> tuple[ModelWeights, bool]:
    """Hash a local file or diffusers folder, store it content-addressed and register it.

    Idempotent by sha256: registering the same bytes again returns the existing row (and False).
    A folder's sha256 is the hash of its manifest of {relative path: file sha256}. A single-file
    checkpoint may bring its architecture's config folder (`config`), stored beside it so loading
    never asks a hub; its sha256 stays the file's own, as other tools show it. An upscaler's factor
    is read from a safetensors file's tensor shapes; other formats must name it (`scale`). A LoRA keeps the training
    story its header tells (kohya's, ai-toolkit's and modelspec's keys).
    """
    path = Path(path)
    if kind not in ModelWeights.Kind.values:
        raise ApplicationError(f"unknown kind {kind!r}; choose one of {', '.join(ModelWeights.Kind.values)}")
    if not path.exists():
        raise ApplicationError(f"{path} does not exist")
    read = model_files_read(path=path, config=config)
    detected = _kind_check(kind=kind, path=path, read=read)
    _transformer_file_check(kind=kind, architecture=architecture, path=path, read=read, config=config)

    existing = ModelWeights.objects.filter(sha256=read.sha256).first()
    if existing is not None:
        return existing, False

    architecture = architecture or detected
    if read.format == ModelWeights.Format.GGUF:
        # The tensor types a GGUF file is quantised to (Q8_0, Q4_K …) are what people choose it by.
        notes = "\n".join(line for line in (notes, gguf_notes(header=read.header)) if line)
    if architecture is None:
        raise ApplicationError(
            f"could not tell the architecture of {path.name}; pass one of {', '.join(ModelWeights.Architecture.values)}"
        )
    return _weights_store(
        read=read,
        kind=kind,
        architecture=architecture,
        name=name,
        source_name=source_name,
        source_version=source_version,
        notes=notes,
        scale=_scale_check(kind=kind, scale=scale, path=path, header=read.header),
        training_story=lora_story_read(metadata=read.metadata) if kind == ModelWeights.Kind.LORA else {},
    )


def _kind_check(*, kind: str, path: Path, read: ModelFiles) -> str | None:
    """The files are a model of `kind`; returns the architecture they are for, where the kind decides it."""
    if read.format == ModelWeights.Format.ONNX and kind != ModelWeights.Kind.MATTING:
        raise ApplicationError(
            f"{path.name} is an ONNX model: Seed runs ONNX files as matting models only (--kind matting)",
            extra={"code": "onnx_kind"},
        )
    if kind == ModelWeights.Kind.IP_ADAPTER:
        return ip_adapter_check(path=path, header=read.header)
    if kind == ModelWeights.Kind.IMAGE_ENCODER:
        return ModelWeights.Architecture.OTHER
    if kind == ModelWeights.Kind.MATTING:
        return matting_check(path=path)
    return read.detected


# What a file of FLUX.1's transformer may be registered as: Kontext and Fill have its keys (told apart by a person).
_FLUX_TRANSFORMERS = (
    ModelWeights.Architecture.FLUX1,
    ModelWeights.Architecture.FLUX1_KONTEXT,
    ModelWeights.Architecture.FLUX1_FILL,
)


def _transformer_file_check(
    *, kind: str, architecture: str | None, path: Path, read: ModelFiles, config: Path | None
) -> None:
    """A GGUF file is a FLUX.1 transformer (the one kind of GGUF Seed loads), and a FLUX.1 transformer file's config
    folder holds the rest of the pipeline."""
    flux = ModelWeights.Architecture.FLUX1
    if read.format == ModelWeights.Format.GGUF and (
        kind != ModelWeights.Kind.BASE or read.detected != flux or architecture not in (None, *_FLUX_TRANSFORMERS)
    ):
        found = "a FLUX.1 transformer" if read.detected == flux else "not a FLUX.1 transformer (no FLUX blocks)"
        raise ApplicationError(
            f"{path.name} is {found}: Seed loads GGUF files as FLUX.1 transformers only, registered as base models "
            "of a FLUX.1 architecture with the model's diffusers folder as their config",
            extra={"code": "unsupported_gguf", "detected": read.detected},
        )
    if (
        config is not None
        and kind == ModelWeights.Kind.BASE
        and read.detected == flux
        and "config/transformer/config.json" not in read.files
    ):
        raise ApplicationError(
            f"{config} cannot be the config of {path.name}: a FLUX.1 file holds the transformer alone, so its config "
            "is the model's whole diffusers folder (transformer/config.json, text encoders, tokenizers, VAE and "
            "scheduler)",
            extra={"code": "incomplete_config"},
        )


def _scale_check(*, kind: str, scale: int | None, path: Path, header: dict) -> int | None:
    """An upscaler's factor, read from its tensors where they tell it and agreeing with `scale`; none for others."""
    if kind != ModelWeights.Kind.UPSCALER:
        if scale is not None:
            raise ApplicationError("only upscalers have a scale")
        return scale
    detected_scale = upscale_factor(shapes={key: value.get("shape", []) for key, value in header.items()})
    if scale is not None and detected_scale is not None and scale != detected_scale:
        raise ApplicationError(f"{path.name} upscales {detected_scale}x, not {scale}x")
    scale = scale or detected_scale
    if scale not in (2, 4):
        raise ApplicationError(
            f"could not tell the upscale factor of {path.name} (2 or 4); pass scale",
            extra={"detected": detected_scale},
        )
    return scale


def _weights_store(
    *,
    read: ModelFiles,
    kind: str,
    architecture: str,
    name: str,
    source_name: str,
    source_version: str,
    notes: str,
    scale: int | None,
    training_story: dict,
) -> tuple[ModelWeights, bool]:
    """Store the files and make the row; bytes another registration stored first give that row (and False)."""
    stored = BlobsStored()
    try:
        with transaction.atomic():
            blobs = [stored.store(staged=item, media_type="application/octet-stream") for item in read.staged]
            weights = ModelWeights(
                kind=kind,
                architecture=architecture,
                name=name.strip(),
                source_name=source_name,
                source_version=source_version,
                sha256=read.sha256,
                size=sum(item.size for item in read.staged),
                format=read.format,
                blob=None if read.format == ModelWeights.Format.DIFFUSERS else blobs[0],
                files=read.files,
                notes=notes,
                scale=scale,
                blake3=read.blake3,
                training_story=training_story,
            )
            instance_validate(instance=weights, exclude=["sha256"])
            weights.save()
    except IntegrityError:
        stored.discard()
        return ModelWeights.objects.get(sha256=read.sha256), False
    except BaseException:
        stored.discard()
        raise
    return weights, True


def model_weights_delete(*, weights: ModelWeights) -> None:
    """Weights registered by mistake may go; weights any derivation used are part of the lineage."""
    with transaction.atomic():
        weights = ModelWeights.objects.select_for_update().get(pk=weights.pk)
        uses = Used.objects.filter(model_weights=weights)
        if uses.exists():
            versions = Version.objects.filter(generated_by__derivation__used__model_weights=weights).count()
            raise ApplicationError(
                f"{weights.name} ({weights.sha256}) was used by {uses.count()} derivation(s) "
                f"making {versions} version(s) and cannot be deleted: the lineage depends on it",
                extra={"sha256": weights.sha256, "derivations": uses.count(), "versions": versions},
            )
        weights.delete()
