from __future__ import annotations

from pathlib import Path

from assets.models import ModelWeights
from assets.services.weights import model_weights_register

TINY_NAMES = {
    "base": ("Tiny SD 1.5 (random weights)", ModelWeights.Kind.BASE),
    "base_single": ("Tiny SD 1.5, single-file checkpoint (random weights)", ModelWeights.Kind.BASE),
    "base_xl": ("Tiny SDXL (random weights)", ModelWeights.Kind.BASE),
    "base_xl_single": ("Tiny SDXL, single-file checkpoint (random weights)", ModelWeights.Kind.BASE),
    "flux": ("Tiny FLUX.1 (random weights)", ModelWeights.Kind.BASE),
    "lora_flux": ("FluxPortraitTrainer", ModelWeights.Kind.LORA),
    "controlnet_flux": ("Tiny FLUX.1 canny ControlNet (random weights)", ModelWeights.Kind.CONTROLNET),
    "redux_flux": ("Tiny FLUX.1 Redux (random weights)", ModelWeights.Kind.IP_ADAPTER),
    "siglip": ("Tiny SigLIP image encoder (random weights)", ModelWeights.Kind.IMAGE_ENCODER),
    "flux_kontext": ("Tiny FLUX.1 Kontext (random weights)", ModelWeights.Kind.BASE),
    "flux_fill": ("Tiny FLUX.1 Fill (random weights)", ModelWeights.Kind.BASE),
    "sd35": ("Tiny SD 3.5 (random weights)", ModelWeights.Kind.BASE),
    "lora_sd35": ("Sd35InkStyle", ModelWeights.Kind.LORA),
    "qwen_image": ("Tiny Qwen-Image (random weights)", ModelWeights.Kind.BASE),
    "flux2_klein": ("Tiny FLUX.2 [klein] (random weights)", ModelWeights.Kind.BASE),
    "qwen_image_edit": ("Tiny Qwen-Image-Edit (random weights)", ModelWeights.Kind.BASE),
    "lora_a": ("Tiny style A (random LoRA)", ModelWeights.Kind.LORA),
    "lora_b": ("Tiny style B (random LoRA)", ModelWeights.Kind.LORA),
    "controlnet": ("Tiny ControlNet (random weights)", ModelWeights.Kind.CONTROLNET),
    "vae": ("Tiny VAE (random weights)", ModelWeights.Kind.VAE),
    "ip_adapter": ("Tiny IP-Adapter (random weights)", ModelWeights.Kind.IP_ADAPTER),
    "image_encoder": ("Tiny CLIP image encoder (random weights)", ModelWeights.Kind.IMAGE_ENCODER),
    "matting": ("Tiny U²-Net-style matting model (random weights, ONNX)", ModelWeights.Kind.MATTING),
    "upscaler_x4": ("Tiny Real-ESRGAN x4plus RRDBNet (random weights)", ModelWeights.Kind.UPSCALER),
    "upscaler_x2": ("Tiny Real-ESRGAN x2plus RRDBNet (random weights)", ModelWeights.Kind.UPSCALER),
    "upscaler_general": ("Tiny Real-ESRGAN general x4 compact (random weights)", ModelWeights.Kind.UPSCALER),
}
_ARCHITECTURES = {
    "flux": ModelWeights.Architecture.FLUX1,
    "lora_flux": ModelWeights.Architecture.FLUX1,
    "controlnet_flux": ModelWeights.Architecture.FLUX1,
    "redux_flux": ModelWeights.Architecture.FLUX1,
    "siglip": ModelWeights.Architecture.OTHER,
    "flux_kontext": ModelWeights.Architecture.FLUX1_KONTEXT,
    "flux_fill": ModelWeights.Architecture.FLUX1_FILL,
    "sd35": ModelWeights.Architecture.SD35,
    "lora_sd35": ModelWeights.Architecture.SD35,
    "qwen_image": ModelWeights.Architecture.QWEN_IMAGE,
    "flux2_klein": ModelWeights.Architecture.FLUX2_KLEIN,
    "qwen_image_edit": ModelWeights.Architecture.QWEN_IMAGE_EDIT,
    "upscaler_x4": ModelWeights.Architecture.ESRGAN,
    "upscaler_x2": ModelWeights.Architecture.ESRGAN,
    "upscaler_general": ModelWeights.Architecture.COMPACT,
    "image_encoder": ModelWeights.Architecture.OTHER,
    "matting": ModelWeights.Architecture.OTHER,
}


def tiny_models_register(*, folder: Path) -> dict[str, ModelWeights]:
    """Write the tiny models into `folder` and register them through the production registry."""
    from generation.tiny import tiny_models_write

    return tiny_paths_register(paths=tiny_models_write(folder=folder))


def tiny_paths_register(*, paths: dict) -> dict[str, ModelWeights]:
    registered = {}
    for key, path in paths.items():
        name, kind = TINY_NAMES[key]
        path, config = path if isinstance(path, tuple) else (path, None)
        architecture = _ARCHITECTURES.get(key) or (
            ModelWeights.Architecture.SDXL if "_xl" in key else ModelWeights.Architecture.SD15
        )
        registered[key], _ = model_weights_register(
            path=path,
            kind=kind,
            name=name,
            architecture=architecture,
            config=config,
            source_name="seed make_tiny_models",
            source_version="1",
        )
    return registered
