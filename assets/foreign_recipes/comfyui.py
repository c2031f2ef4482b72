"""ComfyUI: its API graph in PNG `prompt`, walked from the saved image back to the sampler and up its model chain."""

from __future__ import annotations

from pathlib import Path

from assets.errors import ApplicationError
from assets.foreign_recipes.recipe import ForeignRecipe, ModelRef, _number, _size, _text

MAX_NODES = 2000
MAX_WALK = 5000
# ComfyUI's (sampler_name, scheduler), as ours.
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
# A flow-matching model (loaded by UNETLoader, as FLUX and SD3 are) samples with ComfyUI's "euler": our flow Euler.
_FLOW_FROM_COMFY = {"euler": "flow_euler"}
# Ours as ComfyUI names them (sampler_name, scheduler); PLMS has no ComfyUI sampler.
TO_COMFY = {
    "flow_euler": ("euler", "simple"),
    "dpmpp_2m_karras": ("dpmpp_2m", "karras"),
    "dpmpp_2m": ("dpmpp_2m", "normal"),
    "dpmpp_sde_karras": ("dpmpp_sde", "karras"),
    "euler_a": ("euler_ancestral", "normal"),
    "euler": ("euler", "normal"),
    "ddim": ("ddim", "ddim_uniform"),
    "lms": ("lms", "normal"),
    "heun": ("heun", "normal"),
}
_SAMPLER_NODES = ("KSampler", "KSamplerAdvanced")
_EMPTY_LATENTS = ("EmptyLatentImage", "EmptySD3LatentImage")


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

    def upstream_or_self(self, node: dict, key: str, class_type: str) -> dict | None:
        """The node of `class_type` that `node`'s input `key` links to, directly or further up."""
        start = self.linked(node.get("inputs", {}).get(key))
        if start is None or start.get("class_type") == class_type:
            return start
        return self.upstream(start, lambda n: n.get("class_type") == class_type)

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
    sampler = _sampler_find(graph)
    params = _sampler_params(graph, sampler)
    model, loras, flow = _model_chain(graph, sampler)
    if flow:
        params.pop("sampler", None)
        name = graph.value(sampler, "sampler_name")
        if name in _FLOW_FROM_COMFY:
            params["sampler"] = _FLOW_FROM_COMFY[name]
    guidance = graph.upstream_or_self(sampler, "positive", "FluxGuidance")
    if guidance is not None and graph.value(guidance, "guidance") is not None:
        params["distilled_cfg"] = _number(graph.value(guidance, "guidance"), float, "the FLUX guidance")
    return ForeignRecipe(
        generator="comfyui",
        prompt=graph.text_above(sampler, "positive"),
        negative_prompt=graph.text_above(sampler, "negative"),
        params=params,
        model=model,
        loras=loras,
    )


def _sampler_find(graph: _Graph) -> dict:
    """The sampler the saved image comes from; a graph whose outputs lead to none may still hold one."""
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
    return sampler


def _sampler_params(graph: _Graph, sampler: dict) -> dict:
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
    if latent is not None and str(latent.get("class_type")) in _EMPTY_LATENTS:
        _size(params, graph.value(latent, "width"), graph.value(latent, "height"))
    elif denoise is not None:
        params["strength"] = _number(denoise, float, "the sampler's denoise")
    return params


def _model_chain(graph: _Graph, sampler: dict) -> tuple[ModelRef | None, list[ModelRef], bool]:
    """The checkpoint and the LoRAs between it and the sampler, followed down the sampler's `model` input, and whether
    the model is a diffusion transformer loaded on its own (UNETLoader: FLUX, SD3), which samples by flow matching."""
    loras, model, node, seen, flow = [], None, graph.linked(sampler.get("inputs", {}).get("model")), set(), False
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
        elif kind == "UNETLoader":
            model, flow = ModelRef(name=Path(_text(graph.value(node, "unet_name"), "the model name")).stem), True
            break
        node = graph.linked(inputs.get("model"))
    loras.reverse()  # nearest the checkpoint first, as the chain applies them
    return model, loras, flow
