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
from assets.infotext import A1111_NAMES
from assets.models import Derivation, Used
from assets.recipes import Recipe, recipe_claim_read, recipe_of
from assets.services.blobs import blob_open
from assets.services.derivations import OutputImage, derivation_files_record
from assets.services.runs import RunScope, RunSuperseded, run_guarded, run_note_add, run_progress
from generation.architectures import architecture_of, guidance_inputs
from generation.imaging import png_bytes
from generation.loader import PipelineCache, process_cache
from generation.prompt_encoding import prompt_inputs
from generation.recipe_pipeline import (
    blob_image,
    hires_upscale,
    ip_adapter_attach,
    ip_adapter_detach,
    operation_inputs,
    operation_pipeline,
)
from generation.redux import redux_prompt_inputs
from generation.samplers import scheduler_build

logger = logging.getLogger(__name__)
PROGRESS_EVERY_SECONDS = 0.5
_IMAGE_PROMPT_MODULES = {"ip_adapter": "ip-adapter_clip", "redux": "flux_redux"}  # as A1111's ControlNet unit names it


def stored_image(edge: Used) -> Image.Image:
    """The recorded bytes of an input version or reference."""
    blob = edge.version.blob if edge.version_id else edge.reference.blob
    with blob_open(blob=blob) as handle, Image.open(handle) as image:
        return image.convert("RGB")


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
        *([("Distilled CFG Scale", f"{params['distilled_cfg']:g}")] if "distilled_cfg" in params else []),
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
                        f"Module: {_IMAGE_PROMPT_MODULES[architecture_of(base=recipe.base).image_prompts]}",
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
    prompt = recipe.prompt_text + "".join(f" <lora:{weights.name}:{weight:g}>" for weights, weight in recipe.loras)
    lines = [prompt]
    if recipe.prompt.negative_text:
        lines.append(f"Negative prompt: {recipe.prompt.negative_text}")
    lines.append(", ".join(f"{key}: {infotext_value(value)}" for key, value in pairs))
    return "\n".join(lines)


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
    # One reference for the whole run: loading a VAE or ControlNet may push the base out of a small cache.
    base = cache.base(weights=recipe.base)
    adapters = []
    image_prompted = False
    try:
        extra = operation_inputs(recipe=recipe, image_of=image_of)
        images = [
            image_of(item) if isinstance(item, Used) else blob_image(blob=item, mode="RGB")
            for item in recipe.image_prompts
        ]
        redux = bool(images) and architecture_of(base=recipe.base).image_prompts == "redux"
        if images and not redux:
            # Before the task's pipeline is made from the base, so it shares the adapter, encoder and processor.
            ip_adapter_attach(base=base, recipe=recipe, cache=cache)
            image_prompted = True
            extra["ip_adapter_image"] = [images]
        pipeline = operation_pipeline(recipe=recipe, cache=cache, base=base)
        _loras_load(base, recipe, adapters)
        prompts = (
            redux_prompt_inputs(base=base, recipe=recipe, images=images, cache=cache)
            if redux
            else prompt_inputs(pipeline=base, recipe=recipe)
        )
        return _images_paint(
            recipe=recipe,
            indices=indices,
            pipeline=pipeline,
            base=base,
            extra=extra,
            prompts=prompts,
            progress=_Progress(on_step),
            cuda=cache.placement.device.startswith("cuda"),
        )
    finally:
        if adapters:
            base.unload_lora_weights()
        if image_prompted:
            ip_adapter_detach(base=base)


def _loras_load(base, recipe: Recipe, adapters: list[str]) -> None:
    """Load the recipe's LoRAs as named adapters at their weights; each name goes into `adapters` as soon as it is
    loaded, so that the caller unloads what was loaded even when a later one fails."""
    from safetensors.torch import load_file

    from generation.loader import weights_path

    for position, (weights, _) in enumerate(recipe.loras):
        name = f"lora_{position}_{weights.sha256[:12]}"
        base.load_lora_weights(load_file(str(weights_path(weights=weights))), adapter_name=name)
        adapters.append(name)
    if adapters:
        base.set_adapters(adapters, adapter_weights=[weight for _, weight in recipe.loras])


