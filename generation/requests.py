"""What a generation job asks for, built once by each way of starting one, and checked in one place.

The API, the admin's job form, import, regenerate, "fix this region" and grids each build a `GenerationRequest`;
`generation_job_create` records it once `check()` has passed, so every path refuses the same things with the same
messages before anything is written.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass
from typing import IO

from assets.errors import ApplicationError
from assets.models import Blob, Brief, DerivedFile, ModelWeights, Prompt, PromptTemplate, Reference, Version
from assets.operations import operation_names, params_clean
from generation.architectures import architecture_of, architecture_op_check, architecture_params_check, lora_fits
from generation.imaging import hires_size, outpaint_canvas_size, palette_guide
from generation.request_prompts import BatchPlan, LoraSpec, batch_plans, prompt_syntax_pick
from generation.services.finishing import mask_client_check

NEEDS_INIT = ("img2img", "inpaint", "outpaint", "instruct_edit")
MAX_BATCHES = 64
DEFAULT_IP_ADAPTER_SCALE = 0.6


@dataclass(frozen=True)
class ImagePrompt:
    """IP-Adapter conditioning: the adapter, its image encoder, and what it looks at (the brief's palette as a guide
    image, style references), at `scale`."""

    adapter: ModelWeights
    encoder: ModelWeights
    colour_lock: bool = False
    references: tuple = ()  # versions or references of the brief
    guide: Blob | None = None  # a recorded guide image, reused as it is (regeneration)
    scale: float = DEFAULT_IP_ADAPTER_SCALE


@dataclass(frozen=True)
class CheckedRequest:
    """What the checks worked out: the full parameters, the recorded mask to use, the colour lock's guide image, and
    each batch's plan (one batch per combination of a template's grid; its prompt may ask for LoRAs and an aspect)."""

    params: dict
    mask_blob: Blob | None
    guide: bytes | None
    batches: list[BatchPlan]


@dataclass(frozen=True)
class GenerationRequest:
    """A job's prompt (a recorded one, a text, or a template with a grid of placeholder values), models, parameters
    and input images.

    `references` are recorded as looked at; those of an `image_prompt` condition the image through its IP-Adapter.
    An inpaint's mask comes as an upload (`mask_source`), a stored blob or a recorded mask file.
    """

    brief: Brief
    op: str
    base_model: ModelWeights
    params: dict | None = None
    template: PromptTemplate | None = None
    values_grid: dict | None = None
    prompt: Prompt | None = None
    prompt_text: str = ""
    negative_prompt: str | None = None
    loras: tuple[LoraSpec, ...] = ()
    init: Version | Reference | None = None
    mask_source: IO | None = None  # an uploaded image, stored when the job is recorded
    mask_blob: Blob | None = None
    mask_file: DerivedFile | None = None
    control: Version | Reference | None = None
    controlnet: ModelWeights | None = None
    vae: ModelWeights | None = None
    references: tuple[Version | Reference, ...] = ()
    image_prompt: ImagePrompt | None = None
    regenerated_from: Version | None = None
    change_request: Blob | None = None
    # Off for a recipe another tool made: its prompt is read as that tool read it (generation.request_prompts).
    directives: bool = True

    def check(self) -> CheckedRequest:
        """Refuse a request that cannot run, writing nothing; the first thing wrong is the one named."""
        generation_ops = operation_names(rerun="pipeline")
        if self.op not in generation_ops:
            raise ApplicationError(f"unknown generation {self.op!r}; choose one of {', '.join(generation_ops)}")
        _weights_check(base=self.base_model, loras=self.loras, controlnet=self.controlnet, vae=self.vae)
        architecture_op_check(base=self.base_model, op=self.op)
        _image_prompt_check(
            brief=self.brief, base=self.base_model, image_prompt=self.image_prompt, references=self.references
        )
        if self.op in NEEDS_INIT and self.init is None:
            raise ApplicationError(f"{self.op} needs an init image (a version or a reference)")
        mask_blob = self.mask_blob
        if self.mask_file is not None:
            mask_client_check(mask=self.mask_file, brief=self.brief)
            mask_blob = _mask_file_check(mask_file=self.mask_file, init=self.init, op=self.op)
        if self.op == "inpaint" and self.mask_source is None and mask_blob is None:
            raise ApplicationError("inpaint needs a mask image the size of the init image")
        if self.op == "controlnet" and (self.control is None or self.controlnet is None):
            raise ApplicationError("controlnet needs a control image and a ControlNet model")
        if "prompt_read" in (self.params or {}):
            raise ApplicationError(
                "prompt_read is what Seed records it read from the prompt; give the prompt",
                extra={"param": "prompt_read"},
            )
        params = params_clean(op=self.op, params=self._params_with_defaults())
        architecture_params_check(base=self.base_model, params=params)
        _second_passes_check(op=self.op, params=params)
        guide = (
            palette_guide(palette=self.brief.palette, aspect=self.brief.aspect)
            if self.image_prompt and self.image_prompt.colour_lock
            else None
        )
        batches = batch_plans(
            request=self,
            params=params,
            batch_values=self._batch_values(),
            size_for=self._size_for,
        )
        for batch in batches:
            _loras_check(base=self.base_model, loras=batch.loras)
        return CheckedRequest(params=params, mask_blob=mask_blob, guide=guide, batches=batches)

    def _params_with_defaults(self) -> dict:
        op, params = self.op, dict(self.params or {})
        architecture = architecture_of(base=self.base_model)
        params.setdefault("sampler", architecture.sampler)
        params.setdefault("steps", architecture.steps)
        params.setdefault("cfg", architecture.cfg)
        if architecture.distilled_cfg is not None:
            params.setdefault("distilled_cfg", architecture.distilled_cfg)
        params.setdefault("seed", secrets.randbelow(2**32))
        params.setdefault("batch_size", 6)
        params["prompt_syntax"] = prompt_syntax_pick(base=self.base_model, params=params)
        if op in ("img2img", "inpaint"):
            params.setdefault("strength", 0.6 if op == "img2img" else 0.9)
        if op == "outpaint":
            params.setdefault("target_aspect", self.brief.aspect)
        if op == "controlnet":
            params.setdefault("control_type", "canny")
            params.setdefault("conditioning_scale", 1.0)
            if params["control_type"] in ("canny", "edge"):
                params.setdefault("canny_low", 100)
                params.setdefault("canny_high", 200)
        if self.image_prompt is not None:
            params.setdefault("ip_adapter_scale", self.image_prompt.scale)
        elif "ip_adapter_scale" in params:
            raise ApplicationError(
                "ip_adapter_scale goes with an IP-Adapter and its image encoder", extra={"param": "ip_adapter_scale"}
            )
        if op == "txt2img" and "hires_scale" in params:
            # A1111's defaults: a latent upscale, then as many steps as the first pass, at denoising strength 0.7.
            params.setdefault("hires_upscaler", "latent")
            params.setdefault("hires_steps", 0)
            params.setdefault("strength", 0.7)
        if self.init is not None and op in ("img2img", "inpaint"):
            multiple = architecture.size_multiple
            params.setdefault("width", self.init.width // multiple * multiple)
            params.setdefault("height", self.init.height // multiple * multiple)
        elif op == "outpaint":
            params["width"], params["height"] = outpaint_canvas_size(
                size=(self.init.width, self.init.height),
                aspect=params["target_aspect"],
                multiple=architecture.size_multiple,
            )
        elif op == "instruct_edit":
            # The init's size, brought down to the area the model was trained at (a megapixel for Kontext).
            area = min(architecture.area, self.init.width * self.init.height)
            default = size_for_aspect(
                aspect=(self.init.width, self.init.height), area=area, multiple=architecture.size_multiple
            )
            params.setdefault("width", default[0])
            params.setdefault("height", default[1])
        else:
            default = self._size_for(self.brief.aspect_ratio)
            params.setdefault("width", default[0])
            params.setdefault("height", default[1])
        return params

    def _size_for(self, aspect: tuple[int, int]) -> tuple[int, int]:
        """The default size of a new image at `aspect` on the base's architecture."""
        architecture = architecture_of(base=self.base_model)
        return size_for_aspect(aspect=aspect, area=architecture.area, multiple=architecture.size_multiple)

    def _batch_values(self) -> list[dict]:
        """The placeholder values of each batch, in the template's placeholder order."""
        if self.prompt is not None:
            if self.prompt.brief_id != self.brief.pk:
                raise ApplicationError(f"prompt {self.prompt.pk} belongs to another brief")
            return [self.prompt.values]
        if self.template is None:
            if not self.prompt_text:
                raise ApplicationError("give a prompt or a template with placeholder values")
            return [{}]
        template = self.template
        if template.brief_id != self.brief.pk:
            raise ApplicationError(f"template {template.pk} belongs to another brief")
        grid = self.values_grid or {}
        missing = [name for name in template.placeholders if not grid.get(name)]
        unknown = sorted(set(grid) - set(template.placeholders))
        if missing or unknown:
            raise ApplicationError(
                "placeholder values do not fit the template: "
                + "; ".join(
                    filter(
                        None,
                        [
                            missing and f"missing {', '.join('{' + n + '}' for n in missing)}",
                            unknown and f"unknown {', '.join('{' + n + '}' for n in unknown)}",
                        ],
                    )
                ),
                extra={"missing": missing, "unknown": unknown},
            )
        lists = [[grid[name]] if isinstance(grid[name], str) else list(grid[name]) for name in template.placeholders]
        combinations = list(itertools.product(*lists))
        if len(combinations) > MAX_BATCHES:
            raise ApplicationError(
                f"{len(combinations)} combinations of placeholder values; at most {MAX_BATCHES} batches per job"
            )
        return [dict(zip(template.placeholders, combination, strict=True)) for combination in combinations]


