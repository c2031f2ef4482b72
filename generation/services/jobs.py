from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from PIL import Image

from assets.errors import ApplicationError
from assets.hooks import audit_append
from assets.models import (
    Blob,
    Brief,
    Derivation,
    DerivedFile,
    ModelWeights,
    Phase,
    Prompt,
    PromptTemplate,
    Reference,
    Used,
    Version,
)
from assets.params import params_clean
from assets.recipes import recipe_of
from assets.services.blobs import BlobsStored, blob_open, image_ingest
from assets.services.derivations import UsedInput, derivation_create
from assets.services.prompts import prompt_from_text, prompt_render
from assets.services.queues import Queue
from assets.services.runs import run_enqueue
from generation.imaging import hires_size, outpaint_canvas_size, palette_guide
from generation.models import GenerationJob, JobBatch

GENERATION_OPS = ("txt2img", "img2img", "inpaint", "outpaint", "controlnet")
NEEDS_INIT = ("img2img", "inpaint", "outpaint")
MAX_BATCHES = 64
DEFAULT_LORA_WEIGHT = 0.8
DEFAULT_IP_ADAPTER_SCALE = 0.6
# Long side of the default size per architecture, before fitting the brief's aspect.
BASE_AREA = {ModelWeights.Architecture.SD15: 512 * 512, ModelWeights.Architecture.SDXL: 1024 * 1024}


@dataclass(frozen=True)
class LoraSpec:
    weights: ModelWeights
    weight: float = DEFAULT_LORA_WEIGHT


def size_for_aspect(*, aspect: tuple[int, int], area: int) -> tuple[int, int]:
    """Width and height near `area` pixels at the brief's aspect, in multiples of 8 as the VAE needs."""
    w, h = aspect
    scale = (area / (w * h)) ** 0.5
    return max(8, round(w * scale / 8) * 8), max(8, round(h * scale / 8) * 8)


def _source_size(source: Version | Reference) -> tuple[int, int]:
    return source.width, source.height


def _check_weights(
    *, base: ModelWeights, loras: list[LoraSpec], controlnet: ModelWeights | None, vae: ModelWeights | None
) -> None:
    if base.kind != ModelWeights.Kind.BASE:
        raise ApplicationError(f"{base.name} is a {base.get_kind_display()}, not a base model")
    for spec in loras:
        if spec.weights.kind != ModelWeights.Kind.LORA:
            raise ApplicationError(f"{spec.weights.name} is not a LoRA")
        if spec.weights.architecture != base.architecture:
            raise ApplicationError(
                f"LoRA {spec.weights.name} is for {spec.weights.get_architecture_display()}, "
                f"the base model is {base.get_architecture_display()}"
            )
        if not -4.0 <= spec.weight <= 4.0:
            raise ApplicationError(f"LoRA weight {spec.weight} is out of range (-4 to 4)")
    if controlnet is not None and controlnet.kind != ModelWeights.Kind.CONTROLNET:
        raise ApplicationError(f"{controlnet.name} is not a ControlNet")
    if vae is not None and vae.kind != ModelWeights.Kind.VAE:
        raise ApplicationError(f"{vae.name} is not a VAE")
    if vae is not None and vae.architecture != base.architecture:
        raise ApplicationError(
            f"VAE {vae.name} is for {vae.get_architecture_display()}, "
            f"the base model is {base.get_architecture_display()}"
        )


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


def _check_image_prompt(*, brief: Brief, base: ModelWeights, image_prompt: ImagePrompt | None, references) -> None:
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


def _prompts(*, brief, template, values_grid, prompt_text, negative_prompt) -> list[tuple[dict, object]]:
    """One (values, prompt) per combination of the grid, in the template's placeholder order."""
    if template is None:
        if not prompt_text:
            raise ApplicationError("give a prompt or a template with placeholder values")
        return [({}, prompt_from_text(brief=brief, text=prompt_text, negative_text=negative_prompt))]
    if template.brief_id != brief.pk:
        raise ApplicationError(f"template {template.pk} belongs to another brief")
    grid = values_grid or {}
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
    return [
        (values, prompt_render(template=template, values=values))
        for values in (dict(zip(template.placeholders, combo, strict=True)) for combo in combinations)
    ]


