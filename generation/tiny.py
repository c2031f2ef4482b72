"""Tiny random-weight models in the formats studios use, for tests, the demo and benchmarks.

They go through exactly the production path: written to disk as a diffusers folder, LoRA
.safetensors files and a ControlNet folder, then registered and loaded by sha256.
Worker-only: imports torch, diffusers, transformers and peft.
"""

from __future__ import annotations

from pathlib import Path

from generation.tiny_flux2 import tiny_flux2_klein_write

TINY_SIZE = 64
_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789,.-'!?:;()#"


def _tokenizer():
    from transformers import CLIPTokenizer

    vocab = {"<|startoftext|>": 0, "!": 1, "<|endoftext|>": 2}
    for character in _CHARACTERS:
        for suffix in ("", "</w>"):
            vocab.setdefault(character + suffix, len(vocab))
    # Without model_max_length the tokenizer's length is unbounded and the text encoder overflows.
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def tiny_pipeline(*, seed: int = 0):
    import torch
    from diffusers import AutoencoderKL, DPMSolverMultistepScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=TINY_SIZE // 2,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        block_out_channels=[16, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        norm_num_groups=8,
    )
    text_encoder = CLIPTextModel(
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
    scheduler = DPMSolverMultistepScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        steps_offset=1,
        use_karras_sigmas=True,
        algorithm_type="dpmsolver++",
    )
    return StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=_tokenizer(),
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def tiny_xl_pipeline(*, seed: int = 0):
    """A tiny SDXL-architecture pipeline: two text encoders and the UNet's text-time conditioning."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=TINY_SIZE // 2,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=80,
        cross_attention_dim=80,
        norm_num_groups=8,
    )
    vae = AutoencoderKL(
        block_out_channels=[16, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        norm_num_groups=8,
    )
    text = {
        "bos_token_id": 0,
        "eos_token_id": 2,
        "pad_token_id": 1,
        "intermediate_size": 37,
        "layer_norm_eps": 1e-05,
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "vocab_size": 128,
        "hidden_act": "gelu",
        "projection_dim": 32,
    }
    scheduler = EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1
    )
    # As in SDXL the two encoders differ in width (there 768 and 1280): single-file loaders tell them apart by it.
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(CLIPTextConfig(hidden_size=32, **text)),
        text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(hidden_size=48, **text)),
        tokenizer=_tokenizer(),
        tokenizer_2=_tokenizer(),
        unet=unet,
        scheduler=scheduler,
    )


def tiny_vae_write(*, path: Path, seed: int) -> Path:
    """A replacement VAE with its own random weights, as studios swap VAEs on a base model."""
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    AutoencoderKL(
        block_out_channels=[16, 32],
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        latent_channels=4,
        norm_num_groups=8,
    ).save_pretrained(str(path))
    return path


def tiny_lora_write(*, pipeline, path: Path, seed: int) -> Path:
    """A LoRA over the UNet's attention projections with random (non-zero) weights, saved as one .safetensors."""
    import torch
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    name = f"tiny_lora_{seed}"
    pipeline.unet.add_adapter(
        LoraConfig(r=4, lora_alpha=4, target_modules=["to_q", "to_k", "to_v", "to_out.0"], init_lora_weights=False),
        adapter_name=name,
    )
    layers = get_peft_model_state_dict(pipeline.unet, adapter_name=name)
    type(pipeline).save_lora_weights(
        str(path.parent), unet_lora_layers=layers, weight_name=path.name, safe_serialization=True
    )
    pipeline.unet.delete_adapters(name)
    return path


def tiny_controlnet_write(*, pipeline, path: Path, seed: int) -> Path:
    """A ControlNet copied from `pipeline`'s UNet, its zero convolutions given random weights as training leaves them.

    ControlNetModel.from_unet zeroes the convolutions that add the control to the UNet (and the last one of the
    control image's embedding): left so, a ControlNet job paints exactly the plain txt2img image, and no test could
    tell a ControlNet path that ignores its control image from one that reads it.
    """
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(seed)
    controlnet = ControlNetModel.from_unet(pipeline.unet, conditioning_embedding_out_channels=(16, 32))
    generator = torch.Generator().manual_seed(seed)
    # Small where they add to the UNet's features; larger on the control image's way in, so that which control
    # image it is shows in the pixels.
    scaled = [(module, 0.1) for module in (*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block)]
    scaled.append((controlnet.controlnet_cond_embedding.conv_out, 1.0))
    with torch.no_grad():
        for module, std in scaled:
            for parameter in module.parameters():
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
    controlnet.save_pretrained(str(path))
    return path


