"""What a job's prompts ask for besides their text, resolved against the registry before anything is written.

In A1111's syntax a prompt's `<lora:NAME:WEIGHT>` joins the batch's LoRA stack (a LoRA also given in the request's
own list keeps the request's weight, so a regeneration that changes a weight is not contradicted by the text it
reuses) and `--ar W:H` sets the size. A template rendered with a grid of values may ask for different LoRAs or
aspects per batch, so each batch gets its own parameters and LoRAs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q

from assets.errors import ApplicationError
from assets.models import ModelWeights
from assets.prompt_syntax import (
    SYNTAX_A1111,
    SYNTAX_DIFFUSERS,
    PromptDirectives,
    attention_check,
    prompt_directives,
    prompt_has_directives,
)
from assets.services.derivations import weights_usable_in
from assets.services.prompts import prompt_render_text
from generation.architectures import architecture_of
from generation.imaging import outpaint_canvas_size

SIZE_FROM_INIT = ("img2img", "inpaint", "instruct_edit")
# Longer than any prompt people write (the worker also caps A1111's chunks): refused before anything is queued.
MAX_PROMPT_CHARACTERS = 8000
_HASH = re.compile(r"[0-9a-f]{64}|[0-9a-f]{10}|[0-9a-f]{12}")
DEFAULT_LORA_WEIGHT = 0.8
MAX_TAGGED_LORAS = 16


@dataclass(frozen=True)
class LoraSpec:
    weights: ModelWeights
    weight: float = DEFAULT_LORA_WEIGHT


@dataclass(frozen=True)
class BatchPlan:
    """One batch's placeholder values, parameters and LoRA stack."""

    values: dict
    params: dict
    loras: tuple[LoraSpec, ...]


def prompt_syntax_pick(*, base: ModelWeights, params: dict) -> str:
    """The syntax a new recipe is encoded with: its architecture's (A1111's for the CLIP UNets, plain for FLUX)
    unless asked otherwise."""
    syntax = params.get("prompt_syntax")
    default = architecture_of(base=base).prompt_syntax
    if syntax is None:
        return default
    if syntax == SYNTAX_A1111 and default != SYNTAX_A1111:
        raise ApplicationError(
            f"A1111's prompt syntax is read for Stable Diffusion 1.x and XL; {base.name} is "
            f"{base.get_architecture_display()}",
            extra={"param": "prompt_syntax"},
        )
    return syntax


def batch_plans(*, request, params: dict, batch_values: list[dict], size_for) -> list[BatchPlan]:
    """Each batch's plan; `size_for(aspect)` is the default size of a new image at an aspect.

    The text the encoders read is recorded (`prompt_read`) wherever it is not the prompt as written, so a recipe
    reads the same however this module's reading changes later. An imported recipe (`request.directives` off) reads
    its prompt as the other tool did: `--ar` and tags there are words, and its LoRAs come as the request's own.
    """
    plans = []
    resolved: dict[str, ModelWeights] = {}
    for values in batch_values:
        text, negative = _batch_texts(request, values)
        for what, value in (("prompt", text), ("negative prompt", negative)):
            if len(value) > MAX_PROMPT_CHARACTERS:
                raise ApplicationError(
                    f"the {what} is {len(value)} characters; at most {MAX_PROMPT_CHARACTERS} are read",
                    extra={"code": "prompt_too_long"},
                )
        if params["prompt_syntax"] == SYNTAX_DIFFUSERS:
            plans.append(BatchPlan(values=values, params=params, loras=tuple(request.loras)))
            continue
        if prompt_has_directives(negative):
            raise ApplicationError(
                "LoRA tags and --ar go in the prompt, not the negative prompt", extra={"code": "negative_directive"}
            )
        directives = prompt_directives(text) if request.directives else PromptDirectives(text=text)
        if params["prompt_syntax"] == SYNTAX_A1111:
            attention_check(directives.text)
            attention_check(negative)
        read = {"prompt_read": directives.text} if directives.text != text or prompt_has_directives(text) else {}
        plans.append(
            BatchPlan(
                values=values,
                params={
                    **_aspect_params(request=request, params=params, aspect=directives.aspect, size_for=size_for),
                    **read,
                },
                loras=_loras_merge(
                    explicit=tuple(request.loras), tagged=directives.loras, resolved=resolved, brief=request.brief
                ),
            )
        )
    return plans


def _batch_texts(request, values: dict) -> tuple[str, str]:
    if request.prompt is not None:
        return request.prompt.text, request.prompt.negative_text
    if request.template is None:
        negative = request.brief.negative_prompt if request.negative_prompt is None else request.negative_prompt
        return request.prompt_text.strip(), negative
    _, text, negative = prompt_render_text(template=request.template, values=values)
    return text, negative


