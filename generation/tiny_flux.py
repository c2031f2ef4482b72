"""A tiny random-weight FLUX.1 pipeline built in code, as generation.tiny builds the SD ones and diffusers' own FLUX
tests build theirs: written as a diffusers folder, it is registered and loaded like black-forest-labs/FLUX.1-dev.

Worker-only: imports torch, diffusers and transformers.
"""

from __future__ import annotations

from pathlib import Path

from generation.tiny import _CHARACTERS, _tokenizer


def tiny_flux_pipeline(*, seed: int = 0):
    """FLUX.1-dev's architecture at toy size: a rectified-flow transformer with one double-stream and one
    single-stream block, CLIP for the pooled prompt, T5 for the token sequence and a 16-channel VAE."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline

    torch.manual_seed(seed)
    transformer = _transformer()
    vae = _vae()
    text_encoder, text_encoder_2 = _text_encoders()
    # FLUX.1-dev's own schedule: the shift grows with the image's token count.
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )
    return FluxPipeline(
        transformer=transformer,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tokenizer(),
        text_encoder_2=text_encoder_2,
        tokenizer_2=_t5_tokenizer(),
        scheduler=scheduler,
    )


def tiny_flux_write(*, path: Path, seed: int, lora: Path | None = None, lora_seed: int = 0) -> Path:
    """The tiny FLUX.1 pipeline saved as a diffusers folder, laid out as black-forest-labs/FLUX.1-dev is; with `lora`,
    also a LoRA for it there, in the diffusers layout ai-toolkit and diffusers' trainers write."""
    pipeline = tiny_flux_pipeline(seed=seed)
    pipeline.save_pretrained(str(path))
    if lora is not None:
        _lora_write(pipeline=pipeline, path=lora, seed=lora_seed)
    return path


def tiny_flux_kontext_write(*, path: Path, seed: int) -> Path:
    """FLUX.1 Kontext [dev] at toy size, saved as a FluxKontextPipeline folder as black-forest-labs/FLUX.1-Kontext-dev
    is: Kontext is FLUX.1 [dev] fine-tuned to read the init image's latents appended to the token sequence, so its
    components have [dev]'s shapes (and [dev]'s LoRAs fit it)."""
    from diffusers import FluxKontextPipeline

    FluxKontextPipeline(**tiny_flux_pipeline(seed=seed).components).save_pretrained(str(path))
    return path


def tiny_flux_fill_write(*, path: Path, seed: int) -> Path:
    """FLUX.1 Fill [dev] at toy size, saved as a FluxFillPipeline folder as black-forest-labs/FLUX.1-Fill-dev is.

    Fill's transformer reads, side by side in each 2x2 patch, the noisy latents, the masked image's latents and the
    mask at pixel resolution folded into the patch: 64 + 64 + 4 x 8² = 384 channels with BFL's 8x VAE, 64 + 64 +
    4 x 2² = 144 with the tiny 2x one. It still predicts the 64 channels of the latents alone.
    """
    from diffusers import FluxFillPipeline

    flux = tiny_flux_pipeline(seed=seed)
    latent_channels = flux.transformer.config.in_channels
    transformer = _transformer(
        in_channels=2 * latent_channels + 4 * flux.vae_scale_factor**2, out_channels=latent_channels
    )
    fill = FluxFillPipeline(
        transformer=transformer,
        vae=flux.vae,
        text_encoder=flux.text_encoder,
        tokenizer=flux.tokenizer,
        text_encoder_2=flux.text_encoder_2,
        tokenizer_2=flux.tokenizer_2,
        scheduler=flux.scheduler,
    )
    fill.save_pretrained(str(path))
    return path


def _lora_write(*, pipeline, path: Path, seed: int) -> None:
    """Random (non-zero) low-rank updates of every block's attention projections."""
    import torch
    from diffusers import FluxPipeline
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    name = f"tiny_flux_lora_{seed}"
    pipeline.transformer.add_adapter(
        LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v"], init_lora_weights=False),
        adapter_name=name,
    )
    layers = get_peft_model_state_dict(pipeline.transformer, adapter_name=name)
    FluxPipeline.save_lora_weights(
        str(path.parent), transformer_lora_layers=layers, weight_name=path.name, safe_serialization=True
    )
    pipeline.transformer.delete_adapters(name)


def _transformer(*, in_channels: int = 64, out_channels: int | None = None):
    import torch
    from diffusers import FluxTransformer2DModel

    # The transformer reads 2x2 patches of latents, so it takes 4x the VAE's 16 latent channels, as the real one does;
    # the rotary axes' widths add up to the head width. Guidance embedded as in FLUX.1-dev (schnell has none).
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=in_channels,
        out_channels=out_channels,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        guidance_embeds=True,
        axes_dims_rope=(4, 4, 8),
    )
    # At random init the attention is near uniform over the 512 T5 tokens and the adaptive norms barely modulate:
    # changing the T5 prompt moved the image by 0.05 levels in 255, so no test could tell a path that drops it.
    # Trained FLUX attends sharply and follows its conditioning; threefold query/key norms (sharper attention) and
    # timestep, guidance and pooled-text embedders and modulations (stronger conditioning) make it about 3 levels.
    with torch.no_grad():
        for name, parameter in transformer.named_parameters():
            if ".norm_" in name or ".linear" in name:
                parameter.mul_(3)
    return transformer


def _vae():
    from diffusers import AutoencoderKL

    # FLUX's VAE: 16 latent channels, no quant convolutions, and its own shift and scale of the latents.
    return AutoencoderKL(
        block_out_channels=[16, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=16,
        norm_num_groups=8,
        shift_factor=0.1159,
        scaling_factor=0.3611,
        use_quant_conv=False,
        use_post_quant_conv=False,
    )


def _text_encoders():
    """CLIP (its pooled output is the transformer's pooled projection) and a T5 v1.1-style encoder (gated GELU)."""
    from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

    clip = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=2,
            pad_token_id=1,
            hidden_size=32,
            intermediate_size=37,
            layer_norm_eps=1e-05,
            num_attention_heads=4,
            num_hidden_layers=2,
            vocab_size=128,
        )
    )
    t5 = T5EncoderModel(
        T5Config(
            vocab_size=128,
            d_model=32,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            feed_forward_proj="gated-gelu",
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    )
    return clip, t5


def _t5_tokenizer():
    """A T5 tokenizer from an in-code vocabulary: SentencePiece's Unigram over single characters, each also with
    SentencePiece's word-start mark (U+2581) as the real vocabulary spells a word's first piece.

    T5's own ids for the specials: <pad> 0, </s> 1, <unk> 2. FLUX never uses T5's sentinel tokens, so none are made.
    """
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [(prefix + character, -3.0) for character in _CHARACTERS for prefix in ("\u2581", "")]
    # FLUX.1 reads T5 prompts up to 512 tokens, as its real tokenizer_2 says.
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=512)
