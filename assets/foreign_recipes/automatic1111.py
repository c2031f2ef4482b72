"""AUTOMATIC1111 / Forge / SD.Next: the infotext in PNG `parameters` or the EXIF UserComment."""

from __future__ import annotations

from assets.errors import ApplicationError
from assets.foreign_recipes.recipe import ForeignRecipe, ModelRef, _number, _size, _text
from assets.infotext import A1111_NAMES, infotext_parse

_FROM_A1111 = {names: ours for ours, names in A1111_NAMES.items()}
# A1111's names of the hi-res fix upscalers we run the same way (its "Latent" is bilinear on the latents).
_HIRES_FROM_A1111 = {"Latent": "latent", "Lanczos": "lanczos"}


def _automatic1111(text: str) -> ForeignRecipe:
    parsed = infotext_parse(text)
    values = parsed.values
    if "Steps" not in values and "Seed" not in values:
        raise ApplicationError(
            "the parameters text holds no A1111 settings line", extra={"code": "metadata_unreadable"}
        )
    params: dict = {}
    sampler, schedule = values.get("Sampler", ""), values.get("Schedule type")
    if sampler.endswith(" Karras") and schedule is None:  # A1111 before 1.9 named the schedule in the sampler
        sampler, schedule = sampler[: -len(" Karras")], "Karras"
    if sampler:
        params["sampler_source"] = f"{sampler} / {schedule or 'Automatic'}"
        ours = _FROM_A1111.get((sampler, schedule or "Automatic"))
        if ours:
            params["sampler"] = ours
    for key, name, kind in (
        ("Steps", "steps", int),
        ("CFG scale", "cfg", float),
        ("Distilled CFG Scale", "distilled_cfg", float),  # Forge, for FLUX-class models
        ("Seed", "seed", int),
        ("Denoising strength", "strength", float),
    ):
        if key in values:
            params[name] = _number(values[key], kind, f"the {key}")
    if "Size" in values:
        width, _, height = values["Size"].partition("x")
        _size(params, width, height)
    if "Hires upscale" in values:
        # A txt2img run with the hi-res fix: "Denoising strength" is its second pass's, not an img2img's.
        params["hires_scale"] = _number(values["Hires upscale"], float, "the Hires upscale")
        if "Hires steps" in values:
            params["hires_steps"] = _number(values["Hires steps"], int, "the Hires steps")
        upscaler = _text(values.get("Hires upscaler", "Latent"), "the Hires upscaler")
        params["hires_upscaler_source"] = upscaler
        if upscaler in _HIRES_FROM_A1111:
            params["hires_upscaler"] = _HIRES_FROM_A1111[upscaler]
    loras = [ModelRef(name=name, weight=weight, hash=parsed.lora_hashes.get(name, "")) for name, weight in parsed.loras]
    model = ModelRef(name=values.get("Model", ""), hash=values.get("Model hash", "").lower())
    vae = ModelRef(name=values.get("VAE", ""), hash=values.get("VAE hash", "").lower()) if "VAE" in values else None
    return ForeignRecipe(
        generator="automatic1111",
        prompt=parsed.prompt,
        negative_prompt=parsed.negative_prompt,
        params=params,
        model=model if model.name or model.hash else None,
        loras=loras,
        vae=vae,
    )