def size_for_aspect(*, aspect: tuple[int, int], area: int, multiple: int = 8) -> tuple[int, int]:
    """Width and height near `area` pixels at the brief's aspect, in the multiples the architecture's latents need."""
    w, h = aspect
    scale = (area / (w * h)) ** 0.5
    return max(multiple, round(w * scale / multiple) * multiple), max(multiple, round(h * scale / multiple) * multiple)


def _weights_check(
    *, base: ModelWeights, loras: tuple[LoraSpec, ...], controlnet: ModelWeights | None, vae: ModelWeights | None
) -> None:
    if base.kind != ModelWeights.Kind.BASE:
        raise ApplicationError(f"{base.name} is a {base.get_kind_display()}, not a base model")
    _loras_check(base=base, loras=loras)
    if controlnet is not None and controlnet.kind != ModelWeights.Kind.CONTROLNET:
        raise ApplicationError(f"{controlnet.name} is not a ControlNet")
    if controlnet is not None and controlnet.architecture != base.architecture:
        raise ApplicationError(
            f"ControlNet {controlnet.name} is for {controlnet.get_architecture_display()}, "
            f"the base model is {base.get_architecture_display()}"
        )
    if vae is not None and vae.kind != ModelWeights.Kind.VAE:
        raise ApplicationError(f"{vae.name} is not a VAE")
    if vae is not None and vae.architecture != base.architecture:
        raise ApplicationError(
            f"VAE {vae.name} is for {vae.get_architecture_display()}, "
            f"the base model is {base.get_architecture_display()}"
        )