class _Progress:
    """Counts the denoising steps of both passes and reports them at most every PROGRESS_EVERY_SECONDS; a report
    answered False (the run was cancelled or taken over) interrupts the pipeline at its next step."""

    def __init__(self, on_step: Callable[[int], bool] | None):
        self.on_step = on_step
        self.done = 0
        self.last_report = time.monotonic()
        self.interrupted = False

    def step_end(self, pipe, step, timestep, callback_kwargs):
        self.done += 1
        if self.on_step is not None and time.monotonic() - self.last_report >= PROGRESS_EVERY_SECONDS:
            self.last_report = time.monotonic()
            if not self.on_step(self.done):
                self.interrupted = True
                pipe._interrupt = True
        return callback_kwargs


def _images_paint(
    *, recipe: Recipe, indices: list[int], pipeline, base, extra: dict, prompts: dict, progress: _Progress, cuda: bool
) -> tuple[list, float]:
    import diffusers
    import torch

    params = recipe.params
    results = []
    gpu_seconds = 0.0
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
        image = _first_pass(
            recipe=recipe,
            pipeline=pipeline,
            extra={**prompts, **extra},
            generator=generator,
            progress=progress,
            latent=hires and params["hires_upscaler"] == "latent",
        )
        if hires and not progress.interrupted:
            second_pass.scheduler = scheduler_build(
                name=params["sampler"], base_config=base.scheduler.config, seed=seed
            )
            image = _second_pass(
                recipe=recipe,
                second_pass=second_pass,
                first=image,
                extra={**prompts, "ip_adapter_image": extra.get("ip_adapter_image")},
                generator=generator,
                progress=progress,
                latent_factor=pipeline.vae_scale_factor,
            )
        if cuda:
            torch.cuda.synchronize()
            gpu_seconds += time.perf_counter() - started
        if progress.interrupted:
            raise RunSuperseded(f"derivation {recipe.derivation.pk} was cancelled")
        results.append((index, seed, image))
    return results, gpu_seconds


def _first_pass(*, recipe: Recipe, pipeline, extra: dict, generator, progress: _Progress, latent: bool):
    params = recipe.params
    return pipeline(
        num_inference_steps=params["steps"],
        **guidance_inputs(base=recipe.base, params=params),
        width=params["width"],
        height=params["height"],
        generator=generator,
        callback_on_step_end=progress.step_end,
        output_type="latent" if latent else "pil",
        **extra,
    ).images[0]


def _second_pass(
    *, recipe: Recipe, second_pass, first, extra: dict, generator, progress: _Progress, latent_factor: int
):
    """The hi-res fix's img2img pass over the enlarged first pass, on the same generator."""
    params = recipe.params
    return second_pass(
        image=hires_upscale(first=first, params=params, latent_factor=latent_factor),
        strength=params["strength"],
        num_inference_steps=params["hires_steps"] or params["steps"],
        **guidance_inputs(base=recipe.base, params=params),
        generator=generator,
        callback_on_step_end=progress.step_end,
        output_type="pil",
        **extra,
    ).images[0]


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
        environment_fingerprint(device=cache.placement.device, dtype=cache.placement.dtype_name, base=recipe.base),
        gpu_seconds,
    )


def derivation_run(*, derivation_id: int) -> str:
    """The worker's whole job for one generation: claim, generate, record once; failures are recorded too."""
    return derivation_guarded(derivation_id=derivation_id, make=_generate, read=recipe_claim_read())


def derivation_guarded(*, derivation_id: int, make: Callable, fields: dict | None = None, read=None) -> str:
    """Run a generation or finishing derivation through the one run lifecycle.

    `make(derivation, scope)` returns (outputs, environment, gpu_seconds), or with a fourth item, the files that are
    not image versions (masks, SVGs), and adds every scratch file it writes to the scope; the outputs are recorded
    once, while this worker still owns the run. The claim resets `fields` (as the error and progress) and reads `read`.
    """

    def work(derivation: Derivation, scope: RunScope) -> str:
        from generation.environment import torch_threads_pinned

        # One fixed count on every host (the fingerprint records it): hosts with other core counts make the same bytes.
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
        fields={"error": "", "progress_step": 0, **(fields or {})},
        failure=_out_of_memory_again,
        read=read,
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
