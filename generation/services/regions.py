"""Fix a marked region: an inpaint job on the version, with the brief's model and LoRAs from its own lineage."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.db import transaction

from assets.errors import ApplicationError
from assets.models import Derivation, Version
from assets.recipes import recipe_of
from assets.selectors import lineage_graph
from assets.services.blobs import BlobsStored
from generation.requests import GenerationRequest, LoraSpec
from generation.services.jobs import GENERATION_OPS, generation_job_create

FIX_BATCH = 2
FIX_STRENGTH = 0.85


def region_inpaint(
    *, version: Version, mask_png: bytes, prompt_text: str, change_request: bytes, created_by=None
) -> list[Derivation]:
    """Queue an inpaint of `version` under `mask_png` (white repaints), recording the change request as used.

    The model, LoRAs with their weights, VAE, sampler, steps and CFG come from the nearest generation in the
    version's lineage, and so does the prompt when `prompt_text` is blank; the seeds are new. Returns the queued
    derivations.
    """
    source = next((d for d in reversed(lineage_graph(version=version).chain()) if d.op in GENERATION_OPS), None)
    if source is None:
        raise ApplicationError(
            f"version {version.pk} has no generation in its lineage: nothing says which model to repaint it with",
            extra={"code": "no_recipe"},
        )
    recipe = recipe_of(derivation=source)
    params = {key: source.params[key] for key in ("sampler", "steps", "cfg") if key in source.params}
    params.update(batch_size=FIX_BATCH, strength=FIX_STRENGTH, prompt_syntax=recipe.prompt_syntax)
    with BlobsStored() as stored, transaction.atomic():
        request = GenerationRequest(
            brief=version.brief,
            op="inpaint",
            base_model=recipe.base,
            params=params,
            vae=recipe.vae,
            init=version,
            prompt_text=prompt_text or recipe.prompt_text,
            negative_prompt=recipe.prompt.negative_text or None,
            loras=tuple(LoraSpec(weights=weights, weight=weight) for weights, weight in recipe.loras),
            mask_source=ContentFile(mask_png, name="region-mask.png"),
            change_request=stored.store_bytes(data=change_request, media_type="application/json"),
        )
        job = generation_job_create(request=request, created_by=created_by)
    return [batch.derivation for batch in job.batches.select_related("derivation")]