def _loras_check(*, base: ModelWeights, loras: tuple[LoraSpec, ...]) -> None:
    for spec in loras:
        if spec.weights.kind != ModelWeights.Kind.LORA:
            raise ApplicationError(f"{spec.weights.name} is not a LoRA")
        if not lora_fits(lora=spec.weights, base=base):
            raise ApplicationError(
                f"LoRA {spec.weights.name} is for {spec.weights.get_architecture_display()}, "
                f"the base model is {base.get_architecture_display()}"
            )
        if not -4.0 <= spec.weight <= 4.0:
            raise ApplicationError(f"LoRA weight {spec.weight} is out of range (-4 to 4)")


def _image_prompt_check(*, brief: Brief, base: ModelWeights, image_prompt: ImagePrompt | None, references) -> None:
    if image_prompt is None:
        return
    adapter, encoder = image_prompt.adapter, image_prompt.encoder
    if adapter.kind != ModelWeights.Kind.IP_ADAPTER:
        raise ApplicationError(f"{adapter.name} is a {adapter.get_kind_display()}, not an IP-Adapter")
    if encoder.kind != ModelWeights.Kind.IMAGE_ENCODER:
        raise ApplicationError(f"{encoder.name} is a {encoder.get_kind_display()}, not an image encoder")
    if adapter.architecture != base.architecture:
        raise ApplicationError(
            f"IP-Adapter {adapter.name} is for {adapter.get_architecture_display()}, the base model is "
            f"{base.get_architecture_display()}"
        )
    if not (image_prompt.colour_lock or image_prompt.guide or image_prompt.references):
        raise ApplicationError(
            "an IP-Adapter needs something to look at: ask for a colour lock or give style references",
            extra={"code": "image_prompt_empty"},
        )
    if references:
        raise ApplicationError(
            "give style references with the IP-Adapter (they condition the image), not as recorded-only "
            "references as well"
        )
    for source in image_prompt.references:
        if source.brief_id != brief.pk:
            raise ApplicationError(
                f"{type(source).__name__.lower()} {source.pk} belongs to another brief",
                extra={"code": "reference_other_brief"},
            )


