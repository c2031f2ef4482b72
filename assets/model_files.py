"""What a model file or diffusers folder is, read without loading it: how its files hash, its format, and the
architecture, upscale factor or kind its contents show."""

from __future__ import annotations

import hashlib
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError

from assets.errors import ApplicationError
from assets.gguf_files import gguf_header
from assets.models import ModelWeights
from assets.models.validators import validate_relative_file_name
from assets.services.blobs import StagedFile

SINGLE_FILE_FORMATS = {
    ".safetensors": ModelWeights.Format.SAFETENSORS,
    ".onnx": ModelWeights.Format.ONNX,
    ".gguf": ModelWeights.Format.GGUF,
    ".bin": ModelWeights.Format.CHECKPOINT,
    ".ckpt": ModelWeights.Format.CHECKPOINT,
    ".pt": ModelWeights.Format.CHECKPOINT,
    ".pth": ModelWeights.Format.CHECKPOINT,
}
MAX_SAFETENSORS_HEADER = 100 * 1024 * 1024
# FLUX.1's transformer blocks as Black Forest Labs' checkpoints name them (`double_blocks.0.`, `single_blocks.0.`,
# bare or under `model.diffusion_model.`), as kohya's LoRAs do (`lora_unet_double_blocks_0_`) and as diffusers does
# (`single_transformer_blocks.0.`, bare or under `transformer.`). diffusers' double-stream blocks alone do not tell:
# SD3 names its joint blocks `transformer_blocks.N.attn.add_q_proj` too; only FLUX has single-stream blocks.
_FLUX_BLOCKS = re.compile(r"(?:^|[._])(?:double_blocks|single_blocks|single_transformer_blocks)[._]\d+[._]", re.M)
# SD3's joint blocks as Stability's checkpoints (`model.diffusion_model.joint_blocks.0.`) and kohya's LoRAs
# (`lora_unet_joint_blocks_0_`) name them; Qwen-Image's blocks keep an image and a text MLP and modulation each
# (`transformer_blocks.0.img_mlp.`), in diffusers' names, ComfyUI's and LoRAs'. BFL's FLUX blocks have `img_mlp` too,
# under `double_blocks`: FLUX is read first.
_SD3_BLOCKS = re.compile(r"(?:^|[._])joint_blocks[._]\d+[._]", re.M)
_QWEN_IMAGE_BLOCKS = re.compile(r"(?:^|[._])transformer_blocks[._]\d+[._](?:img|txt)_(?:mlp|mod)[._]", re.M)


@dataclass(frozen=True, kw_only=True)
class ModelFiles:
    """What reading a model's files found: the files to store, how they hash, and what they say the model is."""

    staged: list[StagedFile]
    files: dict[str, str]  # {relative path: sha256} of a folder's files, or of a single file's config folder
    sha256: str
    blake3: str
    format: str
    detected: str | None
    header: dict
    metadata: dict  # a safetensors file's `__metadata__` as found (trainers write their training story there)


def model_files_read(*, path: Path, config: Path | None = None) -> ModelFiles:
    """Hash a diffusers folder or a single model file (with its config folder, if given) and read what it is."""
    return _folder_read(path) if path.is_dir() else _file_read(path, config=config)


def _folder_read(path: Path) -> ModelFiles:
    files = _folder_files(path)
    staged = [StagedFile(path=file, sha256=_file_sha256(file), size=file.stat().st_size) for file in files]
    manifest = {str(file.relative_to(path)): item.sha256 for file, item in zip(files, staged, strict=True)}
    return ModelFiles(
        staged=staged,
        files=manifest,
        sha256=hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest(),
        blake3="",
        format=ModelWeights.Format.DIFFUSERS,
        detected=_architecture_from_folder(path),
        header={},
        metadata={},
    )


def _file_read(path: Path, *, config: Path | None) -> ModelFiles:
    weights_format = SINGLE_FILE_FORMATS.get(path.suffix.lower())
    if weights_format is None:
        raise ApplicationError(
            f"{path.name}: unsupported model file type; expected one of {', '.join(SINGLE_FILE_FORMATS)}"
        )
    header, metadata = _headers_read(path=path, weights_format=weights_format)
    staged = [StagedFile(path=path, sha256=_file_sha256(path), size=path.stat().st_size)]
    sha256, blake3_hex = staged[0].sha256, _file_blake3(path)
    detected = _architecture_from_keys(list(header))
    manifest = {}
    if config is not None:
        config_staged, manifest = _config_read(Path(config))
        staged += config_staged
    return ModelFiles(
        staged=staged,
        files=manifest,
        sha256=sha256,
        blake3=blake3_hex,
        format=weights_format,
        detected=detected,
        header=header,
        metadata=metadata,
    )


