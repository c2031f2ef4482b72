"""Runs one recorded derivation through diffusers. Worker-only: imports torch and diffusers.

The recipe is read from the lineage alone (the derivation's parameters and used edges), so the
worker and `reproduce` run exactly the same code.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db.models import F
from PIL import Image

from assets import SEED_VERSION, metrics
from assets.errors import ApplicationError
from assets.infotext import A1111_NAMES
from assets.models import Blob, Derivation, Used
from assets.recipes import Recipe, recipe_of
from assets.services.blobs import blob_open
from assets.services.derivations import OutputImage, derivation_files_record
from assets.services.runs import RunScope, RunSuperseded, run_guarded, run_note_add, run_progress
from generation.imaging import canny_edges, canny_opencv, hires_size, outpaint_prepare, png_bytes
from generation.loader import PipelineCache, process_cache
from generation.samplers import scheduler_build

logger = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 0.5


def stored_image(edge: Used) -> Image.Image:
    """The recorded bytes of an input version or reference."""
    blob = edge.version.blob if edge.version_id else edge.reference.blob
    with blob_open(blob=blob) as handle, Image.open(handle) as image:
        return image.convert("RGB")


def _blob_image(blob: Blob, mode: str) -> Image.Image:
    with blob_open(blob=blob) as handle, Image.open(handle) as image:
        return image.convert(mode)


def infotext_value(value) -> str:
    """A value as A1111 writes it: quoted (JSON) when it holds one of its separators."""
    text = str(value)
    return json.dumps(text) if any(mark in text for mark in (",", ":", '"', "\n")) else text


def infotext(*, recipe: Recipe, seed: int) -> str:
    """AUTOMATIC1111's parameters text, from the recipe only, so a reproduction writes the same bytes.

    Written as A1111 writes it, so it reads back there and in the tools built on its format: each LoRA as
    `<lora:NAME:WEIGHT>` in the prompt and by name in `Lora hashes`, `Model hash` (AutoV2) and `Model`, its
    sampler and schedule names, and `Version: seed-…`.
    """
    params = recipe.params
    sampler, schedule = A1111_NAMES[params["sampler"]]
    pairs = [
        ("Steps", params["steps"]),
        ("Sampler", sampler),
        ("Schedule type", schedule),
        ("CFG scale", f"{params['cfg']:g}"),
        ("Seed", seed),
        ("Size", f"{params['width']}x{params['height']}"),
        ("Model hash", recipe.base.short_hash),
        ("Model", recipe.base.name),
    ]
    if recipe.vae is not None:
        pairs += [("VAE hash", recipe.vae.short_hash), ("VAE", recipe.vae.name)]
    if "strength" in params:
        pairs.append(("Denoising strength", f"{params['strength']:g}"))
    if recipe.ip_adapter is not None:
        # As A1111's ControlNet extension writes an IP-Adapter unit.
        pairs.append(
            (
                "ControlNet 0",
                ", ".join(
                    [
                        "Module: ip-adapter_clip",
                        f"Model: {recipe.ip_adapter.name} [{recipe.ip_adapter.sha256[:8]}]",
                        f"Weight: {params['ip_adapter_scale']:g}",
                    ]
                ),
            )
        )
    if "hires_scale" in params:
        pairs += [
            ("Hires upscale", f"{params['hires_scale']:g}"),
            ("Hires upscaler", params["hires_upscaler"].capitalize()),
        ]
        if params["hires_steps"]:
            pairs.append(("Hires steps", params["hires_steps"]))
    if recipe.loras:
        pairs.append(
            ("Lora hashes", ", ".join(f"{weights.name}: {weights.sha256[:12]}" for weights, _ in recipe.loras))
        )
    pairs += [("RNG", "CPU"), ("Version", f"seed-{SEED_VERSION}")]
    prompt = recipe.prompt.text + "".join(f" <lora:{weights.name}:{weight:g}>" for weights, weight in recipe.loras)
    lines = [prompt]
    if recipe.prompt.negative_text:
        lines.append(f"Negative prompt: {recipe.prompt.negative_text}")
    lines.append(", ".join(f"{key}: {infotext_value(value)}" for key, value in pairs))
    return "\n".join(lines)


def _pipeline_for(recipe: Recipe, cache: PipelineCache, base):
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


def _inputs(recipe: Recipe, image_of: Callable[[Used], Image.Image]) -> dict:
    params = recipe.params
    size = (params["width"], params["height"])
    if recipe.op == "img2img":
        return {"image": image_of(recipe.init).resize(size, Image.Resampling.LANCZOS), "strength": params["strength"]}
    if recipe.op == "inpaint":
        mask = _blob_image(recipe.mask, "L")
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


def images_generate(
    *,
    recipe: Recipe,
    indices: list[int],
    image_of: Callable[[Used], Image.Image],
    cache: PipelineCache,
    on_step: Callable[[int], bool] | None = None,
) -> tuple[list, float]:
    """Generate the batch images at `indices`, each alone with its own generator and seed.

    Returns [(index, seed, image)] and GPU-seconds. LoRAs are peft adapters loaded for this run and
    unloaded afterwards, never fused, so the cached pipeline is clean for the next job.
    """
    import diffusers
    import torch
    from safetensors.torch import load_file

    from generation.loader import weights_path

    params = recipe.params
    # One reference for the whole run: loading a VAE or ControlNet may push the base out of a small cache.
    base = cache.base(weights=recipe.base)
    adapters = []
    image_prompted = False
    try:
        extra = _inputs(recipe, image_of)
        if recipe.ip_adapter is not None:
            # Before the task's pipeline is made from the base, so it shares the adapter, encoder and processor.
            _ip_adapter_load(base, recipe, cache)
            image_prompted = True
            extra["ip_adapter_image"] = [
                [
                    image_of(item) if isinstance(item, Used) else _blob_image(item, "RGB")
                    for item in recipe.image_prompts
                ]
            ]
        pipeline = _pipeline_for(recipe, cache, base)
        for position, (weights, _) in enumerate(recipe.loras):
            name = f"lora_{position}_{weights.sha256[:12]}"
            base.load_lora_weights(load_file(str(weights_path(weights=weights))), adapter_name=name)
            adapters.append(name)
        if adapters:
            base.set_adapters(adapters, adapter_weights=[weight for _, weight in recipe.loras])
        done = 0
        last_report = time.monotonic()
        interrupted = False

        def step_end(pipe, step, timestep, callback_kwargs):
            nonlocal done, last_report, interrupted
            done += 1
            if on_step is not None and time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                last_report = time.monotonic()
                if not on_step(done):
                    interrupted = True
                    pipe._interrupt = True
            return callback_kwargs

        results = []
        gpu_seconds = 0.0
        cuda = cache.placement.device.startswith("cuda")
        hires = "hires_scale" in params
        second_pass = diffusers.AutoPipelineForImage2Image.from_pipe(pipeline) if hires else None
        if second_pass is not None:
            second_pass.set_progress_bar_config(disable=True)
        for index in indices:
            seed = params["seed"] + index
            pipeline.scheduler = scheduler_build(name=params["sampler"], base_config=base.scheduler.config, seed=seed)
            # Noise comes from a CPU generator: the same seed gives the same noise on any hardware.
            generator = torch.Generator(device="cpu").manual_seed(seed)
            if cuda:
                torch.cuda.synchronize()
            started = time.perf_counter()
            first_output = "latent" if hires and params["hires_upscaler"] == "latent" else "pil"
            image = pipeline(
                prompt=recipe.prompt.text,
                negative_prompt=recipe.prompt.negative_text or None,
                num_inference_steps=params["steps"],
                guidance_scale=params["cfg"],
                width=params["width"],
                height=params["height"],
                generator=generator,
                callback_on_step_end=step_end,
                output_type=first_output,
                **extra,
            ).images[0]
            if hires and not interrupted:
                second_pass.scheduler = scheduler_build(
                    name=params["sampler"], base_config=base.scheduler.config, seed=seed
                )
                image = second_pass(
                    prompt=recipe.prompt.text,
                    negative_prompt=recipe.prompt.negative_text or None,
                    ip_adapter_image=extra.get("ip_adapter_image"),
                    image=_hires_upscaled(image, params, latent_factor=pipeline.vae_scale_factor),
                    strength=params["strength"],
                    num_inference_steps=params["hires_steps"] or params["steps"],
                    guidance_scale=params["cfg"],
                    generator=generator,
                    callback_on_step_end=step_end,
                    output_type="pil",
                ).images[0]
            if cuda:
                torch.cuda.synchronize()
                gpu_seconds += time.perf_counter() - started
            if interrupted:
                raise RunSuperseded(f"derivation {recipe.derivation.pk} was cancelled")
            results.append((index, seed, image))
        return results, gpu_seconds
    finally:
        if adapters:
            base.unload_lora_weights()
        if image_prompted:
            _ip_adapter_unload(base)


def _ip_adapter_load(base, recipe: Recipe, cache: PipelineCache) -> None:
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
        _ip_adapter_unload(base)
        raise ApplicationError(
            f"IP-Adapter {recipe.ip_adapter.name} does not fit {recipe.base.name} with image encoder "
            f"{recipe.image_encoder.name}: {str(exc)[:300]}",
            extra={"code": "ip_adapter_mismatch"},
        ) from exc
    base.set_ip_adapter_scale(recipe.params["ip_adapter_scale"])


def _ip_adapter_unload(base) -> None:
    """The cached base as it was: original attention processors, no encoder, no image processor."""
    base.unload_ip_adapter()
    base.register_modules(image_encoder=None, feature_extractor=None)


def _hires_upscaled(first, params: dict, *, latent_factor: int):
    """The hi-res fix's upscale between its passes: the latents (bilinear, A1111's "Latent") or the decoded image
    (Lanczos), to the second pass's size."""
    width, height = hires_size(width=params["width"], height=params["height"], scale=params["hires_scale"])
    if params["hires_upscaler"] == "lanczos":
        return first.resize((width, height), Image.Resampling.LANCZOS)
    import torch

    return torch.nn.functional.interpolate(
        first.unsqueeze(0), size=(height // latent_factor, width // latent_factor), mode="bilinear", align_corners=False
    )


def _generate(derivation: Derivation, scope: RunScope):
    from generation.environment import environment_fingerprint

    cache = process_cache()
    recipe = recipe_of(derivation=derivation)
    indices = list(range(derivation.params.get("batch_size", 1)))
    images, gpu_seconds = images_generate(
        recipe=recipe,
        indices=indices,
        image_of=stored_image,
        cache=cache,
        on_step=lambda done: run_progress(row=derivation, step=done),
    )
    outputs = []
    for index, seed, image in images:
        outputs.append(
            OutputImage(
                index=index,
                seed=seed,
                data=png_bytes(image=image, infotext=infotext(recipe=recipe, seed=seed)),
                width=image.width,
                height=image.height,
            )
        )
    return (
        outputs,
        environment_fingerprint(device=cache.placement.device, dtype=cache.placement.dtype_name),
        gpu_seconds,
    )


def derivation_run(*, derivation_id: int) -> str:
    """The worker's whole job for one generation: claim, generate, record once; failures are recorded too."""
    return derivation_guarded(derivation_id=derivation_id, make=_generate)


def derivation_guarded(*, derivation_id: int, make: Callable) -> str:
    """Run a generation or finishing derivation through the one run lifecycle.

    `make(derivation, scope)` returns (outputs, environment, gpu_seconds), or with a fourth item, the files that are
    not image versions (masks, SVGs), and adds every scratch file it writes to the scope; the outputs are recorded
    once, while this worker still owns the run.
    """

    def work(derivation: Derivation, scope: RunScope) -> str:
        from generation.environment import torch_threads_pinned

        # One fixed count on every host (the fingerprint records it), so hosts with other core counts make
        # the same bytes.
        with torch_threads_pinned(threads=settings.SEED_TORCH_THREADS):
            outputs, environment, gpu_seconds, *files = _make_retrying_out_of_memory(derivation, make, scope)
        derivation_files_record(
            derivation=derivation,
            outputs=outputs,
            files=files[0] if files else [],
            blobs=scope.blobs,
            environment=environment,
            gpu_seconds=gpu_seconds,
            progress_step=F("progress_total"),
        )
        metrics.gpu_seconds_add(op=derivation.op, seconds=gpu_seconds)
        return "succeeded"

    return run_guarded(
        model=Derivation,
        pk=derivation_id,
        work=work,
        fields={"error": "", "progress_step": 0},
        failure=_out_of_memory_again,
    )


def _out_of_memory_again(derivation: Derivation, exc: Exception) -> str | None:
    import torch

    if not _out_of_memory(exc):
        return None
    process_cache().clear()
    return (
        f"out of {'GPU ' if isinstance(exc, torch.cuda.OutOfMemoryError) else ''}memory again after clearing the "
        f"model cache and running once more: lower the size or the batch ({exc})"
    )


def _out_of_memory(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    # torch's CPU allocator has no error type of its own: it raises RuntimeError with this wording.
    return isinstance(exc, RuntimeError) and "DefaultCPUAllocator" in str(exc)


def _make_retrying_out_of_memory(derivation: Derivation, make: Callable, scope: RunScope):
    """Run `make`; out of memory, clear the model cache (which never shrinks by itself mid-run), note it and
    run once more.

    Without this one out-of-memory error left the cache full and every later job on the worker failed too.
    """
    try:
        return make(derivation, scope)
    except Exception as exc:
        if not _out_of_memory(exc):
            raise
        dropped = process_cache().clear()
        scope.scratch_clear()
        logger.warning(
            "derivation %s ran out of memory; cleared %s cached model(s) and running it again", derivation.pk, dropped
        )
        run_note_add(
            row=derivation,
            event="out_of_memory_retried",
            detail=f"{type(exc).__name__}: {str(exc)[:300]}; cleared {dropped} cached model(s) and ran again",
        )
    return make(derivation, scope)
