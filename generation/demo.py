"""The demo's generation stage: tiny models through the real worker, batches from a template grid, then edits."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from assets.demo import worker_wait
from assets.errors import ApplicationError
from assets.models import Derivation
from generation.models import GenerationJob
from generation.requests import GenerationRequest, ImagePrompt, LoraSpec
from generation.services.jobs import generation_job_create
from generation.services.models import TINY_NAMES, tiny_models_register

DEMO_PARAMS = {"steps": 12, "cfg": 7.0, "width": 72, "height": 128, "sampler": "dpmpp_2m_karras"}


def jobs_wait(*, jobs: list[GenerationJob]) -> None:
    """Block until every batch of the jobs has finished on the worker; failures stop the demo with their reason."""
    pending = Derivation.objects.filter(job_batch__job__in=jobs)
    worker_wait(
        lambda: (
            None if pending.filter(state__in=[Derivation.State.QUEUED, Derivation.State.RUNNING]).exists() else True
        ),
        "the demo's jobs",
    )
    failed = list(pending.exclude(state=Derivation.State.SUCCEEDED).values_list("pk", "error"))
    if failed:
        raise ApplicationError(
            "demo generation failed: " + "; ".join(f"derivation {pk}: {error}" for pk, error in failed)
        )


def _face_mask(size: tuple[int, int]) -> ContentFile:
    """A white ellipse where a face would be: the area the inpaint repaints."""
    mask = Image.new("L", size, 0)
    w, h = size
    ImageDraw.Draw(mask).ellipse([w * 0.3, h * 0.15, w * 0.7, h * 0.4], fill=255)
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="face_mask.png")


def _summary(models: dict, batches: GenerationJob, edits: list[GenerationJob]) -> dict:
    outputs = {
        job.op: [edge.version_id for batch in job.batches.all() for edge in batch.derivation.generated.all()]
        for job in edits
    }
    return {
        "models": {key: weights.pk for key, weights in models.items()},
        "jobs": [batches.pk, *[job.pk for job in edits]],
        "batches": [
            [edge.version_id for edge in batch.derivation.generated.order_by("index")]
            for batch in batches.batches.order_by("index")
        ],
        **outputs,
    }


DEMO_LORA_LICENCE = "Tiny style A — studio commercial licence"


def _demo_licence(lora, user) -> None:
    """The demo LoRA comes under a licence, so every version made with it, and the delivery, inherits its credit."""
    from assets.models import Licence
    from assets.services.licences import licence_save, licences_attach

    licence = Licence.objects.filter(name=DEMO_LORA_LICENCE).first() or licence_save(
        actor=user,
        values={
            "name": DEMO_LORA_LICENCE,
            "commercial_use": True,
            "attribution": 'Style LoRA "Tiny style A" by the Seed demo studio',
            "notes": "Bought for client work; renew yearly.",
        },
    )
    if not licence.model_weights.filter(pk=lora.pk).exists():
        licences_attach(licences=[licence], model_weights=[lora], actor=user)


def generation_stage(*, context: dict) -> dict:
    brief, user, template, prompt = context["brief"], context["user"], context["template"], context["prompt"]
    with tempfile.TemporaryDirectory(prefix="seed-demo-models-") as folder:
        models = tiny_models_register(folder=Path(folder))
    _demo_licence(models["lora_a"], user)
    earlier = list(GenerationJob.objects.filter(brief=brief).order_by("pk")[:4])
    if (
        len(earlier) == 4
        and not Derivation.objects.filter(job_batch__job__in=earlier).exclude(state=Derivation.State.SUCCEEDED).exists()
    ):
        summary = _summary(models, earlier[0], earlier[1:])
        context["generated_master"] = summary["img2img"][0]
        return summary
    batches = generation_job_create(
        request=GenerationRequest(
            brief=brief,
            op="txt2img",
            base_model=models["base"],
            template=template,
            values_grid={
                "subject": ["a chilled can of Citrus Wave"],
                "camera action": ["slow dolly-in"],
                "lighting adjective": ["golden-hour", "neon", "soft morning"],
            },
            loras=(LoraSpec(weights=models["lora_a"], weight=0.8),),
            params={**DEMO_PARAMS, "seed": 1234, "batch_size": 6},
        ),
        created_by=user,
    )
    jobs_wait(jobs=[batches])
    first = batches.batches.order_by("index").first().derivation.generated.order_by("index").first().version
    edits = _edits_create(brief=brief, user=user, base=models["base"], first=first, prompt_text=prompt.text)
    jobs_wait(jobs=edits)
    summary = _summary(models, batches, edits)
    context["generated_master"] = summary["img2img"][0]
    return summary


def _edits_create(*, brief, user, base, first, prompt_text: str) -> list[GenerationJob]:
    """An img2img, an inpaint of the face and an outpaint to 16:9, each from the first image of the batches."""
    return [
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="img2img",
                base_model=base,
                init=first,
                prompt_text=prompt_text,
                params={**DEMO_PARAMS, "seed": 77, "batch_size": 2, "strength": 0.6},
            ),
            created_by=user,
        ),
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="inpaint",
                base_model=base,
                init=first,
                mask_source=_face_mask((72, 128)),
                prompt_text="a smiling face, sharp eyes",
                params={**DEMO_PARAMS, "seed": 78, "batch_size": 1},
            ),
            created_by=user,
        ),
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="outpaint",
                base_model=base,
                init=first,
                prompt_text=prompt_text,
                params={
                    **{k: v for k, v in DEMO_PARAMS.items() if k not in ("width", "height")},
                    "seed": 79,
                    "batch_size": 1,
                    "target_aspect": "16:9",
                },
            ),
            created_by=user,
        ),
    ]


def imported_regeneration_stage(*, context: dict) -> dict:
    """Regenerate in Seed the outside image whose models are registered (the A1111 one), and say how close it came."""
    from assets.models import Version
    from generation.services.imported import imported_regenerate, regeneration_attempts

    imported = Version.objects.filter(brief=context["brief"], label="a1111_rooftop.png").first()
    if imported is None:
        return {}
    if not GenerationJob.objects.filter(regenerated_from=imported).exists():
        jobs_wait(jobs=[imported_regenerate(version=imported, created_by=context["user"])])
    return {"imported": imported.pk, "attempts": regeneration_attempts(version=imported)}


def grid_stage(*, context: dict) -> dict:
    """A 2×3 comparison grid on the brief's prompt (CFG across, sampler down) and its labelled sheet."""
    from assets.models import ModelWeights
    from generation.models import GridJob
    from generation.services.grids import grid_create, grid_progress, grid_sheet_make

    grid = GridJob.objects.filter(brief=context["brief"]).order_by("pk").first()
    if grid is None:
        base = (
            ModelWeights.objects.filter(kind=ModelWeights.Kind.BASE, name__startswith="Tiny SD 1.5 (")
            .order_by("pk")
            .first()
        )
        grid = grid_create(
            brief=context["brief"],
            base_model=base,
            prompt_text=context["prompt"].text,
            params={**DEMO_PARAMS, "seed": 1234},
            created_by=context["user"],
            axes=[
                {"kind": "cfg", "values": [5, 9]},
                {"kind": "sampler", "values": ["dpmpp_2m_karras", "euler_a", "ddim"]},
            ],
        )
        jobs_wait(jobs=[cell.job for cell in grid.cells.select_related("job")])
    sheet = grid_sheet_make(grid=grid, created_by=context["user"])
    return {"grid": grid.pk, "cells": grid_progress(grid=grid)["versions"], "sheet": sheet.pk}


