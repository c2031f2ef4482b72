"""FLUX.1 Redux: image prompts for FLUX, as the IP-Adapter is for SD. Worker-only: imports torch and transformers.

Redux reads each image with SigLIP and projects its tokens into T5's space; the images' tokens are appended to the
prompt's, each scaled by the recipe's `ip_adapter_scale` (ComfyUI's style strength), so the brief's palette guide
(a colour lock) and style references steer the picture beside the words. The adapter is Black Forest Labs'
`flux1-redux-dev.safetensors` (`redux_up`, `redux_down`); the encoder google/siglip-so400m-patch14-384, registered as
an image encoder.
"""

from __future__ import annotations

from assets.errors import ApplicationError
from assets.models import ModelWeights
from assets.recipes import Recipe

REDUX_KEYS = ("redux_up.weight", "redux_down.weight")


def redux_embedder(*, weights: ModelWeights, device: str, dtype):
    """The adapter's two projections, sized from the file (SigLIP's width in, T5's width out)."""
    from diffusers.pipelines.flux.modeling_flux import ReduxImageEncoder
    from safetensors.torch import load_file

    from generation.loader import weights_path

    state = load_file(str(weights_path(weights=weights)))
    if not all(key in state for key in REDUX_KEYS):
        raise ApplicationError(f"{weights.name} is not a FLUX.1 Redux adapter", extra={"code": "not_redux"})
    text_width, siglip_width = state["redux_down.weight"].shape[0], state["redux_up.weight"].shape[1]
    embedder = ReduxImageEncoder(redux_dim=siglip_width, txt_in_features=text_width)
    embedder.load_state_dict(state)
    return embedder.to(device=device, dtype=dtype)


def redux_prompt_inputs(*, base, recipe: Recipe, images: list, cache) -> dict:
    """The prompt's T5 and CLIP embeddings with each image's Redux tokens appended at the recipe's scale."""
    import torch
    from transformers import SiglipImageProcessor

    from generation.loader import weights_path

    encoder = cache.image_encoder(weights=recipe.image_encoder)
    embedder = cache.redux(weights=recipe.ip_adapter)
    processor = SiglipImageProcessor.from_pretrained(str(weights_path(weights=recipe.image_encoder)))
    scale = recipe.params["ip_adapter_scale"]
    with torch.no_grad():
        prompt_embeds, pooled, _ = base.encode_prompt(
            prompt=recipe.prompt_text, prompt_2=None, device=encoder.device, max_sequence_length=512
        )
        tokens = [prompt_embeds]
        for image in images:
            pixels = processor(images=image, return_tensors="pt").pixel_values.to(encoder.device, encoder.dtype)
            states = encoder(pixel_values=pixels).last_hidden_state.to(embedder.dtype)
            image_tokens = embedder(states).image_embeds
            tokens.append(image_tokens.to(prompt_embeds.dtype) * scale)
        inputs = {"prompt_embeds": torch.cat(tokens, dim=1), "pooled_prompt_embeds": pooled}
        if recipe.params["cfg"] > 1:
            # True CFG steers away from the negative prompt's words alone.
            negative, negative_pooled, _ = base.encode_prompt(
                prompt=recipe.prompt.negative_text or "", prompt_2=None, device=encoder.device, max_sequence_length=512
            )
            inputs.update(negative_prompt_embeds=negative, negative_pooled_prompt_embeds=negative_pooled)
    return inputs
