"""What one recipe's run is given: the pipeline for its operation, made from the cached base, the operation's own
inputs, the IP-Adapter attached for the run, and the hi-res fix's upscale between its passes.

Worker-only: imports torch and diffusers.
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from assets.errors import ApplicationError
from assets.models import Blob, Used
from assets.recipes import Recipe
from assets.services.blobs import blob_open
from generation.imaging import canny_edges, canny_opencv, hires_size, outpaint_prepare
from generation.loader import PipelineCache


def blob_image(*, blob: Blob, mode: str) -> Image.Image:
    """A stored file that is not a version or reference (a mask, the palette guide) as an image in `mode`."""
    with blob_open(blob=blob) as handle, Image.open(handle) as image:
        return image.convert(mode)


def operation_pipeline(*, recipe: Recipe, cache: PipelineCache, base):
    """The pipeline for the recipe's operation, made from the cached base so it shares its loaded components."""
    import diffusers

    if recipe.vae is not None:
        # A VAE swap shares every other component of the cached pipeline, LoRA adapters included.
        base = type(base).from_pipe(base, vae=cache.vae(weights=recipe.vae))
    if recipe.op == "txt2img":
        return base
    if recipe.op == "img2img":
        return diffusers.AutoPipelineForImage2Image.from_pipe(base)
    if recipe.op in ("inpaint", "outpaint"):
        return diffusers.AutoPipelineForInpainting.from_pipe(base)
    if recipe.op == "controlnet":
        controlnet = cache.controlnet(weights=recipe.controlnet)
        return diffusers.StableDiffusionControlNetPipeline.from_pipe(base, controlnet=controlnet)
    raise ApplicationError(f"{recipe.op} is not a generation")


def operation_inputs(*, recipe: Recipe, image_of: Callable[[Used], Image.Image]) -> dict:
    """The pipeline arguments the operation adds to the prompt and sampling: its images, mask, strength, control."""
    params = recipe.params
    size = (params["width"], params["height"])
    if recipe.op == "img2img":
        return {"image": image_of(recipe.init).resize(size, Image.Resampling.LANCZOS), "strength": params["strength"]}
    if recipe.op == "inpaint":
        mask = blob_image(blob=recipe.mask, mode="L")
        init = image_of(recipe.init)
        if mask.size != init.size:
            raise ApplicationError(
                f"the mask is {mask.width}x{mask.height} but the image is {init.width}x{init.height}"
            )
        return {
            "image": init.resize(size, Image.Resampling.LANCZOS),
            "mask_image": mask.resize(size, Image.Resampling.NEAREST),
            "strength": params["strength"],
        }
    if recipe.op == "outpaint":
        canvas, mask = outpaint_prepare(
            image=image_of(recipe.init), width=size[0], height=size[1], blur=params.get("mask_blur", 0)
        )
        return {"image": canvas, "mask_image": mask, "strength": 1.0}
    if recipe.op == "controlnet":
        control = image_of(recipe.control).resize(size, Image.Resampling.LANCZOS)
        if "canny_low" in params:
            control = canny_opencv(image=control, low=params["canny_low"], high=params["canny_high"])
        elif params["control_type"] in ("canny", "edge"):
            control = canny_edges(image=control)
        return {"image": control, "controlnet_conditioning_scale": params["conditioning_scale"]}
    return {}


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
