"""Fooocus: the JSON in PNG `parameters`; its sampler names are ComfyUI's."""

from __future__ import annotations

import re
from pathlib import Path

from assets.errors import ApplicationError
from assets.foreign_recipes.comfyui import _FROM_COMFY
from assets.foreign_recipes.recipe import ForeignRecipe, ModelRef, _number, _size, _text


def _fooocus(raw) -> ForeignRecipe:
    if not isinstance(raw, dict) or not any(key in raw for key in ("base_model", "guidance_scale", "fooocus_scheme")):
        raise ApplicationError("the JSON parameters are not Fooocus's", extra={"code": "metadata_unreadable"})
    params: dict = {}
    sampler, scheduler = raw.get("sampler"), raw.get("scheduler")
    if sampler:
        params["sampler_source"] = f"{sampler} / {scheduler or 'normal'}"[:100]
        name = str(sampler).removesuffix("_gpu")
        ours = _FROM_COMFY.get((name, scheduler)) or _FROM_COMFY.get((name, None))
        if ours:
            params["sampler"] = ours
    for key, name, kind in (("seed", "seed", int), ("steps", "steps", int), ("guidance_scale", "cfg", float)):
        if raw.get(key) is not None:
            params[name] = _number(raw[key], kind, f"Fooocus's {key}")
    resolution = re.findall(r"\d+", str(raw.get("resolution", "")))
    if len(resolution) == 2:
        _size(params, *resolution)
    loras = []
    for item in raw.get("loras") or []:
        if isinstance(item, (list, tuple)) and len(item) >= 2:
            loras.append(
                ModelRef(
                    name=Path(str(item[0])).stem,
                    weight=_number(item[1], float, "a Fooocus LoRA weight"),
                    hash=str(item[2]).lower() if len(item) > 2 else "",
                )
            )
    model = ModelRef(name=Path(str(raw.get("base_model", ""))).stem, hash=str(raw.get("base_model_hash") or "").lower())
    return ForeignRecipe(
        generator="fooocus",
        prompt=_text(raw.get("prompt"), "Fooocus's prompt"),
        negative_prompt=_text(raw.get("negative_prompt"), "Fooocus's negative prompt"),
        params=params,
        model=model if model.name or model.hash else None,
        loras=loras,
    )
