"""Tiny random-weight Qwen-Image and Qwen-Image-Edit pipelines built in code, as diffusers' own Qwen-Image tests build
theirs but with the tokenizer made here too: written as diffusers folders, they are registered and loaded like
Qwen/Qwen-Image and Qwen/Qwen-Image-Edit.

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
# The edit pipeline's template, likewise: it drops the first 64 tokens, the system turn and the user turn's opening,
# and keeps the init image's tokens that follow them.
_EDIT_TEMPLATE_WORDS = (
    "system\nDescribe the key features of the input image (color, shape, size, texture, objects, background), then "
    "explain how the user's text instruction should alter or modify the image. Generate a new image that meets the "
    "user's requirements while maintaining consistency with the original input where appropriate.\nuser\nassistant\n"
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
    from diffusers import QwenImagePipeline

    torch.manual_seed(seed)
    tokenizer = _tokenizer()
    return QwenImagePipeline(
        transformer=_transformer(),
        vae=_vae(),
        text_encoder=_text_encoder(tokenizer=tokenizer),
        tokenizer=tokenizer,
        scheduler=_scheduler(),
    )


def tiny_qwen_write(*, path: Path, seed: int) -> Path:
    """The tiny Qwen-Image pipeline saved as a diffusers folder, laid out as Qwen/Qwen-Image is."""
    tiny_qwen_pipeline(seed=seed).save_pretrained(str(path))
    return path


def tiny_qwen_edit_pipeline(*, seed: int = 0):
    """Qwen-Image-Edit at toy size: Qwen-Image's transformer and text encoder, whose vision tower reads the init image
    through a Qwen2-VL processor, and a VAE that halves three times as the real one does."""
    import torch
    from diffusers import QwenImageEditPipeline
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    torch.manual_seed(seed)
    tokenizer = _tokenizer(template_words=_EDIT_TEMPLATE_WORDS)
    processor = Qwen2VLProcessor(
        # The real processor's smallest size, but a cap of 112x112 where the real one reads the megapixel condition
        # whole: about 16 image tokens instead of about 1,300.
        image_processor=Qwen2VLImageProcessor(min_pixels=56 * 56, max_pixels=112 * 112),
        tokenizer=tokenizer,
        # Never used by an edit, but the processor cannot be made without one.
        video_processor=Qwen2VLVideoProcessor(),
    )
    return QwenImageEditPipeline(
        transformer=_transformer(),
        # The pipeline always conditions on the init at a megapixel: two halvings would make that 16,384 latent
        # tokens (about 20 s a tiny job on CPU), three make it the real model's 4,096 (about 4 s).
        vae=_vae(halvings=3),
        text_encoder=_text_encoder(tokenizer=tokenizer),
        tokenizer=tokenizer,
        processor=processor,
        scheduler=_scheduler(),
    )


def tiny_qwen_edit_write(*, path: Path, seed: int) -> Path:
    """The tiny Qwen-Image-Edit pipeline saved as a diffusers folder, laid out as Qwen/Qwen-Image-Edit is."""
    tiny_qwen_edit_pipeline(seed=seed).save_pretrained(str(path))
    return path


def _scheduler():
    from diffusers import FlowMatchEulerDiscreteScheduler

    # Qwen-Image's own schedule: an exponential time shift of ln 3 at every size, ending at 0.02.
    return FlowMatchEulerDiscreteScheduler(
        base_image_seq_len=256,
        base_shift=1.0986122886681098,
        max_image_seq_len=8192,
        max_shift=1.0986122886681098,
        shift=1.0,
        shift_terminal=0.02,
        use_dynamic_shifting=True,
        time_shift_type="exponential",
    )


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


def _vae(*, halvings: int = 2):
    from diffusers import AutoencoderKLQwenImage

    # Two spatial halvings unless asked for the real three, as diffusers' tests build it, and narrow: its causal 3D
    # convolutions are most of the folder's bytes.
    return AutoencoderKLQwenImage(
        base_dim=8,
        z_dim=16,
        dim_mult=[1] + [2] * halvings,
        num_res_blocks=1,
        temperal_downsample=[False] + [True] * (halvings - 1),
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


def _tokenizer(*, template_words: str = _TEMPLATE_WORDS):
    """Qwen2's byte-level BPE from an in-code vocabulary: the 256 byte symbols in GPT-2's order (any text encodes),
    merges that spell the template's words whole, then Qwen's special tokens."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    symbols = _byte_symbols()
    vocab = {symbol: index for index, symbol in enumerate(symbols)}
    spelling = Qwen2Tokenizer(vocab=dict(vocab), merges=[])
    merges = []
    words = [word for word, _ in spelling.backend_tokenizer.pre_tokenizer.pre_tokenize_str(template_words)]
    for word in words:
        # Each word's prefixes merged left to right, so that every prefix is a token.
        for end in range(2, len(word) + 1):
            if word[:end] not in vocab:
                merges.append((word[: end - 1], word[end - 1]))
                vocab[word[:end]] = len(vocab)
    _stranded_words_join(words=words, vocab=vocab, merges=merges)
    for special in _SPECIAL_TOKENS:
        vocab[special] = len(vocab)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, model_max_length=131072)
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(token, special=True) for token in _SPECIAL_TOKENS[1:]]}
    )
    return tokenizer


def _stranded_words_join(*, words: list[str], vocab: dict, merges: list) -> None:
    """Merge whole the words that another word's merges strand: BPE applies the earliest merge first, so the "co" of
    "color" splits " consistency" before its own prefix " co" can form. Its pieces are joined by merges ranked after
    all others, which apply only where no earlier merge does and so leave every word already whole as it was."""
    from tokenizers.models import BPE

    for word in words:
        pieces = [token.value for token in BPE(vocab=dict(vocab), merges=list(merges)).tokenize(word)]
        while len(pieces) > 1:
            merges.append((pieces[0], pieces[1]))
            pieces = [pieces[0] + pieces[1], *pieces[2:]]
            vocab.setdefault(pieces[0], len(vocab))


def _byte_symbols() -> list[str]:
    """GPT-2's byte-to-symbol table: printable bytes stand for themselves, the rest for characters from U+0100 on."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [byte for byte in range(256) if byte not in printable]
    return [chr(byte) for byte in printable] + [chr(256 + index) for index in range(len(others))]
