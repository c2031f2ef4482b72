"""What a LoRA's training story (assets.lora_story) is checked against on this install: the architecture it was
registered as, the base model whose hash its trainer recorded, and the training images it lists."""

from __future__ import annotations

from django.db.models import QuerySet

from assets.access import visible
from assets.models import ModelWeights, Reference, Version


def story_architecture_check(*, weights: ModelWeights) -> str | None:
    """Whether the architecture the header names "agrees" or "differs" with the registered one; None where it names
    none Seed knows."""
    named = weights.training_story.get("base_model", {}).get("architecture")
    if named is None:
        return None
    return "agrees" if named == weights.architecture else "differs"


def story_base_models(*, weights: ModelWeights) -> QuerySet[ModelWeights]:
    """Registered base models with the sha256 the trainer recorded for the LoRA's base (kohya hashes the whole file,
    as Seed hashes a single-file model; a diffusers folder's manifest hash never matches it)."""
    digest = weights.training_story.get("base_model", {}).get("sha256")
    if not digest:
        return ModelWeights.objects.none()
    return ModelWeights.objects.filter(kind=ModelWeights.Kind.BASE, sha256=digest)


def story_training_set_held(*, weights: ModelWeights, user) -> list[dict]:
    """The training images the LoRA lists, each with the versions and references of the same bytes here that `user`
    may see: how a studio checks another's LoRA against its own images (a scoped producer, against its clients')."""
    images = weights.training_story.get("training_set", [])
    hashes = [image["sha256"] for image in images]
    held: dict[str, dict[str, list[int]]] = {}
    for model, label in ((Version, "versions"), (Reference, "references")):
        rows = visible(model.objects.filter(blob_id__in=hashes), user=user).order_by("pk").values_list("blob_id", "pk")
        for digest, pk in rows:
            held.setdefault(digest, {"versions": [], "references": []})[label].append(pk)
    return [{**image, **held.get(image["sha256"], {"versions": [], "references": []})} for image in images]