def tiny_image_encoder_write(*, path: Path, seed: int) -> Path:
    """A tiny CLIP vision model with projection, saved as transformers saves the real IP-Adapter encoders."""
    import torch
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=37,
            projection_dim=16,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=32,
            patch_size=8,
        )
    ).save_pretrained(str(path))
    return path


def tiny_ip_adapter_write(*, pipeline, path: Path, seed: int, embed_dim: int = 16) -> Path:
    """A tiny IP-Adapter for `pipeline`'s UNet in the original release layout: one .safetensors with `image_proj.*`
    (4 image tokens from the encoder's `embed_dim`-wide embedding) and `ip_adapter.N.to_k_ip/to_v_ip.weight` for
    every cross-attention, numbered 1, 3, 5 … as the releases number them."""
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    unet = pipeline.unet
    cross = unet.config.cross_attention_dim
    state = {
        "image_proj.proj.weight": torch.randn(cross * 4, embed_dim) * 0.2,
        "image_proj.proj.bias": torch.zeros(cross * 4),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    number = 1
    for name in unet.attn_processors:
        if name.endswith("attn2.processor"):
            attention = unet.get_submodule(name.removesuffix(".processor"))
            for projection in ("to_k_ip", "to_v_ip"):
                state[f"ip_adapter.{number}.{projection}.weight"] = torch.randn_like(attention.to_k.weight) * 0.2
            number += 2
    save_file({key: value.contiguous() for key, value in state.items()}, str(path))
    return path


def tiny_matting_write(*, path: Path, seed: int) -> Path:
    """A tiny ONNX matting model shaped like rembg's U²-Net exports: one image tensor (1, 3, H, W) in, a one-channel
    saliency map (1, 1, H, W) out through a sigmoid; two 3x3 convolutions with random weights, built with `onnx`."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    generator = np.random.default_rng(seed)
    weights = {
        "conv1.weight": generator.normal(0.0, 0.5, (8, 3, 3, 3)).astype(np.float32),
        "conv1.bias": generator.normal(0.0, 0.1, (8,)).astype(np.float32),
        "conv2.weight": generator.normal(0.0, 0.5, (1, 8, 3, 3)).astype(np.float32),
        "conv2.bias": np.zeros((1,), dtype=np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["input.1", "conv1.weight", "conv1.bias"], ["hidden"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["hidden"], ["activated"]),
        helper.make_node("Conv", ["activated", "conv2.weight", "conv2.bias"], ["logits"], pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["logits"], ["d1"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_u2net",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "height", "width"])],
        [helper.make_tensor_value_info("d1", TensorProto.FLOAT, [1, 1, "height", "width"])],
        initializer=[numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="seed make_tiny_models")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def tiny_single_file_write(*, pipeline, path: Path, config: Path) -> tuple[Path, Path]:
    """The same model as one original-layout .safetensors checkpoint, plus the config folder it needs."""
    import shutil

    from safetensors.torch import save_file

    from generation.ldm import ldm_state_dict

    save_file(ldm_state_dict(pipeline=pipeline), str(path))
    pipeline.save_pretrained(str(config))
    for weights in [*config.rglob("*.safetensors"), *config.rglob("*.bin")]:
        weights.unlink()
    shutil.rmtree(config / "feature_extractor", ignore_errors=True)
    return path, config


def tiny_upscaler_write(*, path: Path, scale: int, seed: int, compact: bool = False) -> Path:
    """A tiny random-weight Real-ESRGAN file spandrel detects like the real ones.

    RRDBNet (x4plus/x2plus layout): 16 filters, 2 blocks, the default growth channels detection expects.
    Compact (SRVGGNet, like realesr-general-x4v3) adds the nearest-neighbour upscale of its input to its
    output; its last conv is damped so the tiny one reads as a faithful enlargement with faint texture.
    """
    import torch
    from safetensors.torch import save_file
    from spandrel.architectures.Compact import Compact
    from spandrel.architectures.ESRGAN import ESRGAN

    torch.manual_seed(seed)
    model = (
        Compact(num_feat=16, num_conv=4, upscale=scale)
        if compact
        else ESRGAN(num_filters=16, num_blocks=2, scale=scale)
    )
    state = {key: value.contiguous() for key, value in model.state_dict().items()}
    if compact:
        last = max(
            (key for key in state if key.startswith("body.") and key.endswith(".weight") and state[key].dim() == 4),
            key=lambda key: int(key.split(".")[1]),
        )
        state[last] = state[last] * 0.05
        state[last.replace(".weight", ".bias")] = state[last.replace(".weight", ".bias")] * 0.05
    save_file(state, str(path))
    return path


def tiny_models_write(*, folder: Path) -> dict:
    """Write every tiny model into `folder`; same seeds, same bytes, so registering twice is a no-op. Values are
    paths; the single-file base is (checkpoint, its config folder)."""
    # Here, not at the top: generation.tiny_flux builds on this module's CLIP tokenizer.
    from generation.tiny_flux import tiny_flux_fill_write, tiny_flux_kontext_write, tiny_flux_write
    from generation.tiny_flux_control import tiny_flux_controlnet_write
    from generation.tiny_flux_redux import tiny_redux_write, tiny_siglip_write
    from generation.tiny_qwen import tiny_qwen_edit_write, tiny_qwen_write
    from generation.tiny_sd3 import tiny_sd3_write

    folder.mkdir(parents=True, exist_ok=True)
    pipeline = tiny_pipeline(seed=0)
    base = folder / "tiny-sd15"
    pipeline.save_pretrained(str(base))
    single, config = tiny_single_file_write(
        pipeline=pipeline, path=folder / "tiny-sd15.safetensors", config=folder / "tiny-sd15-config"
    )
    # The ControlNet copies a clean UNet: adding a LoRA adapter leaves peft wrappers in the UNet for good.
    controlnet = tiny_controlnet_write(pipeline=pipeline, path=folder / "tiny-controlnet", seed=3)
    ip_adapter = tiny_ip_adapter_write(pipeline=pipeline, path=folder / "tiny-ip-adapter.safetensors", seed=10)
    base_xl = folder / "tiny-sdxl"
    xl = tiny_xl_pipeline(seed=4)
    xl.save_pretrained(str(base_xl))
    return {
        "base": base,
        "base_single": (single, config),
        "base_xl": base_xl,
        "base_xl_single": tiny_single_file_write(
            pipeline=xl, path=folder / "tiny-sdxl.safetensors", config=folder / "tiny-sdxl-config"
        ),
        "flux": tiny_flux_write(
            path=folder / "tiny-flux1", seed=12, lora=folder / "tiny-flux-portrait.safetensors", lora_seed=13
        ),
        "lora_flux": folder / "tiny-flux-portrait.safetensors",
        "controlnet_flux": tiny_flux_controlnet_write(path=folder / "tiny-flux-controlnet", base_seed=12, seed=15),
        "redux_flux": tiny_redux_write(path=folder / "tiny-flux-redux.safetensors", seed=20),
        "siglip": tiny_siglip_write(path=folder / "tiny-siglip", seed=21),
        "flux_kontext": tiny_flux_kontext_write(path=folder / "tiny-flux1-kontext", seed=14),
        "flux_fill": tiny_flux_fill_write(path=folder / "tiny-flux1-fill", seed=19),
        "sd35": tiny_sd3_write(
            path=folder / "tiny-sd35", seed=16, lora=folder / "tiny-sd35-ink.safetensors", lora_seed=17
        ),
        "lora_sd35": folder / "tiny-sd35-ink.safetensors",
        "qwen_image": tiny_qwen_write(path=folder / "tiny-qwen-image", seed=18),
        "flux2_klein": tiny_flux2_klein_write(path=folder / "tiny-flux2-klein", seed=23),
        "qwen_image_edit": tiny_qwen_edit_write(path=folder / "tiny-qwen-image-edit", seed=22),
        "lora_a": tiny_lora_write(pipeline=pipeline, path=folder / "tiny-style-a.safetensors", seed=1),
        "lora_b": tiny_lora_write(pipeline=pipeline, path=folder / "tiny-style-b.safetensors", seed=2),
        "controlnet": controlnet,
        "ip_adapter": ip_adapter,
        "image_encoder": tiny_image_encoder_write(path=folder / "tiny-image-encoder", seed=9),
        "matting": tiny_matting_write(path=folder / "tiny-u2net.onnx", seed=11),
        "vae": tiny_vae_write(path=folder / "tiny-vae", seed=5),
        "upscaler_x4": tiny_upscaler_write(path=folder / "tiny-realesrgan-x4plus.safetensors", scale=4, seed=6),
        "upscaler_x2": tiny_upscaler_write(path=folder / "tiny-realesrgan-x2plus.safetensors", scale=2, seed=7),
        "upscaler_general": tiny_upscaler_write(
            path=folder / "tiny-realesr-general-x4.safetensors", scale=4, seed=8, compact=True
        ),
    }
