"""Train a LoRA with peft on diffusers' own components: the worker side of `train_lora`. Worker-only (torch, diffusers,
peft).

The loop is diffusers' text-to-image LoRA recipe (noise prediction, MSE on the scheduler's target) with every draw
taken from one CPU generator seeded by the recipe (the shuffle, the latent samples, the noise, the timesteps), on the
thread count the run records: the same images, captions, recipe and environment train the same weights, bit for bit.
The cached base is never touched: the UNet (and the text encoders, when they train too) are copies.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PIL import Image, ImageOps

from assets.models import Derivation, ModelWeights
from generation.operations.train_lora import RESOLUTION_STEP

UNET_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
TEXT_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]
ADAPTER = "seed_training"
PROGRESS_EVERY_SECONDS = 0.5
SAMPLER = "dpmpp_2m_karras"
SAMPLE_CFG = 7.0
FLUX_GUIDANCE = 3.5


@dataclass(frozen=True)
class Example:
    image: Image.Image
    caption: str


@dataclass
class Trained:
    """What a run made: the adapter's tensors in peft's naming, the loss at every step, and the sample images by the
    step they were made at."""

    state: dict
    losses: list[float]
    samples: list[tuple[int, Image.Image]] = field(default_factory=list)
    text_encoder_state: dict = field(default_factory=dict)


def bucket_size(*, width: int, height: int, resolution: int, bucketing: bool) -> tuple[int, int]:
    """The size an image trains at: a square of `resolution`, or with bucketing the bucket nearest the image's aspect
    among those of at most that area, each side a multiple of RESOLUTION_STEP and at most twice `resolution`
    (kohya's aspect-ratio buckets); of two as near, the larger."""
    if not bucketing:
        return resolution, resolution
    area, longest = resolution * resolution, 2 * resolution
    buckets = [
        (side, min(longest, area // side // RESOLUTION_STEP * RESOLUTION_STEP))
        for side in range(RESOLUTION_STEP, longest + 1, RESOLUTION_STEP)
    ]
    aspect = math.log(width / height)
    return min(
        (bucket for bucket in buckets if bucket[1] >= RESOLUTION_STEP),
        key=lambda bucket: (abs(math.log(bucket[0] / bucket[1]) - aspect), -bucket[0] * bucket[1]),
    )


def _bucket_of(image: Image.Image, params: dict) -> tuple[int, int]:
    return bucket_size(
        width=image.width, height=image.height, resolution=params["resolution"], bucketing=params["bucketing"]
    )


def _pixels(example: Example, size: tuple[int, int]):
    import numpy as np
    import torch

    fitted = ImageOps.fit(example.image.convert("RGB"), size, method=Image.Resampling.LANCZOS)
    array = np.asarray(fitted, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(array).permute(2, 0, 1)


@dataclass
class _Parts:
    """The trainee: a pipeline over the cached base's components with the trained ones copied."""

    pipeline: object
    denoiser: object  # the UNet, or FLUX's transformer
    name: str  # its component name: "unet" or "transformer"
    text_encoders: dict  # the text encoders that train too, by component name
    device: str
    dtype: object


def _parts(base, *, params: dict, device: str):
    import torch
    from diffusers.training_utils import cast_training_params

    # peft draws the adapters' starting weights from torch's global generator.
    torch.manual_seed(params["seed"])
    name = denoiser_name(base)
    denoiser = copy.deepcopy(getattr(base, name)).requires_grad_(False)
    denoiser.add_adapter(_config(params, UNET_TARGETS), adapter_name=ADAPTER)
    encoders = {}
    if params["train_text_encoder"]:
        for component in ("text_encoder", "text_encoder_2"):
            encoder = getattr(base, component, None)
            if encoder is not None:
                encoder = copy.deepcopy(encoder).requires_grad_(False)
                encoder.add_adapter(_config(params, TEXT_TARGETS), adapter_name=ADAPTER)
                encoders[component] = encoder
    # The adapters learn in float32 even over a half-precision base on a GPU.
    cast_training_params([denoiser, *encoders.values()], dtype=torch.float32)
    pipeline = type(base)(**{**base.components, name: denoiser, **encoders})
    pipeline.set_progress_bar_config(disable=True)
    return _Parts(
        pipeline=pipeline, denoiser=denoiser, name=name, text_encoders=encoders, device=device, dtype=denoiser.dtype
    )


def denoiser_name(base) -> str:
    """What learns: FLUX's transformer, or SD's UNet."""
    return "transformer" if getattr(base, "transformer", None) is not None else "unet"


def _config(params: dict, targets: list[str]):
    from peft import LoraConfig

    return LoraConfig(
        r=params["rank"], lora_alpha=params["alpha"], init_lora_weights="gaussian", target_modules=targets
    )


def _conditioning(parts: _Parts, captions: list[str], size: tuple[int, int]) -> dict:
    """The UNet's text inputs for a batch: the prompt embeddings, and for SDXL the pooled one and the size ids."""

    pipeline = parts.pipeline
    if hasattr(pipeline, "text_encoder_2"):
        embeds, _, pooled, _ = pipeline.encode_prompt(
            prompt=captions, device=parts.device, num_images_per_prompt=1, do_classifier_free_guidance=False
        )
        projection = pipeline.text_encoder_2.config.projection_dim
        time_ids = pipeline._get_add_time_ids(
            (size[1], size[0]), (0, 0), (size[1], size[0]), dtype=embeds.dtype, text_encoder_projection_dim=projection
        ).to(parts.device)
        return {
            "encoder_hidden_states": embeds,
            "added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids.repeat(len(captions), 1)},
        }
    embeds, _ = pipeline.encode_prompt(
        prompt=captions, device=parts.device, num_images_per_prompt=1, do_classifier_free_guidance=False
    )
    return {"encoder_hidden_states": embeds}


def _latent_statistics(parts: _Parts, examples: list[Example], sizes: list[tuple[int, int]]) -> list[tuple]:
    """Each image's latent distribution (mean, std), encoded once: each step samples from it afresh."""
    import torch

    vae = parts.pipeline.vae
    statistics = []
    with torch.no_grad():
        for example, size in zip(examples, sizes, strict=True):
            pixels = _pixels(example, size).unsqueeze(0).to(parts.device, dtype=vae.dtype)
            distribution = vae.encode(pixels).latent_dist
            statistics.append((distribution.mean.float().cpu(), distribution.std.float().cpu()))
    return statistics


def _batches(*, sizes: list[tuple[int, int]], batch_size: int, generator):
    """Endless batches of indices, each of one bucket: an epoch shuffles every image once, from the run's generator."""
    import torch

    while True:
        order = torch.randperm(len(sizes), generator=generator).tolist()
        by_size: dict[tuple[int, int], list[int]] = {}
        for index in order:
            by_size.setdefault(sizes[index], []).append(index)
        for indices in by_size.values():
            for start in range(0, len(indices), batch_size):
                yield indices[start : start + batch_size]


def lora_train(
    *,
    base,
    examples: list[Example],
    params: dict,
    device: str,
    on_step: Callable[[int, float], bool] | None = None,
) -> Trained:
    """Train the recipe's adapter over `base` (a loaded diffusers pipeline) on `examples`.

    `on_step(step, loss)` is asked at most every PROGRESS_EVERY_SECONDS, and after the last step; False (the run was
    cancelled) stops the loop with TrainingStopped.
    """
    import torch

    parts = _parts(base, params=params, device=device)
    sizes = [_bucket_of(example.image, params) for example in examples]
    trainable = [
        p for module in [parts.denoiser, *parts.text_encoders.values()] for p in module.parameters() if p.requires_grad
    ]
    optimizer = torch.optim.AdamW(trainable, lr=params["learning_rate"])
    generator = torch.Generator(device="cpu").manual_seed(params["seed"])
    batches = _batches(sizes=sizes, batch_size=params["batch_size"], generator=generator)
    if parts.name == "transformer":
        from generation.training_flux import flow_objective as objective
    else:
        objective = _noise_objective
    loss_of = objective(parts, base=base, examples=examples, sizes=sizes, params=params, generator=generator)
    trained = Trained(state={}, losses=[])
    last_report = time.monotonic()
    for step in range(1, params["steps"] + 1):
        loss = loss_of(next(batches))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        trained.losses.append(loss)
        if params["sample_every"] and step % params["sample_every"] == 0:
            trained.samples.append((step, _sample(parts, params=params, examples=examples, base=base)))
        due = time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS or step == params["steps"]
        if on_step is not None and due:
            last_report = time.monotonic()
            if not on_step(step, loss):
                raise TrainingStopped(f"stopped at step {step} of {params['steps']}")
    return _finished(parts, trained)


class TrainingStopped(Exception):
    """The run was cancelled (or taken over) while it trained."""


def _fixed_conditioning(parts: _Parts, examples: list[Example], sizes: list[tuple[int, int]]) -> list[dict]:
    """Each image's text inputs, encoded once when the text encoders do not train."""
    import torch

    with torch.no_grad():
        return [_conditioning(parts, [example.caption], size) for example, size in zip(examples, sizes, strict=True)]


def _batch_conditioning(parts: _Parts, fixed, examples, sizes, indices: list[int]) -> dict:
    import torch

    if fixed is None:
        return _conditioning(parts, [examples[i].caption for i in indices], sizes[indices[0]])
    chosen = [fixed[i] for i in indices]
    conditioning = {"encoder_hidden_states": torch.cat([item["encoder_hidden_states"] for item in chosen])}
    if "added_cond_kwargs" in chosen[0]:
        conditioning["added_cond_kwargs"] = {
            key: torch.cat([item["added_cond_kwargs"][key] for item in chosen]) for key in ("text_embeds", "time_ids")
        }
    return conditioning


def _noise_objective(parts: _Parts, *, base, examples, sizes, params: dict, generator) -> Callable[[list[int]], float]:
    """SD's objective: predict the noise (or the velocity) added at a random DDPM timestep. Returns the step's
    forward and backward pass over a batch; the draws come from the run's CPU generator, so a GPU and a CPU draw the
    same numbers."""
    import torch
    import torch.nn.functional as functional
    from diffusers import DDPMScheduler

    statistics = _latent_statistics(parts, examples, sizes)
    noise_scheduler = DDPMScheduler.from_config(base.scheduler.config)
    prediction = noise_scheduler.config.prediction_type
    scaling = base.vae.config.scaling_factor
    fixed = None if params["train_text_encoder"] else _fixed_conditioning(parts, examples, sizes)

    def loss_of(indices: list[int]) -> float:
        conditioning = _batch_conditioning(parts, fixed, examples, sizes, indices)
        means = torch.cat([statistics[i][0] for i in indices])
        stds = torch.cat([statistics[i][1] for i in indices])
        latents = (means + stds * torch.randn(means.shape, generator=generator)) * scaling
        noise = torch.randn(latents.shape, generator=generator)
        timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(indices),), generator=generator)
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        target = noise if prediction == "epsilon" else noise_scheduler.get_velocity(latents, noise, timesteps)
        with torch.autocast(device_type="cuda", dtype=parts.dtype, enabled=parts.device.startswith("cuda")):
            predicted = parts.denoiser(
                noisy.to(parts.device, dtype=parts.dtype), timesteps.to(parts.device), **conditioning
            ).sample
        loss = functional.mse_loss(predicted.float(), target.to(parts.device).float())
        loss.backward()
        return float(loss.detach().cpu())

    return loss_of


def _sample(parts: _Parts, *, params: dict, examples: list[Example], base) -> Image.Image:
    """One image from the adapter as it stands: the sample prompt (else the first caption) on the recipe's seed, so
    the samples of one run differ only by what was learned between them."""
    import torch

    from generation.samplers import scheduler_build

    sampler, guidance = sample_settings(base)
    parts.pipeline.scheduler = scheduler_build(name=sampler, base_config=base.scheduler.config, seed=params["seed"])
    size = _bucket_of(examples[0].image, params)
    with torch.no_grad():
        return parts.pipeline(
            prompt=params.get("sample_prompt") or examples[0].caption,
            num_inference_steps=params["sample_steps"],
            guidance_scale=guidance,
            width=size[0],
            height=size[1],
            generator=torch.Generator(device="cpu").manual_seed(params["seed"]),
        ).images[0]


def sample_settings(base) -> tuple[str, float]:
    """The sampler and guidance samples are painted with: FLUX's flow-matching Euler at its distilled guidance, or
    SD's DPM++ 2M Karras at CFG 7."""
    return ("flow_euler", FLUX_GUIDANCE) if denoiser_name(base) == "transformer" else (SAMPLER, SAMPLE_CFG)


def _finished(parts: _Parts, trained: Trained) -> Trained:
    from peft.utils import get_peft_model_state_dict

    trained.state = {
        f"{component}.{key}": value.detach().float().cpu().contiguous()
        for component, module in {parts.name: parts.denoiser, **parts.text_encoders}.items()
        for key, value in get_peft_model_state_dict(module, adapter_name=ADAPTER).items()
    }
    return trained


def training_base(weights: ModelWeights):
    """The loaded base pipeline from the worker's cache."""
    from generation.loader import process_cache

    return process_cache().base(weights=weights)


def training_of(derivation: Derivation) -> tuple[ModelWeights, list]:
    """The base model and the training images, in position order, as recorded."""
    used = list(derivation.used.select_related("model_weights", "version__blob").order_by("role", "position"))
    base = next(edge.model_weights for edge in used if edge.role == "base_model")
    images = [edge for edge in used if edge.role == "training_image"]
    return base, images
