"""A tiny random-weight Stable Diffusion 3.5 pipeline built in code, as diffusers' own SD3 tests build theirs: written
as a diffusers folder, it is registered and loaded like stabilityai/stable-diffusion-3.5-large.

Worker-only: imports torch, diffusers and transformers.
"""

from __future__ import annotations

from pathlib import Path

from generation.tiny import _tokenizer
from generation.tiny_flux import _t5_tokenizer

# SD3 lays the two CLIPs' states side by side and pads them to T5's width, the transformer's joint attention width,
# as the real one pads 768 + 1280 to 4096.
_CLIP_WIDTH = 32
_T5_WIDTH = 64


def tiny_sd3_pipeline(*, seed: int = 0):
    """SD 3.5's architecture at toy size: an MMDiT with two joint blocks and RMS-normed queries and keys (3.5's, not
    3's), CLIP-L and CLIP-G with projections for the pooled prompt, T5 for the token sequence, a 16-channel VAE."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, StableDiffusion3Pipeline

    torch.manual_seed(seed)
    text_encoder, text_encoder_2, text_encoder_3 = _text_encoders()
    return StableDiffusion3Pipeline(
        transformer=_transformer(),
        vae=_vae(),
        text_encoder=text_encoder,
        tokenizer=_tokenizer(),
        text_encoder_2=text_encoder_2,
        tokenizer_2=_tokenizer(),
        text_encoder_3=text_encoder_3,
        tokenizer_3=_t5_tokenizer(),
        # SD 3.5's own schedule: a fixed shift of 3.
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
    )


def tiny_sd3_write(*, path: Path, seed: int, lora: Path | None = None, lora_seed: int = 0) -> Path:
    """The tiny SD 3.5 pipeline saved as a diffusers folder; with `lora`, also a LoRA for it there, in the diffusers
    layout diffusers' SD3 DreamBooth trainer writes."""
    pipeline = tiny_sd3_pipeline(seed=seed)
    pipeline.save_pretrained(str(path))
    if lora is not None:
        _lora_write(pipeline=pipeline, path=lora, seed=lora_seed)
    return path


def _lora_write(*, pipeline, path: Path, seed: int) -> None:
    """Random (non-zero) low-rank updates of every joint block's attention projections."""
    import torch
    from diffusers import StableDiffusion3Pipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    name = f"tiny_sd3_lora_{seed}"
    pipeline.transformer.add_adapter(
        LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False),
        adapter_name=name,
    )
    layers = get_peft_model_state_dict(pipeline.transformer, adapter_name=name)
    StableDiffusion3Pipeline.save_lora_weights(
        str(path.parent), transformer_lora_layers=layers, weight_name=path.name, safe_serialization=True
    )
    pipeline.transformer.delete_adapters(name)


def _transformer():
    from diffusers import SD3Transformer2DModel

    # 2x2 patches of the 16 latent channels as the real one reads them; the CLIPs' pooled projections side by side.
    return SD3Transformer2DModel(
        sample_size=32,
        patch_size=2,
        in_channels=16,
        out_channels=16,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        joint_attention_dim=_T5_WIDTH,
        caption_projection_dim=32,
        pooled_projection_dim=2 * _CLIP_WIDTH,
        pos_embed_max_size=32,
        qk_norm="rms_norm",
    )


def _vae():
    from diffusers import AutoencoderKL

    # SD3's VAE: 16 latent channels, no quant convolutions, and its own shift and scale of the latents.
    return AutoencoderKL(
        block_out_channels=[16, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=16,
        norm_num_groups=8,
        shift_factor=0.0609,
        scaling_factor=1.5305,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )


def _text_encoders():
    """Two CLIPs with text projections (their pooled outputs) and a T5 v1.1-style encoder (gated GELU)."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, T5Config, T5EncoderModel

    clip = CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=2,
        pad_token_id=1,
        hidden_size=_CLIP_WIDTH,
        intermediate_size=37,
        layer_norm_eps=1e-05,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=128,
        projection_dim=_CLIP_WIDTH,
    )
    t5 = T5Config(
        vocab_size=128,
        d_model=_T5_WIDTH,
        d_kv=16,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu",
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return CLIPTextModelWithProjection(clip), CLIPTextModelWithProjection(clip), T5EncoderModel(t5)