def _logo_png() -> ContentFile:
    """The brand's flat logo, drawn in its palette: the kind of graphic a studio vectorises."""
    image = Image.new("RGB", (256, 256), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.ellipse((24, 24, 232, 232), fill=(254, 44, 84))
    draw.pieslice((56, 56, 200, 200), start=200, end=340, fill=(255, 213, 0))
    draw.rectangle((64, 150, 192, 176), fill=(0, 224, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="citrus_wave_logo.png")


def _ran(derivation: Derivation) -> Derivation:
    """Wait for one worker op; a failure stops the demo with its reason."""

    def check():
        derivation.refresh_from_db()
        if derivation.state in (Derivation.State.FAILED, Derivation.State.CANCELLED):
            raise ApplicationError(f"demo {derivation.op} failed: {derivation.error}")
        return derivation if derivation.state == Derivation.State.SUCCEEDED else None

    return worker_wait(check, f"the {derivation.op}")


def _earlier(brief, op: str, **used) -> Derivation | None:
    return (
        Derivation.objects.filter(brief=brief, op=op, state=Derivation.State.SUCCEEDED, **used).order_by("pk").first()
    )


def _tiny(key: str):
    """The tiny model registered under `key` (generation.services.models): by name, as several share a kind."""
    from assets.models import ModelWeights

    name, kind = TINY_NAMES[key]
    return ModelWeights.objects.filter(kind=kind, name=name).order_by("pk").first()


def preparation_stage(*, context: dict) -> dict:
    """Production preparation: a batch colour-locked to the brief's palette with two mood-board references as style,
    a cut-out of its first image whose mask then places it over the img2img master, and the logo as an SVG."""
    from assets.models import Used, Version
    from assets.services.versions import version_import
    from generation.services.finishing import Layer, finishing_create, matte_create, vectorise_create

    brief, user = context["brief"], context["user"]
    locked = _earlier(brief, "txt2img", used__role=Used.Role.GUIDE_IMAGE) or _colour_locked(context=context)
    subject = locked.generated.order_by("index").first().version
    matte = _earlier(brief, "matte", used__version=subject) or _ran(
        matte_create(version=subject, matting=_tiny("matting"), grow=1, feather=1.0, created_by=user)
    )
    cutout, mask = matte.generated.get().version, matte.files.get()
    master = Version.objects.get(pk=context["generated_master"])
    composite = _earlier(brief, "composite", used__blob=mask.blob) or _ran(
        finishing_create(
            version=master,
            op="composite",
            params={"blend": "normal"},
            layers=[Layer(source=cutout, mask=mask)],
            created_by=user,
        )
    )
    logo = Version.objects.filter(brief=brief, label="citrus_wave_logo.png").first() or version_import(
        brief=brief,
        source=_logo_png(),
        note="The brand's logo, for the vector file",
        label="citrus_wave_logo.png",
        created_by=user,
    )
    vector = _earlier(brief, "vectorise", used__version=logo) or _ran(
        vectorise_create(version=logo, options={"filter_speckle": 4, "colour_precision": 6}, created_by=user)
    )
    return {
        "colour_locked": [edge.version_id for edge in locked.generated.order_by("index")],
        "guide_sha256": locked.used.get(role=Used.Role.GUIDE_IMAGE).blob_id,
        "cutout": cutout.pk,
        "mask": mask.pk,
        "composite": composite.generated.get().version_id,
        "logo": logo.pk,
        "svg": vector.files.get().pk,
    }


def _colour_locked(*, context: dict) -> Derivation:
    """Two images through the tiny IP-Adapter: the brief's palette as a colour lock, two mood-board images as style."""
    from assets.models import ModelWeights

    base = (
        ModelWeights.objects.filter(kind=ModelWeights.Kind.BASE, name__startswith="Tiny SD 1.5 (")
        .order_by("pk")
        .first()
    )
    job = generation_job_create(
        request=GenerationRequest(
            brief=context["brief"],
            op="txt2img",
            base_model=base,
            prompt_text=context["prompt"].text,
            image_prompt=ImagePrompt(
                adapter=_tiny("ip_adapter"),
                encoder=_tiny("image_encoder"),
                colour_lock=True,
                references=tuple(context["references"][:2]),
                scale=0.6,
            ),
            params={**DEMO_PARAMS, "seed": 4321, "batch_size": 2},
        ),
        created_by=context["user"],
    )
    jobs_wait(jobs=[job])
    return job.batches.get().derivation