def _mask_file_check(*, mask_file: DerivedFile, init, op: str) -> Blob:
    """A recorded mask serves an inpaint of an image its size; it is recorded by its blob, as an uploaded one is."""
    if op != "inpaint":
        raise ApplicationError(f"a mask goes with inpaint, not {op}")
    if mask_file.kind != DerivedFile.Kind.MASK:
        raise ApplicationError(f"file {mask_file.pk} is a {mask_file.get_kind_display()}, not a mask")
    if init is None or (mask_file.width, mask_file.height) != (init.width, init.height):
        size = f"{init.width}x{init.height}" if init is not None else "missing"
        raise ApplicationError(
            f"mask {mask_file.pk} is {mask_file.width}x{mask_file.height}; the init image is {size}",
            extra={"code": "mask_size"},
        )
    return mask_file.blob


def _second_passes_check(*, op: str, params: dict) -> None:
    hires = sorted(key for key in ("hires_steps", "hires_upscaler", "strength") if key in params)
    if op == "txt2img" and "hires_scale" not in params and hires:
        raise ApplicationError(
            f"{', '.join(hires)} only go with hires_scale: they set the hi-res fix's second pass",
            extra={"params": hires},
        )
    if op == "controlnet" and ("canny_low" in params) != ("canny_high" in params):
        raise ApplicationError("canny_low and canny_high go together", extra={"params": ["canny_low", "canny_high"]})
    if op == "controlnet" and "canny_low" in params and params["canny_low"] > params["canny_high"]:
        raise ApplicationError(
            f"canny_low ({params['canny_low']}) must not be above canny_high ({params['canny_high']})"
        )
    if "hires_scale" in params:
        width, height = hires_size(width=params["width"], height=params["height"], scale=params["hires_scale"])
        if width <= params["width"] and height <= params["height"]:
            raise ApplicationError(
                f"hires_scale {params['hires_scale']:g} does not enlarge {params['width']}x{params['height']}",
                extra={"param": "hires_scale"},
            )
