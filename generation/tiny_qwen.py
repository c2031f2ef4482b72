"""A tiny random-weight Qwen-Image pipeline built in code, as diffusers' own Qwen-Image tests build theirs but with the
tokenizer made here too: written as a diffusers folder, it is registered and loaded like Qwen/Qwen-Image.

Worker-only: imports torch, diffusers, tokenizers and transformers.
"""

from __future__ import annotations

from pathlib import Path

# The text of the prompt template QwenImagePipeline wraps every prompt in, bar its special tokens. The pipeline drops
# the first 34 tokens' states, which in Qwen's vocabulary are exactly the template's system turn and the user turn's
# opening: the tiny vocabulary holds each of these words whole, so that it drops the same words.
_TEMPLATE_WORDS = (
    "system\nDescribe the image by detailing the color, shape, size, texture, quantity, text, spatial relationships "
    "of the objects and background:\nuser\nassistant\n"
)
_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
_VOCAB_SIZE = 512  # the embedding's rows; like the real one, more than the tokenizer's tokens
_TEXT_WIDTH = 32


def tiny_qwen_pipeline(*, seed: int = 0):
    """Qwen-Image's architecture at toy size: an MMDiT with two dual-stream blocks, a Qwen2.5-VL text encoder whose
    last layer's states are the prompt, and Qwen's causal video VAE with 16 latent channels."""
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, QwenImagePipeline

    torch.manual_seed(seed)
    tokenizer = _tokenizer()
    return QwenImagePipeline(
        transformer=_transformer(),
        vae=_vae(),
        text_encoder=_text_encoder(tokenizer=tokenizer),
        tokenizer=tokenizer,
        # Qwen-Image's own schedule: an exponential time shift of ln 3 at every size, ending at 0.02.
        scheduler=FlowMatchEulerDiscreteScheduler(
            base_image_seq_len=256,
            base_shift=1.0986122886681098,
            max_image_seq_len=8192,
            max_shift=1.0986122886681098,
            shift=1.0,
            shift_terminal=0.02,
            use_dynamic_shifting=True,
            time_shift_type="exponential",
        ),
    )


def tiny_qwen_write(*, path: Path, seed: int) -> Path:
    """The tiny Qwen-Image pipeline saved as a diffusers folder, laid out as Qwen/Qwen-Image is."""
    tiny_qwen_pipeline(seed=seed).save_pretrained(str(path))
    return path


def _transformer():
    import torch
    from diffusers import QwenImageTransformer2DModel

    # 2x2 patches of the 16 latent channels; the rotary axes' widths (frame, height, width) add up to the head width.
    transformer = QwenImageTransformer2DModel(
        patch_size=2,
        in_channels=64,
        out_channels=16,
        num_layers=2,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=_TEXT_WIDTH,
        guidance_embeds=False,
        axes_dims_rope=(4, 6, 6),
    )
    # As in generation.tiny_flux: at random init attention is near uniform and the modulations barely modulate, so
    # another prompt moved the image by 0.3 levels in 255; threefold query/key norms and modulations make it about 5.
    with torch.no_grad():
        for name, parameter in transformer.named_parameters():
            if ".norm_" in name or "_mod." in name:
                parameter.mul_(3)
    return transformer


def _vae():
    from diffusers import AutoencoderKLQwenImage

    # Two spatial halvings instead of the real three, as diffusers' tests build it, and narrow: its causal 3D
    # convolutions are most of the folder's bytes.
    return AutoencoderKLQwenImage(
        base_dim=8,
        z_dim=16,
        dim_mult=[1, 2, 2],
        num_res_blocks=1,
        temperal_downsample=[False, True],
        latents_mean=[0.0] * 16,
        latents_std=[1.0] * 16,
    )


def _text_encoder(*, tokenizer):
    """Qwen2.5-VL with a two-layer language model and a one-block vision tower (unused by text-to-image, but part of
    the model the pipeline loads); multimodal rotary sections add up to half the head width, as in the real one."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    ids = tokenizer.convert_tokens_to_ids
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": _VOCAB_SIZE,
            "hidden_size": _TEXT_WIDTH,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 2,
            "rope_scaling": {"mrope_section": [2, 2, 4], "rope_type": "default", "type": "default"},
            "rope_theta": 1000000.0,
            "bos_token_id": ids("<|endoftext|>"),
            "eos_token_id": ids("<|im_end|>"),
        },
        vision_config={"depth": 1, "hidden_size": 16, "intermediate_size": 16, "num_heads": 2, "out_hidden_size": 32},
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
    )
    return Qwen2_5_VLForConditionalGeneration(config).eval()


def _tokenizer():
    """Qwen2's byte-level BPE from an in-code vocabulary: the 256 byte symbols in GPT-2's order (any text encodes),
    merges that spell the template's words whole, then Qwen's special tokens."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    symbols = _byte_symbols()
    vocab = {symbol: index for index, symbol in enumerate(symbols)}
    spelling = Qwen2Tokenizer(vocab=dict(vocab), merges=[])
    merges = []
    for word, _ in spelling.backend_tokenizer.pre_tokenizer.pre_tokenize_str(_TEMPLATE_WORDS):
        # Each word's prefixes merged left to right: every prefix is a token, so the merges never strand a word.
        for end in range(2, len(word) + 1):
            if word[:end] not in vocab:
                merges.append((word[: end - 1], word[end - 1]))
                vocab[word[:end]] = len(vocab)
    for special in _SPECIAL_TOKENS:
        vocab[special] = len(vocab)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, model_max_length=131072)
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(token, special=True) for token in _SPECIAL_TOKENS[1:]]}
    )
    return tokenizer


def _byte_symbols() -> list[str]:
    """GPT-2's byte-to-symbol table: printable bytes stand for themselves, the rest for characters from U+0100 on."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [byte for byte in range(256) if byte not in printable]
    return [chr(byte) for byte in printable] + [chr(256 + index) for index in range(len(others))]
