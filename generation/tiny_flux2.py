"""A tiny random-weight FLUX.2 [klein] pipeline built in code, its tokenizer too: written as a diffusers folder, it is
registered and loaded like black-forest-labs/FLUX.2-klein-base-4B.

Worker-only: imports torch, diffusers, tokenizers and transformers.
"""

from __future__ import annotations

from pathlib import Path

from generation.tiny_qwen import _SPECIAL_TOKENS, _VOCAB_SIZE, _byte_symbols

_TEXT_WIDTH = 32
# The pipeline stacks the states of the text encoder's layers 9, 18 and 27 (of Qwen3's 36): the tiny encoder needs
# 27 layers at least, and has one more so that, as in the real one, none of them is its last.
_TEXT_LAYERS = 28
_STACKED_LAYERS = 3
# The tail of Qwen3's chat template that Flux2KleinPipeline reaches: one user turn, then the assistant's turn opened
# with an empty thinking block (it asks for enable_thinking=False).
_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}{{ '<think>\\n\\n</think>\\n\\n' }}{%- endif %}"
    "{%- endif %}"
)


def tiny_flux2_klein_pipeline(*, seed: int = 0):
    """FLUX.2 [klein]'s architecture at toy size: a rectified-flow transformer with one double-stream and one
    single-stream block and no guidance embedding, a Qwen3 text encoder whose stacked middle layers are the prompt,
    and FLUX.2's 32-channel VAE with its batch-norm of the patched latents."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, Flux2KleinPipeline

    torch.manual_seed(seed)
    tokenizer = _tokenizer()
    return Flux2KleinPipeline(
        transformer=_transformer(),
        vae=_vae(),
        text_encoder=_text_encoder(tokenizer=tokenizer),
        tokenizer=tokenizer,
        # Dynamic shifting as FLUX's schedulers are set up: the pipeline passes the shift (mu) it computes from the
        # image's token count and the steps.
        scheduler=FlowMatchEulerDiscreteScheduler(
            base_image_seq_len=256,
            base_shift=0.5,
            max_image_seq_len=4096,
            max_shift=1.15,
            shift=3.0,
            use_dynamic_shifting=True,
            time_shift_type="exponential",
        ),
        # The undistilled base: its guidance_scale is real classifier-free guidance (the distilled [klein] ignores it).
        is_distilled=False,
    )


def tiny_flux2_klein_write(*, path: Path, seed: int) -> Path:
    """The tiny FLUX.2 [klein] pipeline saved as a diffusers folder, laid out as the klein releases are."""
    tiny_flux2_klein_pipeline(seed=seed).save_pretrained(str(path))
    return path


def _transformer():
    import torch
    from diffusers import Flux2Transformer2DModel

    # 2x2 patches of the 32 latent channels; the four rotary axes (time, height, width, sequence) add up to the head
    # width; the prompt's width is the encoder's times the stacked layers. [klein] embeds no guidance.
    transformer = Flux2Transformer2DModel(
        in_channels=128,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=_STACKED_LAYERS * _TEXT_WIDTH,
        timestep_guidance_channels=32,
        axes_dims_rope=(4, 4, 4, 4),
        guidance_embeds=False,
    )
    # As in generation.tiny_flux, but more: FLUX.2 has no pooled text in its modulations, so the prompt reaches the
    # image through attention alone, near uniform at random init over the 512 text tokens. Threefold query/key norms
    # and modulations moved the image by 1.4 levels in 255 for another prompt; eightfold make it about 5.
    with torch.no_grad():
        for name, parameter in transformer.named_parameters():
            if ".norm_" in name or "modulation" in name:
                parameter.mul_(8)
    return transformer


def _vae():
    from diffusers import AutoencoderKLFlux2

    # One spatial halving instead of the real three, one block a level, narrow.
    return AutoencoderKLFlux2(
        block_out_channels=(16, 32),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        layers_per_block=1,
        latent_channels=32,
        norm_num_groups=8,
    )


def _text_encoder(*, tokenizer):
    """Qwen3 as a causal language model, as [klein] loads it (grouped-query attention, tied embeddings as in 4B)."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    config = Qwen3Config(
        vocab_size=_VOCAB_SIZE,
        hidden_size=_TEXT_WIDTH,
        intermediate_size=37,
        num_hidden_layers=_TEXT_LAYERS,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        tie_word_embeddings=True,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
    )
    return Qwen3ForCausalLM(config).eval()


def _tokenizer():
    """Qwen2's byte-level BPE, which Qwen3 keeps, over generation.tiny_qwen's byte symbols and without merges ([klein]
    drops no template tokens, so no word needs to be whole), then Qwen's special tokens, Qwen3's thinking marks
    (added tokens, not special ones, as in Qwen3) and the tail of its chat template."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    vocab = {symbol: index for index, symbol in enumerate([*_byte_symbols(), *_SPECIAL_TOKENS])}
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=[], model_max_length=131072)
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(token, special=True) for token in _SPECIAL_TOKENS[1:]]}
    )
    tokenizer.add_tokens([AddedToken(token, special=False) for token in ("<think>", "</think>")])
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer
