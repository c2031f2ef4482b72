from __future__ import annotations

from django.db import transaction
from PIL import Image

import generation.operations  # noqa: F401
from assets.errors import ApplicationError
from assets.models import Derivation, Phase, Prompt, Used, Version
from assets.operations import operation_names
from assets.recipes import recipe_of
from assets.services.audit import audit_event_append
from assets.services.blobs import BlobsStored, blob_open, image_ingest
from assets.services.derivations import UsedInput, derivation_create, derivations_cancel
from assets.services.prompts import prompt_from_text, prompt_render
from assets.services.queues import Queue
from assets.services.runs import run_enqueue
from generation.models import GenerationJob, JobBatch
from generation.requests import CheckedRequest, GenerationRequest, ImagePrompt, LoraSpec

# The operations the diffusion pipeline runs, as their modules declare them (read once they are loaded).
GENERATION_OPS = operation_names(rerun="pipeline")


def generation_job_create(*, request: GenerationRequest, created_by=None) -> GenerationJob:
    """Check a request, record one queued derivation per batch, and enqueue them when the transaction commits.

    An uploaded mask and a template's rendered prompts are checked as they are recorded, inside the transaction:
    nothing is written when anything is wrong (no job, no derivation, no mask file, no task).
    """
    checked = request.check()
    with BlobsStored() as stored, transaction.atomic():
        prompts = [_prompt_record(request=request, values=batch.values) for batch in checked.batches]
        inputs = _inputs_used(request=request, checked=checked, stored=stored)
        job = GenerationJob.objects.create(
            brief=request.brief,
            op=request.op,
            template=request.template,
            values_grid=request.values_grid or {},
            regenerated_from=request.regenerated_from,
            request={
                "params": checked.params,
                "loras": [[spec.weights.sha256, spec.weight] for spec in request.loras],
                "prompt_text": request.prompt_text,
            },
            created_by=created_by,
        )
        for index, (batch, prompt) in enumerate(zip(checked.batches, prompts, strict=True)):
            _batch_record(
                job=job,
                index=index,
                values=batch.values,
                prompt=prompt,
                inputs=[*inputs, *_loras_used(loras=batch.loras)],
                params=batch.params,
                created_by=created_by,
            )
    return job


def _prompt_record(*, request: GenerationRequest, values: dict) -> Prompt:
    if request.prompt is not None:
        return request.prompt
    if request.template is None:
        return prompt_from_text(brief=request.brief, text=request.prompt_text, negative_text=request.negative_prompt)
    return prompt_render(template=request.template, values=values)


def _inputs_used(*, request: GenerationRequest, checked: CheckedRequest, stored: BlobsStored) -> list[UsedInput]:
    """What every batch uses besides its prompt; an uploaded mask is checked as it is stored."""
    inputs = [UsedInput(role=Used.Role.BASE_MODEL, target=request.base_model)]
    if request.vae is not None:
        inputs.append(UsedInput(role=Used.Role.VAE, target=request.vae))
    if request.init is not None:
        inputs.append(UsedInput(role=Used.Role.INIT_IMAGE, target=request.init))
    if request.control is not None:
        inputs += [
            UsedInput(role=Used.Role.CONTROL_IMAGE, target=request.control),
            UsedInput(role=Used.Role.CONTROLNET, target=request.controlnet),
        ]
    inputs += [UsedInput(role=Used.Role.REFERENCE, target=ref, position=i) for i, ref in enumerate(request.references)]
    if request.image_prompt is not None:
        inputs += _image_prompt_inputs(image_prompt=request.image_prompt, guide=checked.guide, stored=stored)
    mask = checked.mask_blob
    if request.mask_source is not None:
        mask = _mask_store(mask_source=request.mask_source, init=request.init)
    if mask is not None:
        inputs.append(UsedInput(role=Used.Role.MASK, target=mask))
    if request.change_request is not None:
        inputs.append(UsedInput(role=Used.Role.CHANGE_REQUEST, target=request.change_request))
    return inputs


def _loras_used(*, loras: tuple[LoraSpec, ...]) -> list[UsedInput]:
    return [
        UsedInput(role=Used.Role.LORA, target=spec.weights, weight=float(spec.weight), position=i)
        for i, spec in enumerate(loras)
    ]


def _image_prompt_inputs(*, image_prompt: ImagePrompt, guide: bytes | None, stored: BlobsStored) -> list[UsedInput]:
    """The adapter, its encoder, the references it looks at and its guide image (a colour lock's, stored here)."""
    inputs = [
        UsedInput(role=Used.Role.IP_ADAPTER, target=image_prompt.adapter),
        UsedInput(role=Used.Role.IMAGE_ENCODER, target=image_prompt.encoder),
        *(UsedInput(role=Used.Role.REFERENCE, target=ref, position=i) for i, ref in enumerate(image_prompt.references)),
    ]
    guide_blob = stored.store_bytes(data=guide, media_type="image/png") if guide is not None else image_prompt.guide
    if guide_blob is not None:
        inputs.append(UsedInput(role=Used.Role.GUIDE_IMAGE, target=guide_blob))
    return inputs


def _batch_record(
    *, job: GenerationJob, index: int, values: dict, prompt: Prompt, inputs: list[UsedInput], params: dict, created_by
) -> None:
    derivation = derivation_create(
        brief=job.brief,
        op=job.op,
        phase=Phase.IDEATION if job.op == "txt2img" else Phase.PRODUCTION,
        params=params,
        inputs=[UsedInput(role=Used.Role.PROMPT, target=prompt), *inputs],
        created_by=created_by,
    )
    Derivation.objects.filter(pk=derivation.pk).update(
        progress_total=steps_per_image(params=params) * params["batch_size"]
    )
    JobBatch.objects.create(job=job, derivation=derivation, index=index, values=values)
    run_enqueue(
        task="generation.tasks.run_derivation", model=Derivation, pk=derivation.pk, kind="derivation", queue=Queue.GPU
    )


def steps_per_image(*, params: dict) -> int:
    """Denoising steps one image takes: the hi-res fix's second pass runs its steps × its denoising strength."""
    second = int((params.get("hires_steps") or params["steps"]) * params["strength"]) if "hires_scale" in params else 0
    return params["steps"] + second


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
    with transaction.atomic():
        active = Derivation.objects.select_for_update(of=("self",)).filter(
            job_batch__job=job, state__in=[Derivation.State.QUEUED, Derivation.State.RUNNING]
        )
        pending = sorted(active.values_list("pk", flat=True))
        cancelled = derivations_cancel(pks=pending, cancelled_by=cancelled_by)
        if cancelled:
            audit_event_append(
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
    recorded.setdefault("prompt_syntax", recipe.prompt_syntax)
    recorded.pop("prompt_read", None)  # read again from the prompt, as when it was made
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
    request = GenerationRequest(
        brief=version.brief,
        op=derivation.op,
        base_model=recipe.base,
        params={**recorded, **changes},
        prompt=recipe.prompt,
        loras=tuple(LoraSpec(weights=w, weight=weights.get(w.sha256, weight)) for w, weight in recipe.loras),
        init=init,
        mask_blob=recipe.mask,
        control=control,
        controlnet=recipe.controlnet,
        vae=recipe.vae,
        image_prompt=image_prompt,
        regenerated_from=version,
    )
    return generation_job_create(request=request, created_by=created_by)