def _aspect_params(*, request, params: dict, aspect: tuple[int, int] | None, size_for) -> dict:
    if aspect is None:
        return params
    written = f"--ar {aspect[0]}:{aspect[1]}"
    if request.op in SIZE_FROM_INIT:
        raise ApplicationError(
            f"the prompt's {written} sets the size of a new image; {request.op} keeps its init image's size",
            extra={"code": "aspect_not_applicable"},
        )
    given = {key: value for key, value in (request.params or {}).items() if key in ("width", "height", "target_aspect")}
    target = f"{aspect[0]}:{aspect[1]}"
    multiple = architecture_of(base=request.base_model).size_multiple
    if given and not _size_fits(given=given, aspect=aspect, target=target, multiple=multiple):
        raise ApplicationError(
            f"the prompt's {written} and the parameters {', '.join(sorted(given))} ask for different sizes: give one",
            extra={"code": "aspect_conflict", "params": sorted(given)},
        )
    if given:
        return params
    if request.op == "outpaint":
        width, height = outpaint_canvas_size(
            size=(request.init.width, request.init.height), aspect=target, multiple=multiple
        )
        return {**params, "target_aspect": target, "width": width, "height": height}
    width, height = size_for(aspect)
    return {**params, "width": width, "height": height}


def _size_fits(*, given: dict, aspect: tuple[int, int], target: str, multiple: int) -> bool:
    """Whether a size given as parameters is the aspect's, each side to the multiple sizes are rounded to (a
    regeneration repeats the size an aspect once set, both sides rounded on their own)."""
    if "target_aspect" in given:
        return given["target_aspect"] == target
    width, height = given.get("width"), given.get("height")
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        return False
    across, down = aspect
    return abs(width * down / across - height) <= multiple or abs(height * across / down - width) <= multiple


def _loras_merge(
    *, explicit: tuple[LoraSpec, ...], tagged: tuple[tuple[str, float], ...], resolved: dict, brief
) -> tuple[LoraSpec, ...]:
    """The request's LoRAs, then each tagged one not among them. A tag naming a LoRA of the request's own list is
    that LoRA (a regeneration passes its recipe's LoRAs and text: one registered later under the same name must not
    make the tag ambiguous); any other is looked up once per request."""
    if len({name for name, _ in tagged}) > MAX_TAGGED_LORAS:
        raise ApplicationError(
            f"the prompt tags {len({name for name, _ in tagged})} LoRAs; at most {MAX_TAGGED_LORAS} are attached",
            extra={"code": "too_many_loras"},
        )
    stack = list(explicit)
    for name, weight in tagged:
        if any(_names(spec.weights, name) for spec in explicit):
            continue
        if name not in resolved:
            resolved[name] = lora_tag_resolve(name=name, brief=brief)
        if any(spec.weights.pk == resolved[name].pk for spec in stack):
            continue
        stack.append(LoraSpec(weights=resolved[name], weight=weight))
    return tuple(stack)


def _names(weights: ModelWeights, term: str) -> bool:
    """Whether a tag's term names these weights, as lora_tag_resolve would find them."""
    term = term.strip()
    if _HASH.fullmatch(term.lower()) and weights.sha256.startswith(term.lower()):
        return True
    source = weights.source_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, _, extension = source.rpartition(".")
    return term.lower() in (
        weights.name.lower(),
        weights.source_name.lower(),
        stem.lower() if extension in ("safetensors", "ckpt", "pt", "bin") else "",
    )


def lora_tag_resolve(*, name: str, brief) -> ModelWeights:
    """The registered LoRA a tag names: by sha256 (full, A1111's 10-hex AutoV2 or 12-hex short hash), by name, or by
    the file name it was registered from (A1111 names a LoRA by its file's stem); among those `brief` may use (another
    client's trained LoRA is not found, nor named among several)."""
    term = name.strip()
    loras = weights_usable_in(ModelWeights.objects.filter(kind=ModelWeights.Kind.LORA), brief=brief)
    if _HASH.fullmatch(term.lower()):
        matches = list(loras.filter(sha256__startswith=term.lower())[:3])
    else:
        matches = []
    if not matches:
        stem = rf"^(.*[/\\])?{re.escape(term)}\.(safetensors|ckpt|pt|bin)$"
        matches = list(
            loras.filter(Q(name__iexact=term) | Q(source_name__iexact=term) | Q(source_name__iregex=stem))[:3]
        )
    if not matches:
        raise ApplicationError(
            f"<lora:{term}> names no registered LoRA (looked for it by name, file name and hash): register it first",
            extra={"code": "lora_unknown", "lora": term},
        )
    if len(matches) > 1:
        named = ", ".join(f"{weights.name} {weights.sha256[:12]}" for weights in matches)
        raise ApplicationError(
            f"<lora:{term}> matches several registered LoRAs ({named}): name it by its hash",
            extra={"code": "lora_ambiguous", "lora": term},
        )
    return matches[0]