def _config_read(config: Path) -> tuple[list[StagedFile], dict[str, str]]:
    """A single-file checkpoint's architecture config folder, stored under config/ beside it."""
    if not (config / "model_index.json").exists():
        raise ApplicationError(f"{config} is not a diffusers config folder (no model_index.json)")
    files = _folder_files(config)
    staged = [StagedFile(path=file, sha256=_file_sha256(file), size=file.stat().st_size) for file in files]
    manifest = {f"config/{file.relative_to(config)}": item.sha256 for file, item in zip(files, staged, strict=True)}
    return staged, manifest


def _folder_files(folder: Path) -> list[Path]:
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    if not files:
        raise ApplicationError(f"{folder} holds no files")
    for file in files:
        try:
            validate_relative_file_name(file.relative_to(folder).as_posix())
        except ValidationError as exc:
            # The worker lays the folder out again by these names, and a pack carries them to other installs.
            raise ApplicationError(
                f"{folder}: {exc.messages[0]}; rename that file to register the folder",
                extra={"code": "unsafe_file_name"},
            ) from exc
    if not (folder / "model_index.json").exists() and not (folder / "config.json").exists():
        raise ApplicationError(f"{folder} is not a diffusers folder (no model_index.json or config.json)")
    return files


def _file_blake3(path: Path) -> str:
    """InvokeAI names a single-file model by the BLAKE3 of its bytes: kept too, so its images match by hash."""
    from blake3 import blake3

    digest = blake3(max_threads=blake3.AUTO)
    digest.update_mmap(path)
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def safetensors_header(*, path: Path) -> tuple[dict[str, dict], dict]:
    """Tensor names with their dtype and shape from a safetensors header, and its `__metadata__` object (as found: the
    format wants strings, a file from outside may hold anything); refuses files that are not safetensors."""
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise ApplicationError(f"{path.name} is not a safetensors file (shorter than its header)")
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_SAFETENSORS_HEADER:
            raise ApplicationError(f"{path.name} is not a safetensors file (header length {length})")
        try:
            header = json.loads(handle.read(length))
        # RecursionError: JSON nested deeper than the parser's stack, which no writer of model files makes.
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ApplicationError(f"{path.name} is not a safetensors file (unreadable header)") from exc
    if not isinstance(header, dict):
        raise ApplicationError(f"{path.name} is not a safetensors file (header is not an object)")
    metadata = header.get("__metadata__")
    tensors = {key: value for key, value in header.items() if key != "__metadata__" and isinstance(value, dict)}
    return tensors, metadata if isinstance(metadata, dict) else {}


def _headers_read(*, path: Path, weights_format: str) -> tuple[dict[str, dict], dict]:
    """The tensor names and shapes the architecture is told from, and the metadata a safetensors file carries."""
    if weights_format == ModelWeights.Format.SAFETENSORS:
        return safetensors_header(path=path)
    if weights_format == ModelWeights.Format.GGUF:
        return gguf_header(path=path), {}
    return {}, {}


def upscale_factor(*, shapes: dict[str, list[int]]) -> int | None:
    """The fixed factor of a Real-ESRGAN file, read from tensor shapes (no torch needed)."""
    if "conv_first.weight" in shapes:
        # BasicSR RRDBNet folds pixels into channels for x2 (12 in) and x1 (48 in); x4 takes RGB.
        return {3: 4, 12: 2, 48: 1}.get(shapes["conv_first.weight"][1])
    if any(key.startswith("model.1.sub.") for key in shapes):
        # Original ESRGAN layout: after the trunk, one upconv per 2x, then two final convs.
        convs = {
            int(key.split(".")[1])
            for key, shape in shapes.items()
            if key.startswith("model.") and key.count(".") == 2 and key.endswith(".weight") and len(shape) == 4
        }
        stages = len([index for index in convs if index > 1]) - 2
        return 2**stages if stages >= 0 else None
    bodies = [
        (int(key.split(".")[1]), shape)
        for key, shape in shapes.items()
        if key.startswith("body.") and key.endswith(".weight") and len(shape) == 4
    ]
    if bodies:
        # SRVGGNetCompact: the last conv emits RGB x factor^2 channels for the pixel shuffle.
        out_channels = max(bodies)[1][0]
        factor = round((out_channels / 3) ** 0.5)
        return factor if factor * factor * 3 == out_channels else None
    return None


