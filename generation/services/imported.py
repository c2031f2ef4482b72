"""Regenerate in Seed: run an imported image's recovered recipe on our worker and compare the result with it."""

from __future__ import annotations

import io

from PIL import Image

from assets.errors import ApplicationError
from assets.imagehash import hash_distance, perceptual_hash, rerun_verdict
from assets.models import Used, Version
from assets.services.blobs import blob_open
from generation.models import GenerationJob
from generation.requests import GenerationRequest, LoraSpec
from generation.services.jobs import generation_job_create

RECIPE_KEYS = ("sampler", "steps", "cfg", "seed", "width", "height")
# Carried when the recipe has them: a FLUX recipe's distilled guidance.
OPTIONAL_KEYS = ("distilled_cfg",)
HIRES_KEYS = ("hires_scale", "hires_steps", "hires_upscaler", "strength")


def imported_regenerate(*, version: Version, created_by=None) -> GenerationJob:
    """A txt2img job with the recipe another tool wrote into `version`, linked to it (regenerated_from).

    Refused, naming what is missing, when the recipe is not complete in our terms or one of its models is not
    registered: a run with other weights or another sampler would say nothing about the original.
    """
    derivation = version.generated_by.derivation
    params = _runnable_params(version=version)
    hires = "hires_scale" in params
    missing = [
        f"{model['role'].replace('_', ' ')} {model['name'] or model['hash']}"
        for model in params.get("models", [])
        if "matched" not in model
    ]
    absent = [key for key in RECIPE_KEYS if key not in params]
    if "sampler" in absent and "sampler_source" in params:
        absent[absent.index("sampler")] = f"sampler ({params['sampler_source']} has no equivalent here)"
    if hires and "hires_upscaler" not in params:
        absent.append(f"hi-res fix upscaler ({params['hires_upscaler_source']} has no equivalent here)")
    edges = {}
    for edge in derivation.used.select_related("prompt", "model_weights").order_by("position"):
        edges.setdefault(edge.role, []).append(edge)
    if Used.Role.BASE_MODEL not in edges and not any(
        model["role"] == Used.Role.BASE_MODEL for model in params.get("models", [])
    ):
        missing.append("base model (the metadata names none)")
    if Used.Role.PROMPT not in edges:
        absent.append("prompt")
    if missing or absent:
        raise ApplicationError(
            f"version {version.pk}'s recipe cannot run here: "
            + "; ".join([*(f"{item} is not registered" for item in missing), *(f"no {item}" for item in absent)]),
            extra={"code": "recipe_incomplete", "missing": missing, "absent": absent},
        )
    request = GenerationRequest(
        brief=version.brief,
        op="txt2img",
        base_model=edges[Used.Role.BASE_MODEL][0].model_weights,
        prompt=edges[Used.Role.PROMPT][0].prompt,
        vae=edges[Used.Role.VAE][0].model_weights if Used.Role.VAE in edges else None,
        loras=tuple(LoraSpec(weights=edge.model_weights, weight=edge.weight) for edge in edges.get(Used.Role.LORA, [])),
        params={**_carried(params, hires=hires), "batch_size": 1},
        regenerated_from=version,
        directives=False,
    )
    return generation_job_create(request=request, created_by=created_by)


def _runnable_params(*, version: Version) -> dict:
    """The recipe of an imported version, refused when nothing here could run it, whatever is registered."""
    derivation = version.generated_by.derivation
    params = derivation.params
    if derivation.op != "import" or "generator" not in params:
        raise ApplicationError(
            f"version {version.pk} was not imported with a recipe from another tool", extra={"code": "no_recipe"}
        )
    if "not_reproducible" in params:
        raise ApplicationError(
            f"version {version.pk} was made in {params['generator']}: {params['not_reproducible']}",
            extra={"code": "not_reproducible"},
        )
    if "strength" in params and "hires_scale" not in params:
        raise ApplicationError(
            f"version {version.pk} was an image-to-image run in {params['generator']}; its init image "
            "did not come with it",
            extra={"code": "needs_init"},
        )
    return params


def _carried(params: dict, *, hires: bool) -> dict:
    """The imported recipe's settings a regeneration runs with."""
    return {key: params[key] for key in (*RECIPE_KEYS, *OPTIONAL_KEYS, *(HIRES_KEYS if hires else ())) if key in params}


def regeneration_attempts(*, version: Version) -> list[dict]:
    """Every regeneration of `version` in Seed: its state and, once made, how the result compares with the import."""
    jobs = (
        GenerationJob.objects.filter(regenerated_from=version)
        .prefetch_related("batches__derivation__generated__version")
        .order_by("pk")
    )
    with blob_open(blob=version.blob) as handle, Image.open(io.BytesIO(handle.read())) as image:
        original = perceptual_hash(image)
    attempts = []
    for job in jobs:
        for batch in job.batches.all():
            derivation = batch.derivation
            outputs = [edge.version for edge in derivation.generated.all()]
            attempt = {
                "job": job.pk,
                "derivation": derivation.pk,
                "state": derivation.state,
                "version": None,
                "verdict": None,
                "distance": None,
            }
            if outputs:
                made = outputs[0]
                with blob_open(blob=made.blob) as handle, Image.open(io.BytesIO(handle.read())) as image:
                    distance = float(hash_distance(perceptual_hash(image), original))
                attempt.update(
                    version=made.pk,
                    distance=distance,
                    verdict=rerun_verdict(identical=made.blob_id == version.blob_id, distance=distance),
                )
            attempts.append(attempt)
    return attempts
