"""A tiny random-weight FLUX.1 Redux and the SigLIP vision model it reads images with, built in code.

Worker-only: imports torch, diffusers and transformers.
"""

from __future__ import annotations

from pathlib import Path


def tiny_siglip_write(*, path: Path, seed: int) -> Path:
    """SigLIP's vision tower at toy size (32-pixel images in 8-pixel patches: 16 tokens of width 32), with its image
    processor, as google/siglip-so400m-patch14-384 is laid out."""
    import torch
    from transformers import SiglipImageProcessor, SiglipVisionConfig, SiglipVisionModel

    torch.manual_seed(seed)
    config = SiglipVisionConfig(
        hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8
    )
    SiglipVisionModel(config).save_pretrained(str(path))
    SiglipImageProcessor(size={"height": 32, "width": 32}).save_pretrained(str(path))
    return path


def tiny_redux_write(*, path: Path, seed: int, siglip_width: int = 32, text_width: int = 32) -> Path:
    """The Redux projections from SigLIP's width into the tiny FLUX's T5 width, saved as BFL's single file is."""
    import torch
    from diffusers.pipelines.flux.modeling_flux import ReduxImageEncoder
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    embedder = ReduxImageEncoder(redux_dim=siglip_width, txt_in_features=text_width)
    save_file({key: tensor.contiguous() for key, tensor in embedder.state_dict().items()}, str(path))
    return path