def _architecture_from_keys(keys: list[str]) -> str | None:
    joined = "\n".join(keys)
    # First: BFL checkpoints share SD's `model.diffusion_model.` prefix, kohya FLUX LoRAs its `lora_unet_`.
    if _FLUX_BLOCKS.search(joined):
        return ModelWeights.Architecture.FLUX1
    # Before SD: Stability's SD3 checkpoints share its `model.diffusion_model.` prefix too. A Qwen-Image-Edit file has
    # Qwen-Image's keys and shapes: it registers as Qwen-Image unless told.
    if _SD3_BLOCKS.search(joined):
        return ModelWeights.Architecture.SD35
    if _QWEN_IMAGE_BLOCKS.search(joined):
        return ModelWeights.Architecture.QWEN_IMAGE
    if (
        "conditioner.embedders.1." in joined
        or "add_embedding." in joined
        or "lora_te2_" in joined
        or "text_encoder_2." in joined
    ):
        return ModelWeights.Architecture.SDXL
    if "model.diffusion_model." in joined or "lora_unet_" in joined or "unet." in joined or "down_blocks." in joined:
        return ModelWeights.Architecture.SD15
    if (
        "body.0.rdb1." in joined
        or "RRDB_trunk." in joined
        or "conv_first." in joined
        or "model.1.sub.0.RDB1." in joined
    ):
        return ModelWeights.Architecture.ESRGAN
    if "body.0.weight" in joined:
        return ModelWeights.Architecture.COMPACT
    return None


def _architecture_from_folder(folder: Path) -> str | None:
    for config_name in ("model_index.json", "config.json"):
        config_path = folder / config_name
        if config_path.exists():
            try:
                config = json.loads(config_path.read_text())
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise ApplicationError(f"{config_path} is not valid JSON") from exc
            class_name = config.get("_class_name", "")
            if class_name.startswith("Flux2"):
                return _flux2_architecture(config)
            if class_name in _FLUX_VARIANTS:
                return _FLUX_VARIANTS[class_name]
            named = _named_architecture(config)
            if named is not None:
                return named
            if _names_flux(config):
                return ModelWeights.Architecture.FLUX1
            if "XL" in class_name or config.get("addition_embed_type") == "text_time":
                return ModelWeights.Architecture.SDXL
            return ModelWeights.Architecture.SD15
    return None


# FLUX.1 models with pipelines of their own: they share [dev]'s transformer class (and Kontext its shapes), so only the
# pipeline their model_index.json names tells them from FLUX.1 itself.
_FLUX_VARIANTS = {
    "FluxKontextPipeline": ModelWeights.Architecture.FLUX1_KONTEXT,
    "FluxFillPipeline": ModelWeights.Architecture.FLUX1_FILL,
}


# FLUX.2's transformer class serves [dev] (reading Mistral Small 3.1's states, three layers of 5120 stacked) and
# [klein] (Qwen3's, three layers of 2560 or 4096): a folder of the transformer alone is told by that width.
_FLUX2_DEV_TEXT_WIDTH = 15360


def _flux2_architecture(config: dict) -> str:
    """A FLUX.2 model_index.json or transformer config.json: [klein], or FLUX.2 [dev], which Seed does not run (it
    would otherwise read as FLUX.1, whose names FLUX.2's begin with)."""
    class_name = config["_class_name"]
    if class_name.startswith("Flux2Klein") or (
        class_name == "Flux2Transformer2DModel" and config.get("joint_attention_dim") != _FLUX2_DEV_TEXT_WIDTH
    ):
        return ModelWeights.Architecture.FLUX2_KLEIN
    return ModelWeights.Architecture.OTHER


