"""The recipe of an image made in another tool, read from the metadata that tool wrote into the file.

AUTOMATIC1111 / Forge / SD.Next (PNG `parameters`, JPEG/WebP EXIF UserComment), ComfyUI (PNG `prompt`, its API
graph, walked from the saved image back to the sampler), InvokeAI (`invokeai_metadata`) and Fooocus (JSON
`parameters`). Readers of our own, not a general library: every one of them is held to the caps below, so a
hostile file (huge text, an enormous or cyclic graph, wrong types) is refused with a reason instead of
running away, and the files around it still import.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from assets.errors import ApplicationError
from assets.infotext import A1111_NAMES, infotext_parse

MAX_CHUNK = 256 * 1024
MAX_NODES = 2000
MAX_WALK = 5000
RAW_KEEP = 16 * 1024
GENERATORS = ("automatic1111", "comfyui", "invokeai", "fooocus")
_FROM_A1111 = {names: ours for ours, names in A1111_NAMES.items()}
# ComfyUI's (sampler_name, scheduler) and InvokeAI's scheduler names, as ours.
_FROM_COMFY = {
    ("dpmpp_2m", "karras"): "dpmpp_2m_karras",
    ("dpmpp_2m", "normal"): "dpmpp_2m",
    ("dpmpp_sde", "karras"): "dpmpp_sde_karras",
    ("euler_ancestral", None): "euler_a",
    ("euler", None): "euler",
    ("ddim", None): "ddim",
    ("lms", None): "lms",
    ("heun", None): "heun",
}
# Ours as ComfyUI names them (sampler_name, scheduler); PLMS has no ComfyUI sampler.
TO_COMFY = {
    "dpmpp_2m_karras": ("dpmpp_2m", "karras"),
    "dpmpp_2m": ("dpmpp_2m", "normal"),
    "dpmpp_sde_karras": ("dpmpp_sde", "karras"),
    "euler_a": ("euler_ancestral", "normal"),
    "euler": ("euler", "normal"),
    "ddim": ("ddim", "ddim_uniform"),
    "lms": ("lms", "normal"),
    "heun": ("heun", "normal"),
}
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
_SAMPLER_NODES = ("KSampler", "KSamplerAdvanced")


@dataclass
class ModelRef:
    name: str = ""
    hash: str = ""
    weight: float | None = None


@dataclass
class ForeignRecipe:
    generator: str
    prompt: str = ""
    negative_prompt: str = ""
    params: dict = field(
        default_factory=dict
    )  # sampler (ours), sampler_source, steps, cfg, seed, width, height, strength
    model: ModelRef | None = None
    loras: list[ModelRef] = field(default_factory=list)
    vae: ModelRef | None = None
    metadata: dict = field(default_factory=dict)  # the chunks it came from, each cut to RAW_KEEP characters


def recipe_read(*, source) -> ForeignRecipe | None:
    """The recipe in the metadata of the image at `source` (a path or an open file), None when it carries none a
    known generator wrote."""
    with Image.open(source) as image:
        chunks = {key: value for key, value in getattr(image, "text", {}).items() if isinstance(value, str)}
        if not chunks and image.format in ("JPEG", "WEBP"):
            comment = _user_comment(image)
            if comment:
                chunks["parameters"] = comment
    too_large = [key for key, value in chunks.items() if len(value) > MAX_CHUNK]
    if too_large:
        raise ApplicationError(
            f"the metadata {', '.join(too_large)} is over {MAX_CHUNK // 1024} kB: not read",
            extra={"code": "metadata_too_large"},
        )
    metadata = {key: value[:RAW_KEEP] for key, value in chunks.items()}
    if "invokeai_metadata" in chunks:
        recipe = _invokeai(_json(chunks["invokeai_metadata"], "invokeai_metadata"))
    elif "prompt" in chunks and chunks["prompt"].lstrip().startswith("{"):
        recipe = _comfyui(_json(chunks["prompt"], "prompt"))
    elif "parameters" in chunks and chunks["parameters"].lstrip().startswith("{"):
        recipe = _fooocus(_json(chunks["parameters"], "parameters"))
    elif "parameters" in chunks:
        recipe = _automatic1111(chunks["parameters"])
    else:
        return None
    recipe.metadata = metadata
    return recipe


def _user_comment(image) -> str:
    import piexif.helper

    raw = image.getexif().get_ifd(0x8769).get(0x9286)
    if not isinstance(raw, bytes) or len(raw) > 2 * MAX_CHUNK:
        return ""
    try:
        return piexif.helper.UserComment.load(raw)
    except ValueError:
        return raw[8:].decode("utf-8", errors="replace").strip("\x00")


def _json(text: str, name: str):
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ApplicationError(
            f"the {name} metadata is not readable JSON: {str(exc)[:200]}", extra={"code": "metadata_unreadable"}
        ) from None


def _number(value, kind, what: str):
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ApplicationError(
            f"{what} is {str(value)[:40]!r}, not a number", extra={"code": "metadata_wrong_type"}
        ) from None
    return number


def _text(value, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError(f"{what} is not text", extra={"code": "metadata_wrong_type"})
    return value


def _size(params: dict, width, height) -> None:
    if width is not None and height is not None:
        params["width"], params["height"] = _number(width, int, "the width"), _number(height, int, "the height")


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


class _Graph:
    """A ComfyUI API graph: {node id: {class_type, inputs}}, where an input [id, output] links to another node."""

    def __init__(self, graph):
        if not isinstance(graph, dict):
            raise ApplicationError("the ComfyUI graph is not an object of nodes", extra={"code": "metadata_wrong_type"})
        if len(graph) > MAX_NODES:
            raise ApplicationError(
                f"the ComfyUI graph has {len(graph)} nodes; at most {MAX_NODES} are read",
                extra={"code": "metadata_too_large"},
            )
        self.nodes = {
            str(key): node
            for key, node in graph.items()
            if isinstance(node, dict) and isinstance(node.get("inputs", {}), dict)
        }
        self.steps = 0

    def linked(self, value) -> dict | None:
        if isinstance(value, list) and value and isinstance(value[0], (str, int)):
            return self.nodes.get(str(value[0]))
        return None

    def upstream(self, start: dict, wanted) -> dict | None:
        """The nearest node above `start` that `wanted` accepts, breadth first; a cycle or a maze ends the walk."""
        seen, queue = {id(start)}, [start]
        while queue:
            node = queue.pop(0)
            self.steps += 1
            if self.steps > MAX_WALK:
                raise ApplicationError("the ComfyUI graph is too tangled to walk", extra={"code": "metadata_too_large"})
            for value in node.get("inputs", {}).values():
                above = self.linked(value)
                if above is None or id(above) in seen:
                    continue
                if wanted(above):
                    return above
                seen.add(id(above))
                queue.append(above)
        return None

    def value(self, node: dict, key: str):
        """An input's literal value, following a link to a primitive node when it is one."""
        value = node.get("inputs", {}).get(key)
        above = self.linked(value)
        if above is not None:
            inputs = above.get("inputs", {})
            return next(
                (
                    inputs[name]
                    for name in ("value", key, "seed", "text", "string")
                    if name in inputs and not isinstance(inputs[name], list)
                ),
                None,
            )
        return value

    def text_above(self, node: dict, key: str) -> str:
        start = self.linked(node.get("inputs", {}).get(key))
        if start is None:
            return ""
        encoder = (
            start
            if "CLIPTextEncode" in str(start.get("class_type"))
            else self.upstream(start, lambda n: "CLIPTextEncode" in str(n.get("class_type")))
        )
        if encoder is None:
            return ""
        return _text(self.value(encoder, "text") or self.value(encoder, "text_g"), "a ComfyUI prompt")


