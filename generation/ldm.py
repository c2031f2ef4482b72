"""Write a diffusers SD 1.x or SDXL pipeline as one original-layout checkpoint, the single-file format studios trade.

Used by make_tiny_models, so the single-file loading path is tested with a real file of that layout.
Worker-only: works on torch tensors.
"""

from __future__ import annotations

_RESNET = [
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("time_emb_proj", "emb_layers.1"),
    ("conv_shortcut", "skip_connection"),
]
_VAE_RESNET = [("conv_shortcut", "nin_shortcut")]
_VAE_ATTENTION = [("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")]


def _rename_inner(rest: str, pairs) -> str:
    for new, old in pairs:
        if rest == new or rest.startswith(new + "."):
            return old + rest[len(new) :]
    return rest


def _unet_key(key: str, config) -> str:
    per_level = config.layers_per_block
    has_attention = [block.startswith("CrossAttn") for block in config.up_block_types]
    parts = key.split(".")
    simple = {
        "time_embedding.linear_1": "time_embed.0",
        "time_embedding.linear_2": "time_embed.2",
        "conv_in": "input_blocks.0.0",
        "conv_norm_out": "out.0",
        "conv_out": "out.2",
    }
    for new, old in simple.items():
        if key.startswith(new + "."):
            return old + key[len(new) :]
    if parts[0] == "down_blocks":
        level, kind = int(parts[1]), parts[2]
        if kind == "downsamplers":
            return f"input_blocks.{(per_level + 1) * (level + 1)}.0.op." + ".".join(parts[5:])
        index = int(parts[3])
        block = f"input_blocks.{(per_level + 1) * level + index + 1}"
        rest = ".".join(parts[4:])
        return f"{block}.0.{_rename_inner(rest, _RESNET)}" if kind == "resnets" else f"{block}.1.{rest}"
    if parts[0] == "up_blocks":
        level, kind = int(parts[1]), parts[2]
        if kind == "upsamplers":
            return (
                f"output_blocks.{(per_level + 1) * level + per_level}.{2 if has_attention[level] else 1}."
                + ".".join(parts[4:])
            )
        index = int(parts[3])
        block = f"output_blocks.{(per_level + 1) * level + index}"
        rest = ".".join(parts[4:])
        return f"{block}.0.{_rename_inner(rest, _RESNET)}" if kind == "resnets" else f"{block}.1.{rest}"
    if parts[0] == "mid_block":
        kind, index, rest = parts[1], int(parts[2]), ".".join(parts[3:])
        return (
            f"middle_block.{2 * index}.{_rename_inner(rest, _RESNET)}"
            if kind == "resnets"
            else f"middle_block.1.{rest}"
        )
    raise ValueError(f"no original-layout name for UNet weight {key}")


def _vae_key(key: str, levels: int) -> tuple[str, bool]:
    """The LDM name, and whether the weight is an attention projection stored as a 1x1 convolution there."""
    parts = key.split(".")
    coder = parts[0]
    if parts[1] in ("conv_in", "conv_out"):
        return key, False
    if parts[1] == "conv_norm_out":
        return f"{coder}.norm_out." + ".".join(parts[2:]), False
    if parts[1] == "mid_block":
        kind, index, rest = parts[2], int(parts[3]), ".".join(parts[4:])
        if kind == "resnets":
            return f"{coder}.mid.block_{index + 1}.{_rename_inner(rest, _VAE_RESNET)}", False
        return f"{coder}.mid.attn_1.{_rename_inner(rest, _VAE_ATTENTION)}", rest.split(".")[0] in (
            "to_q",
            "to_k",
            "to_v",
            "to_out",
        )
    if parts[1] in ("down_blocks", "up_blocks"):
        level = int(parts[2]) if coder == "encoder" else levels - 1 - int(parts[2])
        group = "down" if coder == "encoder" else "up"
        if parts[3] in ("downsamplers", "upsamplers"):
            return f"{coder}.{group}.{level}.{'downsample' if group == 'down' else 'upsample'}." + ".".join(
                parts[5:]
            ), False
        index, rest = int(parts[4]), ".".join(parts[5:])
        return f"{coder}.{group}.{level}.block.{index}.{_rename_inner(rest, _VAE_RESNET)}", False
    return key, False


def _clip_items(text_encoder):
    """CLIP weights as (name under text_model./text_projection., tensor);
    newer transformers drop the text_model level."""
    for key, tensor in text_encoder.state_dict().items():
        yield (key if key.startswith(("text_model.", "text_projection.")) else f"text_model.{key}"), tensor


def _open_clip_state(text_encoder, prefix: str) -> dict:
    """SDXL's second text encoder in OpenCLIP's layout: fused q/k/v, resblocks, a transposed projection."""
    import torch

    renames = [
        ("text_model.encoder.layers.", "transformer.resblocks."),
        ("layer_norm1", "ln_1"),
        ("layer_norm2", "ln_2"),
        (".mlp.fc1.", ".mlp.c_fc."),
        (".mlp.fc2.", ".mlp.c_proj."),
        (".self_attn.", ".attn."),
    ]
    fixed = {
        "text_model.embeddings.position_embedding.weight": "positional_embedding",
        "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
        "text_model.final_layer_norm.weight": "ln_final.weight",
        "text_model.final_layer_norm.bias": "ln_final.bias",
    }
    weights = dict(_clip_items(text_encoder))
    state, fused = {}, {}
    for key, tensor in weights.items():
        if key in fixed:
            state[prefix + fixed[key]] = tensor.contiguous()
        elif key == "text_projection.weight":
            state[prefix + "text_projection"] = tensor.T.contiguous()
        elif any(part in key for part in ("q_proj", "k_proj", "v_proj")):
            layer, projection, kind = key.rsplit(".", 2)
            fused.setdefault((layer, kind), {})[projection] = tensor
        else:
            name = key
            for new, old in renames:
                name = name.replace(new, old)
            state[prefix + name] = tensor.contiguous()
    for (layer, kind), parts in fused.items():
        name = layer.replace(".self_attn", ".attn")
        for new, old in renames[:1]:
            name = name.replace(new, old)
        state[f"{prefix}{name}.in_proj_{kind}"] = torch.cat(
            [parts["q_proj"], parts["k_proj"], parts["v_proj"]]
        ).contiguous()
    return state


def ldm_state_dict(*, pipeline) -> dict:
    """The pipeline's UNet, VAE and text encoders under the original Stable Diffusion 1.x / SDXL names."""
    sdxl = getattr(pipeline, "text_encoder_2", None) is not None
    state = {}
    for key, tensor in pipeline.unet.state_dict().items():
        if key.startswith("add_embedding."):
            name = key.replace("add_embedding.linear_1", "label_emb.0.0").replace(
                "add_embedding.linear_2", "label_emb.0.2"
            )
        else:
            name = _unet_key(key, pipeline.unet.config)
        state[f"model.diffusion_model.{name}"] = tensor.contiguous()
    levels = len(pipeline.vae.config.block_out_channels)
    for key, tensor in pipeline.vae.state_dict().items():
        name, as_conv = _vae_key(key, levels)
        if as_conv and tensor.ndim == 2:
            tensor = tensor[:, :, None, None]
        state[f"first_stage_model.{name}"] = tensor.contiguous()
    clip_prefix = "conditioner.embedders.0.transformer." if sdxl else "cond_stage_model.transformer."
    for name, tensor in _clip_items(pipeline.text_encoder):
        state[clip_prefix + name] = tensor.contiguous()
    if sdxl:
        state.update(_open_clip_state(pipeline.text_encoder_2, "conditioner.embedders.1.model."))
    return state