# Pipelines and transformers that name their architecture outright. SD 3 Medium's folders name the same classes as
# SD 3.5's and load the same way; Qwen-Image-Edit is told from Qwen-Image by its pipeline only (same transformer).
_NAMED_ARCHITECTURES = {
    "StableDiffusion3Pipeline": ModelWeights.Architecture.SD35,
    "SD3Transformer2DModel": ModelWeights.Architecture.SD35,
    "QwenImagePipeline": ModelWeights.Architecture.QWEN_IMAGE,
    "QwenImageTransformer2DModel": ModelWeights.Architecture.QWEN_IMAGE,
    "QwenImageEditPipeline": ModelWeights.Architecture.QWEN_IMAGE_EDIT,
    "QwenImageEditPlusPipeline": ModelWeights.Architecture.QWEN_IMAGE_EDIT,
}


def _named_architecture(config: dict) -> str | None:
    """The architecture a model_index.json's pipeline class or transformer class, or a model folder's config.json
    class, names (StableDiffusion3Img2ImgPipeline by its SD3Transformer2DModel)."""
    transformer = config.get("transformer")
    transformer_class = transformer[-1] if isinstance(transformer, list) and transformer else None
    return _NAMED_ARCHITECTURES.get(config.get("_class_name", "")) or _NAMED_ARCHITECTURES.get(transformer_class)


def _names_flux(config: dict) -> bool:
    """A FLUX pipeline's model_index.json (FluxPipeline, FluxImg2ImgPipeline … or any pipeline whose transformer is
    FLUX's), or the config.json of a FLUX model folder (FluxTransformer2DModel, FluxControlNetModel)."""
    transformer = config.get("transformer")
    return str(config.get("_class_name", "")).startswith("Flux") or (
        isinstance(transformer, list) and "FluxTransformer2DModel" in transformer
    )


# The width of the text embeddings an IP-Adapter's image tokens join, per base architecture.
_REDUX_KEYS = ("redux_up.weight", "redux_down.weight")
_CROSS_ATTENTION_WIDTHS = {768: ModelWeights.Architecture.SD15, 2048: ModelWeights.Architecture.SDXL}


def ip_adapter_check(*, path: Path, header: dict) -> str | None:
    """An IP-Adapter as released: `image_proj.*` and `ip_adapter.*` weights, its architecture from their width; or
    Black Forest Labs' Redux (`redux_up`, `redux_down`), FLUX.1's."""
    if path.is_dir() or not header:
        if path.suffix.lower() in (".bin", ".pt", ".pth", ".ckpt"):
            return None  # a pickled release; its keys are read when it loads
        raise ApplicationError(
            f"{path.name} is not an IP-Adapter file (a .safetensors or .bin with image_proj and ip_adapter weights)",
            extra={"code": "not_ip_adapter"},
        )
    if all(key in header for key in _REDUX_KEYS):
        return ModelWeights.Architecture.FLUX1  # FLUX.1 Redux, FLUX's image prompt adapter
    if not any(key.startswith("image_proj.") for key in header) or not any(
        key.startswith("ip_adapter.") for key in header
    ):
        raise ApplicationError(
            f"{path.name} is not an IP-Adapter file: it has no image_proj and ip_adapter weights",
            extra={"code": "not_ip_adapter"},
        )
    shape = header.get("ip_adapter.1.to_k_ip.weight", {}).get("shape") or [0, 0]
    return _CROSS_ATTENTION_WIDTHS.get(shape[-1])


def matting_check(*, path: Path) -> str:
    """A matting model is one ONNX graph taking one image and giving a mask; read with onnx (no runtime needed)."""
    if path.is_dir() or path.suffix.lower() != ".onnx":
        raise ApplicationError(
            f"{path.name}: a matting model is one .onnx file (U²-Net, IS-Net or BiRefNet exports)",
            extra={"code": "not_onnx"},
        )
    import onnx

    try:
        graph = onnx.load(str(path), load_external_data=False).graph
    except Exception as exc:  # onnx raises DecodeError, ValueError or its own checker errors for a bad file
        raise ApplicationError(
            f"{path.name} is not a readable ONNX model: {str(exc)[:200]}", extra={"code": "not_onnx"}
        ) from exc
    initialised = {item.name for item in graph.initializer}
    inputs = [item for item in graph.input if item.name not in initialised]
    if len(inputs) != 1 or len(inputs[0].type.tensor_type.shape.dim) != 4:
        raise ApplicationError(
            f"{path.name} must take one image tensor (N, 3, H, W); it takes "
            f"{', '.join(item.name for item in inputs) or 'nothing'}",
            extra={"code": "matting_inputs"},
        )
    return ModelWeights.Architecture.OTHER
