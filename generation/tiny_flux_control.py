"""A tiny random-weight FLUX.1 ControlNet (the InstantX / XLabs kind studios use for canny), built in code.

Worker-only: imports torch and diffusers.
"""

from __future__ import annotations

from pathlib import Path


def tiny_flux_controlnet_write(*, path: Path, base_seed: int, seed: int) -> Path:
    """A ControlNet copied from the tiny FLUX transformer built with `base_seed`, its zero-initialised outputs
    (which a trained ControlNet has learned) made random so the control image visibly steers the picture."""
    import torch
    from diffusers import FluxControlNetModel

    from generation.tiny_flux import tiny_flux_pipeline

    transformer = tiny_flux_pipeline(seed=base_seed).transformer
    config = transformer.config
    controlnet = FluxControlNetModel.from_transformer(
        transformer,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=config.attention_head_dim,
        num_attention_heads=config.num_attention_heads,
    )
    torch.manual_seed(seed)
    with torch.no_grad():
        for module in (
            *controlnet.controlnet_blocks,
            *controlnet.controlnet_single_blocks,
            controlnet.controlnet_x_embedder,
        ):
            for parameter in module.parameters():
                parameter.normal_(0.0, 0.3)
    controlnet.save_pretrained(str(path))
    return path
