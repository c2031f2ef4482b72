"""FLUX.1's training objective for `train_lora`: flow matching on the transformer (diffusers' FLUX LoRA recipe).
Worker-only (torch, diffusers).

The latents go in packed 2x2 as the transformer reads them; the timestep is drawn uniformly and the target is the
straight path from the latents to the noise. The text encoders never train here: each caption is encoded once.
"""

from __future__ import annotations

from collections.abc import Callable

from generation.training import _latent_statistics

# The guidance the distilled transformer is conditioned on while it learns: ai-toolkit's 1 (diffusers' DreamBooth
# script defaults to 3.5); samples are painted at FLUX's usual 3.5.
TRAINING_GUIDANCE = 1.0
MAX_SEQUENCE_LENGTH = 512


def flow_objective(parts, *, base, examples, sizes, params: dict, generator) -> Callable[[list[int]], float]:
    """The step's forward and backward pass over a batch; every draw comes from the run's CPU generator."""
    import torch
    import torch.nn.functional as functional
    from diffusers import FlowMatchEulerDiscreteScheduler

    statistics = _latent_statistics(parts, examples, sizes)
    schedule = FlowMatchEulerDiscreteScheduler.from_config(base.scheduler.config)
    vae, pipeline = base.vae.config, type(base)
    captions = _captions_encoded(parts, examples)
    guided = parts.denoiser.config.guidance_embeds

    def loss_of(indices: list[int]) -> float:
        means = torch.cat([statistics[i][0] for i in indices])
        stds = torch.cat([statistics[i][1] for i in indices])
        latents = (means + stds * torch.randn(means.shape, generator=generator) - vae.shift_factor) * vae.scaling_factor
        noise = torch.randn(latents.shape, generator=generator)
        steps = (torch.rand(len(indices), generator=generator) * schedule.config.num_train_timesteps).long()
        sigmas = schedule.sigmas[steps].reshape(-1, 1, 1, 1)
        noisy = (1.0 - sigmas) * latents + sigmas * noise
        count, channels, height, width = noisy.shape
        packed = pipeline._pack_latents(noisy, count, channels, height, width).to(parts.device, dtype=parts.dtype)
        embeds, pooled = (torch.cat([captions[i][part] for i in indices]) for part in range(2))
        with torch.autocast(device_type="cuda", dtype=parts.dtype, enabled=parts.device.startswith("cuda")):
            predicted = parts.denoiser(
                hidden_states=packed,
                timestep=(schedule.timesteps[steps] / 1000).to(parts.device),
                guidance=torch.full((count,), TRAINING_GUIDANCE, device=parts.device) if guided else None,
                pooled_projections=pooled,
                encoder_hidden_states=embeds,
                txt_ids=captions[indices[0]][2],
                img_ids=pipeline._prepare_latent_image_ids(count, height // 2, width // 2, parts.device, parts.dtype),
                return_dict=False,
            )[0]
        scale = base.vae_scale_factor
        predicted = pipeline._unpack_latents(predicted, height * scale, width * scale, scale)
        loss = functional.mse_loss(predicted.float(), (noise - latents).to(parts.device).float())
        loss.backward()
        return float(loss.detach().cpu())

    return loss_of


def _captions_encoded(parts, examples) -> list[tuple]:
    """Each caption's T5 embeddings, CLIP's pooled one and the text ids, encoded once."""
    import torch

    with torch.no_grad():
        return [
            parts.pipeline.encode_prompt(
                prompt=[example.caption],
                prompt_2=None,
                device=parts.device,
                max_sequence_length=MAX_SEQUENCE_LENGTH,
            )
            for example in examples
        ]
