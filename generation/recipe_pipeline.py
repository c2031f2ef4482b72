"""What one recipe's run is given: the pipeline for its operation, made from the cached base, the operation's own
inputs, the IP-Adapter attached for the run, and the hi-res fix's upscale between its passes.

Worker-only: imports torch and diffusers.
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from assets.errors import ApplicationError
from assets.models import Blob, Used
from assets.operations import operation_get
from assets.recipes import Recipe
from assets.services.blobs import blob_open
from generation.imaging import hires_size
from generation.loader import PipelineCache


def blob_image(*, blob: Blob, mode: str) -> Image.Image:
    """A stored file that is not a version or reference (a mask, the palette guide) as an image in `mode`."""
    with blob_open(blob=blob) as handle, Image.open(handle) as image:
        return image.convert(mode)


def operation_pipeline(*, recipe: Recipe, cache: PipelineCache, base):
    """The pipeline for the recipe's operation (its declaration makes it), from the cached base so it shares its
    loaded components."""
    if recipe.vae is not None:
        # A VAE swap shares every other component of the cached pipeline, LoRA adapters included.
        base = type(base).from_pipe(base, vae=cache.vae(weights=recipe.vae))
    spec = operation_get(recipe.op)
    if spec.pipeline is None:
        raise ApplicationError(f"{recipe.op} is not a generation")
    return spec.pipeline(base=base, recipe=recipe, cache=cache)


def operation_inputs(*, recipe: Recipe, image_of: Callable[[Used], Image.Image]) -> dict:
    """The pipeline arguments the operation adds to the prompt and sampling, as its declaration reads them."""
    spec = operation_get(recipe.op)
    return spec.pipeline_inputs(recipe=recipe, image_of=image_of) if spec.pipeline_inputs else {}


def ip_adapter_attach(*, base, recipe: Recipe, cache: PipelineCache) -> None:
    """Attach the recipe's IP-Adapter and image encoder to the cached base for this run; never fused."""
    from transformers import CLIPImageProcessor

    from generation.loader import ip_adapter_state

    encoder = cache.image_encoder(weights=recipe.image_encoder)
    size = encoder.config.image_size
    base.register_modules(image_encoder=encoder, feature_extractor=CLIPImageProcessor(size=size, crop_size=size))
    try:
        base.load_ip_adapter(
            ip_adapter_state(weights=recipe.ip_adapter), subfolder=None, weight_name=None, image_encoder_folder=None
        )
    except (RuntimeError, ValueError, KeyError) as exc:
        ip_adapter_detach(base=base)
        raise ApplicationError(
            f"IP-Adapter {recipe.ip_adapter.name} does not fit {recipe.base.name} with image encoder "
            f"{recipe.image_encoder.name}: {str(exc)[:300]}",
            extra={"code": "ip_adapter_mismatch"},
        ) from exc
    base.set_ip_adapter_scale(recipe.params["ip_adapter_scale"])


def ip_adapter_detach(*, base) -> None:
    """The cached base as it was: original attention processors, no encoder, no image processor."""
    base.unload_ip_adapter()
    base.register_modules(image_encoder=None, feature_extractor=None)


def hires_upscale(*, first, params: dict, latent_factor: int):
    """The hi-res fix's upscale between its passes: the latents (bilinear, A1111's "Latent") or the decoded image
    (Lanczos), to the second pass's size."""
    width, height = hires_size(width=params["width"], height=params["height"], scale=params["hires_scale"])
    if params["hires_upscaler"] == "lanczos":
        return first.resize((width, height), Image.Resampling.LANCZOS)
    import torch

    return torch.nn.functional.interpolate(
        first.unsqueeze(0), size=(height // latent_factor, width // latent_factor), mode="bilinear", align_corners=False
    )
