"""InvokeAI: the JSON in PNG `invokeai_metadata`."""

from __future__ import annotations

from assets.errors import ApplicationError
from assets.foreign_recipes.recipe import ForeignRecipe, ModelRef, _number, _size, _text

# InvokeAI's scheduler names, as ours.
_FROM_INVOKE = {
    "dpmpp_2m_k": "dpmpp_2m_karras",
    "dpmpp_2m": "dpmpp_2m",
    "dpmpp_sde_k": "dpmpp_sde_karras",
    "euler_a": "euler_a",
    "euler": "euler",
    "ddim": "ddim",
    "lms": "lms",
    "heun": "heun",
}


def _invokeai(raw) -> ForeignRecipe:
    if not isinstance(raw, dict):
        raise ApplicationError("invokeai_metadata is not an object", extra={"code": "metadata_wrong_type"})
    params: dict = {}
    scheduler = raw.get("scheduler")
    if scheduler:
        params["sampler_source"] = str(scheduler)[:100]
        if _FROM_INVOKE.get(scheduler):
            params["sampler"] = _FROM_INVOKE[scheduler]
    for key, name, kind in (
        ("seed", "seed", int),
        ("steps", "steps", int),
        ("cfg_scale", "cfg", float),
        ("strength", "strength", float),
    ):
        if raw.get(key) is not None:
            params[name] = _number(raw[key], kind, f"InvokeAI's {key}")
    _size(params, raw.get("width"), raw.get("height"))

    def reference(value) -> ModelRef | None:
        if not isinstance(value, dict):
            return None
        return ModelRef(
            name=str(value.get("name") or value.get("model_name") or "")[:200],
            hash=str(value.get("hash") or "").lower()[:200],
        )

    loras = []
    for item in raw.get("loras") or []:
        if isinstance(item, dict):
            found = reference(item.get("model") or item.get("lora"))
            if found is not None:
                found.weight = _number(item.get("weight", 1.0), float, "an InvokeAI LoRA weight")
                loras.append(found)
    return ForeignRecipe(
        generator="invokeai",
        prompt=_text(raw.get("positive_prompt"), "InvokeAI's prompt"),
        negative_prompt=_text(raw.get("negative_prompt"), "InvokeAI's negative prompt"),
        params=params,
        model=reference(raw.get("model")),
        loras=loras,
        vae=reference(raw.get("vae")),
    )