def generation_job_create(
    *,
    brief: Brief,
    op: str,
    base_model: ModelWeights,
    params: dict | None = None,
    template: PromptTemplate | None = None,
    values_grid: dict | None = None,
    prompt: Prompt | None = None,
    prompt_text: str = "",
    negative_prompt: str | None = None,
    loras: list[LoraSpec] = (),
    init: Version | Reference | None = None,
    mask_source=None,
    mask_blob: Blob | None = None,
    mask_file: DerivedFile | None = None,
    control: Version | Reference | None = None,
    controlnet: ModelWeights | None = None,
    vae: ModelWeights | None = None,
    references: list[Version | Reference] = (),
    image_prompt: ImagePrompt | None = None,
    regenerated_from: Version | None = None,
    change_request: Blob | None = None,
    created_by=None,
) -> GenerationJob:
    """Validate a request, record one queued derivation per batch, and enqueue them when the transaction commits.

    `references` are recorded as looked at; those of an `image_prompt` condition the image through its IP-Adapter.
    Nothing is written when anything is wrong: no job, no derivation, no mask file, no task.
    """
    if op not in GENERATION_OPS:
        raise ApplicationError(f"unknown generation {op!r}; choose one of {', '.join(GENERATION_OPS)}")
    loras = list(loras)
    _check_weights(base=base_model, loras=loras, controlnet=controlnet, vae=vae)
    _check_image_prompt(brief=brief, base=base_model, image_prompt=image_prompt, references=references)
    if op in NEEDS_INIT and init is None:
        raise ApplicationError(f"{op} needs an init image (a version or a reference)")
    if mask_file is not None:
        mask_blob = _mask_file_check(mask_file=mask_file, init=init, op=op)
    if op == "inpaint" and mask_source is None and mask_blob is None:
        raise ApplicationError("inpaint needs a mask image the size of the init image")
    if op == "controlnet" and (control is None or controlnet is None):
        raise ApplicationError("controlnet needs a control image and a ControlNet model")
    params = dict(params or {})
    params.setdefault("sampler", "dpmpp_2m_karras")
    params.setdefault("steps", 25)
    params.setdefault("cfg", 7.0)
    params.setdefault("seed", secrets.randbelow(2**32))
    params.setdefault("batch_size", 6)
    if op in ("img2img", "inpaint"):
        params.setdefault("strength", 0.6 if op == "img2img" else 0.9)
    if op == "outpaint":
        params.setdefault("target_aspect", brief.aspect)
    if op == "controlnet":
        params.setdefault("control_type", "canny")
        params.setdefault("conditioning_scale", 1.0)
        if params["control_type"] in ("canny", "edge"):
            params.setdefault("canny_low", 100)
            params.setdefault("canny_high", 200)
    if image_prompt is not None:
        params.setdefault("ip_adapter_scale", image_prompt.scale)
    elif "ip_adapter_scale" in params:
        raise ApplicationError(
            "ip_adapter_scale goes with an IP-Adapter and its image encoder", extra={"param": "ip_adapter_scale"}
        )
    if op == "txt2img" and "hires_scale" in params:
        # A1111's defaults: a latent upscale, then as many steps as the first pass, at denoising strength 0.7.
        params.setdefault("hires_upscaler", "latent")
        params.setdefault("hires_steps", 0)
        params.setdefault("strength", 0.7)
    if init is not None and op in ("img2img", "inpaint"):
        size = _source_size(init)
        params.setdefault("width", size[0] // 8 * 8)
        params.setdefault("height", size[1] // 8 * 8)
    elif op == "outpaint":
        params["width"], params["height"] = outpaint_canvas_size(
            size=_source_size(init), aspect=params["target_aspect"]
        )
    else:
        default = size_for_aspect(aspect=brief.aspect_ratio, area=BASE_AREA.get(base_model.architecture, 512 * 512))
        params.setdefault("width", default[0])
        params.setdefault("height", default[1])
    cleaned = params_clean(op=op, params=params)
    if cleaned["width"] % 8 or cleaned["height"] % 8:
        raise ApplicationError(f"width and height must be multiples of 8, got {cleaned['width']}x{cleaned['height']}")
    _second_passes_check(op=op, params=cleaned)

    guide = (
        palette_guide(palette=brief.palette, aspect=brief.aspect) if image_prompt and image_prompt.colour_lock else None
    )

    with BlobsStored() as stored, transaction.atomic():
        if prompt is not None and prompt.brief_id != brief.pk:
            raise ApplicationError(f"prompt {prompt.pk} belongs to another brief")
        prompts = (
            [(prompt.values, prompt)]
            if prompt is not None
            else _prompts(
                brief=brief,
                template=template,
                values_grid=values_grid,
                prompt_text=prompt_text,
                negative_prompt=negative_prompt,
            )
        )
        inputs = [UsedInput(role=Used.Role.BASE_MODEL, target=base_model)]
        if vae is not None:
            inputs.append(UsedInput(role=Used.Role.VAE, target=vae))
        inputs += [
            UsedInput(role=Used.Role.LORA, target=spec.weights, weight=float(spec.weight), position=i)
            for i, spec in enumerate(loras)
        ]
        if init is not None:
            inputs.append(UsedInput(role=Used.Role.INIT_IMAGE, target=init))
        if control is not None:
            inputs += [
                UsedInput(role=Used.Role.CONTROL_IMAGE, target=control),
                UsedInput(role=Used.Role.CONTROLNET, target=controlnet),
            ]
        inputs += [UsedInput(role=Used.Role.REFERENCE, target=ref, position=i) for i, ref in enumerate(references)]
        if image_prompt is not None:
            inputs += [
                UsedInput(role=Used.Role.IP_ADAPTER, target=image_prompt.adapter),
                UsedInput(role=Used.Role.IMAGE_ENCODER, target=image_prompt.encoder),
            ]
            inputs += [
                UsedInput(role=Used.Role.REFERENCE, target=ref, position=i)
                for i, ref in enumerate(image_prompt.references)
            ]
            guide_blob = (
                stored.store_bytes(data=guide, media_type="image/png") if guide is not None else image_prompt.guide
            )
            if guide_blob is not None:
                inputs.append(UsedInput(role=Used.Role.GUIDE_IMAGE, target=guide_blob))
        job = GenerationJob.objects.create(
            brief=brief,
            op=op,
            template=template,
            values_grid=values_grid or {},
            regenerated_from=regenerated_from,
            request={
                "params": cleaned,
                "loras": [[s.weights.sha256, s.weight] for s in loras],
                "prompt_text": prompt_text,
            },
            created_by=created_by,
        )
        if mask_source is not None:
            mask_blob = _mask_store(mask_source=mask_source, init=init)
        if mask_blob is not None:
            inputs.append(UsedInput(role=Used.Role.MASK, target=mask_blob))
        if change_request is not None:
            inputs.append(UsedInput(role=Used.Role.CHANGE_REQUEST, target=change_request))
        for index, (values, prompt) in enumerate(prompts):
            derivation = derivation_create(
                brief=brief,
                op=op,
                phase=Phase.IDEATION if op == "txt2img" else Phase.PRODUCTION,
                params=cleaned,
                inputs=[UsedInput(role=Used.Role.PROMPT, target=prompt), *inputs],
                created_by=created_by,
            )
            Derivation.objects.filter(pk=derivation.pk).update(
                progress_total=steps_per_image(params=cleaned) * cleaned["batch_size"]
            )
            JobBatch.objects.create(job=job, derivation=derivation, index=index, values=values)
            run_enqueue(task="generation.tasks.run_derivation", pk=derivation.pk, kind="derivation", queue=Queue.GPU)
    return job


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


def steps_per_image(*, params: dict) -> int:
    """Denoising steps one image takes: the hi-res fix's second pass runs its steps × its denoising strength."""
    second = int((params.get("hires_steps") or params["steps"]) * params["strength"]) if "hires_scale" in params else 0
    return params["steps"] + second


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


def _mask_store(*, mask_source, init):
    """Masks are stored as blobs (no entity of their own); the size must match the init image exactly.

    The checks run inside the ingest, so a refused mask leaves neither a row nor a file.
    """
    with image_ingest(source=mask_source) as (blob, info):
        if (info.width, info.height) != (init.width, init.height):
            raise ApplicationError(
                f"the mask is {info.width}x{info.height} but the image is {init.width}x{init.height}",
                extra={"code": "mask_size"},
            )
        with blob_open(blob=blob) as handle, Image.open(handle) as mask:
            if mask.convert("L").getextrema()[1] == 0:
                raise ApplicationError(
                    "the mask is empty: paint the area to change in white", extra={"code": "mask_empty"}
                )
    return blob


def generation_job_cancel(*, job: GenerationJob, cancelled_by=None) -> int:
    """Queued batches never start; running ones stop at their next step and record nothing.

    Each cancelled run records who cancelled it and when, and one audit event names them all.
    """
    who = cancelled_by.get_username() if cancelled_by is not None else "the system"
    with transaction.atomic():
        active = Derivation.objects.select_for_update(of=("self",)).filter(
            job_batch__job=job, state__in=[Derivation.State.QUEUED, Derivation.State.RUNNING]
        )
        pending = sorted(active.values_list("pk", flat=True))
        cancelled = Derivation.objects.filter(pk__in=pending).update(
            state=Derivation.State.CANCELLED,
            error=f"cancelled by {who}",
            cancelled_by=cancelled_by,
            cancelled_at=timezone.now(),
        )
        if cancelled:
            audit_append(
                kind="generation.cancelled",
                actor=cancelled_by,
                object_type="generation_job",
                object_id=job.pk,
                payload={"derivations": pending},
            )
    return cancelled


def generation_job_regenerate(
    *, version: Version, params: dict | None = None, lora_weights: dict[str, float] | None = None, created_by=None
) -> GenerationJob:
    """A new job from a version's recorded recipe, with new seeds unless one is given, linked to that version.

    `params` overrides recorded parameters (steps, cfg, sampler, batch_size …); `lora_weights` maps a
    LoRA's sha256 to a new weight.
    """
    derivation = version.generated_by.derivation
    if derivation.op not in GENERATION_OPS:
        raise ApplicationError(
            f"version {version.pk} was made by {derivation.op}, not a generation: nothing to regenerate"
        )
    recipe = recipe_of(derivation=derivation)
    recorded = dict(derivation.params)
    recorded["seed"] = recorded["seed"] + recorded.get("batch_size", 1)
    changes = dict(params or {})
    weights = dict(lora_weights or {})
    unknown = sorted(set(weights) - {w.sha256 for w, _ in recipe.loras})
    if unknown:
        raise ApplicationError(f"the recipe has no LoRA with sha256 {', '.join(unknown)}")
    init = recipe.init and (recipe.init.version or recipe.init.reference)
    control = recipe.control and (recipe.control.version or recipe.control.reference)
    image_prompt = recipe.ip_adapter and ImagePrompt(
        adapter=recipe.ip_adapter,
        encoder=recipe.image_encoder,
        guide=recipe.guide,
        references=tuple(edge.version or edge.reference for edge in recipe.references),
        scale=recorded["ip_adapter_scale"],
    )
    return generation_job_create(
        brief=version.brief,
        op=derivation.op,
        base_model=recipe.base,
        params={**recorded, **changes},
        prompt=recipe.prompt,
        loras=[LoraSpec(weights=w, weight=weights.get(w.sha256, weight)) for w, weight in recipe.loras],
        init=init,
        mask_blob=recipe.mask,
        control=control,
        controlnet=recipe.controlnet,
        vae=recipe.vae,
        image_prompt=image_prompt,
        regenerated_from=version,
        created_by=created_by,
    )
