"""Base models whose single file is the transformer alone: FLUX.1 as Black Forest Labs and its fine-tuners release it
(.safetensors) and as city96 quantises it (GGUF). The transformer is read from the file, the rest of the pipeline from
the diffusers folder registered beside it as its config. Also what such a load, and model CPU offload, add to a run's
environment fingerprint.

Worker-only: imports torch and diffusers.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from assets.gguf_files import gguf_header, gguf_tensor_types
from assets.models import ModelWeights

# The transformer class of each architecture whose single files hold the transformer alone: FLUX.1 Kontext and Fill
# are FLUX.1's transformer class too, with their own weights (and Fill its own input width, read from its config).
TRANSFORMER_CLASSES = {
    ModelWeights.Architecture.FLUX1: "FluxTransformer2DModel",
    ModelWeights.Architecture.FLUX1_KONTEXT: "FluxTransformer2DModel",
    ModelWeights.Architecture.FLUX1_FILL: "FluxTransformer2DModel",
}

# GGUF tensor types by sha256: the file never changes under its hash, and each run's fingerprint names them.
_TENSOR_TYPES: dict[str, dict[str, int]] = {}


def transformer_file_load(*, weights: ModelWeights, path: Path, config: Path, dtype):
    """The transformer of a single file, built from the config folder's transformer/config.json; a GGUF file's
    weights stay quantised in memory and are dequantised to `dtype` layer by layer as they run."""
    import diffusers

    transformer_class = getattr(diffusers, TRANSFORMER_CLASSES[weights.architecture])
    quantised = {}
    if weights.format == ModelWeights.Format.GGUF:
        quantised["quantization_config"] = diffusers.GGUFQuantizationConfig(compute_dtype=dtype)
    return transformer_class.from_single_file(
        str(path), config=str(config / "transformer"), dtype=dtype, local_files_only=True, **quantised
    )


def cpu_offloaded(*, device: str) -> bool:
    """Whether loaded bases wait in CPU memory and go to the GPU a model at a time (on CPU there is nothing to move)."""
    return settings.SEED_CPU_OFFLOAD and device.startswith("cuda")


def base_environment(*, weights: ModelWeights, device: str) -> dict:
    """What the loader did to a base beyond reading its bytes, for the fingerprint of a run on it: the quantisation
    it ran with and model CPU offload. Empty for a base loaded as stored, so runs on one record nothing new."""
    from generation.architectures import model_dtype

    environment = {}
    dtype = model_dtype(device=device, default="", architecture=weights.architecture)
    if dtype:
        environment["dtype"] = dtype  # the architecture's own half precision on a GPU, not the placement's
    if weights.format == ModelWeights.Format.GGUF:
        environment["quantisation"] = {
            "format": "gguf",
            "tensor_types": _tensor_types(weights=weights),
            # diffusers dequantises in torch, or with llama.cpp's CUDA kernels where an operator allows them: the
            # two round differently.
            "cuda_kernels": device.startswith("cuda") and _gguf_cuda_kernels(),
        }
    if cpu_offloaded(device=device):
        environment["cpu_offload"] = True
    return environment


def _tensor_types(*, weights: ModelWeights) -> dict[str, int]:
    from generation.loader import weights_path

    if weights.sha256 not in _TENSOR_TYPES:
        _TENSOR_TYPES[weights.sha256] = gguf_tensor_types(header=gguf_header(path=weights_path(weights=weights)))
    return _TENSOR_TYPES[weights.sha256]


def _gguf_cuda_kernels() -> bool:
    from diffusers.quantizers.gguf.utils import can_use_cuda_kernels
    from diffusers.utils import is_kernels_available

    return bool(can_use_cuda_kernels and is_kernels_available())