def _comfyui(raw) -> ForeignRecipe:
    graph = _Graph(raw)
    outputs = [node for node in graph.nodes.values() if node.get("class_type") in ("SaveImage", "PreviewImage")]
    sampler = next(
        (
            found
            for output in outputs
            if (found := graph.upstream(output, lambda n: n.get("class_type") in _SAMPLER_NODES)) is not None
        ),
        None,
    )
    if sampler is None:
        sampler = next((node for node in graph.nodes.values() if node.get("class_type") in _SAMPLER_NODES), None)
    if sampler is None:
        raise ApplicationError("the ComfyUI graph has no KSampler", extra={"code": "metadata_unreadable"})
    params: dict = {}
    name, scheduler = graph.value(sampler, "sampler_name"), graph.value(sampler, "scheduler")
    if name:
        params["sampler_source"] = f"{name} / {scheduler or 'normal'}"
        ours = _FROM_COMFY.get((name, scheduler)) or _FROM_COMFY.get((name, None))
        if ours:
            params["sampler"] = ours
    seed = graph.value(sampler, "seed") if "seed" in sampler.get("inputs", {}) else graph.value(sampler, "noise_seed")
    for key, value, kind in (
        ("seed", seed, int),
        ("steps", graph.value(sampler, "steps"), int),
        ("cfg", graph.value(sampler, "cfg"), float),
    ):
        if value is not None:
            params[key] = _number(value, kind, f"the sampler's {key}")
    denoise = graph.value(sampler, "denoise")
    latent = graph.linked(sampler.get("inputs", {}).get("latent_image"))
    if latent is not None and "EmptyLatentImage" in str(latent.get("class_type")):
        _size(params, graph.value(latent, "width"), graph.value(latent, "height"))
    elif denoise is not None:
        params["strength"] = _number(denoise, float, "the sampler's denoise")
    loras, model, node, seen = [], None, graph.linked(sampler.get("inputs", {}).get("model")), set()
    while node is not None:
        if id(node) in seen:
            raise ApplicationError(
                "the ComfyUI graph's model chain loops back on itself", extra={"code": "metadata_cyclic"}
            )
        seen.add(id(node))
        kind, inputs = str(node.get("class_type")), node.get("inputs", {})
        if kind.startswith("LoraLoader"):
            loras.append(
                ModelRef(
                    name=Path(_text(graph.value(node, "lora_name"), "a LoRA name")).stem,
                    weight=_number(graph.value(node, "strength_model") or 0, float, "a LoRA strength"),
                )
            )
        elif kind.startswith("CheckpointLoader"):
            model = ModelRef(name=Path(_text(graph.value(node, "ckpt_name"), "the checkpoint name")).stem)
            break
        node = graph.linked(inputs.get("model"))
    loras.reverse()  # nearest the checkpoint first, as the chain applies them
    return ForeignRecipe(
        generator="comfyui",
        prompt=graph.text_above(sampler, "positive"),
        negative_prompt=graph.text_above(sampler, "negative"),
        params=params,
        model=model,
        loras=loras,
    )


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
