"""Queue the training of a LoRA on chosen versions: "train a LoRA on these" (the worker: generation/training.py)."""

from __future__ import annotations

from django.db import transaction

from assets.errors import ApplicationError
from assets.models import Brief, Derivation, ModelWeights, Phase, Used, Version
from assets.operations import operation_get
from assets.services.audit import audit_event_append
from assets.services.derivations import UsedInput, derivation_create, derivations_cancel
from assets.services.queues import Queue
from assets.services.runs import run_enqueue
from generation.operations.train_lora import TRAINABLE

MAX_TRAINING_IMAGES = 500
MAX_NAME = 200
TRAINABLE_STATUSES = (Version.Status.APPROVED, Version.Status.DELIVERED)


def lora_training_create(
    *,
    versions: list[Version],
    base: ModelWeights,
    params: dict,
    captions: list[str] | None = None,
    brief: Brief | None = None,
    created_by=None,
) -> Derivation:
    """Record a queued training derivation and enqueue it after commit; everything is checked before anything is
    written.

    The images are approved (or delivered) versions, or ones triaged "keep", of one client; each caption defaults to
    the prompt that made its version and is recorded as given. The derivation belongs to `brief`, or to the one brief
    all the images come from.
    """
    versions = _training_set_check(versions)
    brief = _brief_of(versions, brief)
    _base_check(base, params)
    if not isinstance(params, dict):
        raise ApplicationError("parameters must be an object")
    if "captions" in params:
        raise ApplicationError("give the captions beside the parameters, one per image", extra={"param": "captions"})
    name = params.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ApplicationError(f"name the LoRA (1 to {MAX_NAME} characters)", extra={"param": "name"})
    if captions is None:
        captions = [caption_default(version=version) for version in versions]
    elif not isinstance(captions, list) or len(captions) != len(versions):
        raise ApplicationError(
            f"give one caption per training image: {len(versions)} image(s)", extra={"param": "captions"}
        )
    spec = operation_get("train_lora")
    params = spec.prepare(params={**params, "name": name.strip(), "captions": list(captions)}, models={})
    inputs = [UsedInput(role=Used.Role.BASE_MODEL, target=base)]
    inputs += [
        UsedInput(role=Used.Role.TRAINING_IMAGE, target=version, position=position)
        for position, version in enumerate(versions)
    ]
    with transaction.atomic():
        derivation = derivation_create(
            brief=brief, op="train_lora", phase=Phase.PRODUCTION, params=params, inputs=inputs, created_by=created_by
        )
        Derivation.objects.filter(pk=derivation.pk).update(progress_total=params["steps"])
        run_enqueue(
            task="generation.tasks.run_training", model=Derivation, pk=derivation.pk, kind="training", queue=Queue.GPU
        )
    derivation.progress_total = params["steps"]
    return derivation


def _training_set_check(versions) -> list[Version]:
    versions = list(versions or [])
    if not versions:
        raise ApplicationError("choose the images to train on: none were given", extra={"code": "no_images"})
    if len(versions) > MAX_TRAINING_IMAGES:
        raise ApplicationError(f"at most {MAX_TRAINING_IMAGES} training images; got {len(versions)}")
    if not all(isinstance(version, Version) for version in versions):
        raise ApplicationError("training images are versions")
    if len({version.pk for version in versions}) != len(versions):
        raise ApplicationError("a version is chosen twice", extra={"code": "duplicate"})
    clients = {version.brief.campaign.client_id for version in versions}
    if len(clients) > 1:
        raise ApplicationError(
            "the images belong to more than one client: a LoRA learns from one client's work",
            extra={"code": "other_client"},
        )
    unkept = [
        version.pk
        for version in versions
        if version.status not in TRAINABLE_STATUSES and version.triage != Version.Triage.KEEP
    ]
    if unkept:
        raise ApplicationError(
            f"train on approved or kept versions; not yet: {', '.join(f'v{pk}' for pk in unkept)}",
            extra={"code": "not_approved", "versions": unkept},
        )
    return versions


def _brief_of(versions: list[Version], brief: Brief | None) -> Brief:
    if brief is None:
        briefs = {version.brief_id for version in versions}
        if len(briefs) > 1:
            raise ApplicationError(
                "the images come from more than one brief: name the brief the training belongs to",
                extra={"param": "brief"},
            )
        return versions[0].brief
    if brief.campaign.client_id != versions[0].brief.campaign.client_id:
        raise ApplicationError(
            f"brief {brief.pk} belongs to another client than the images", extra={"code": "other_client"}
        )
    return brief


def _base_check(base, params) -> None:
    if not isinstance(base, ModelWeights) or base.kind != ModelWeights.Kind.BASE:
        raise ApplicationError("train on a registered base model", extra={"param": "base_model"})
    flux = base.architecture == ModelWeights.Architecture.FLUX1
    if flux and isinstance(params, dict) and params.get("train_text_encoder"):
        raise ApplicationError(
            "FLUX.1 trains its transformer only (its T5 encoder is too large to adapt here): turn text-encoder "
            "training off",
            extra={"param": "train_text_encoder"},
        )
    if base.architecture not in TRAINABLE:
        names = ", ".join(ModelWeights.Architecture(value).label for value in TRAINABLE)
        raise ApplicationError(
            f"{base.name} is {base.get_architecture_display()}: Seed trains LoRAs on {names} bases",
            extra={"param": "base_model", "architecture": base.architecture},
        )


def caption_default(*, version: Version) -> str:
    """The prompt that made the version, or made the nearest image above it (an upscale keeps its source's
    prompt); an imported image without one is captioned by its label."""
    from assets.selectors import version_ancestry

    made_by = (
        Used.objects.filter(role=Used.Role.PROMPT, derivation__generated__version=version)
        .select_related("prompt")
        .first()
    )
    if made_by is None:
        made_by = (
            Used.objects.filter(
                role=Used.Role.PROMPT, derivation__generated__version__in=version_ancestry(version=version)
            )
            .select_related("prompt")
            .order_by("-derivation__generated__version_id")
            .first()
        )
    return made_by.prompt.text if made_by is not None else version.label


def lora_training_cancel(*, derivation: Derivation, cancelled_by=None) -> bool:
    """A queued training never starts; a running one stops at its next progress report and records nothing."""
    if derivation.op != "train_lora":
        raise ApplicationError(f"derivation {derivation.pk} is not a LoRA training")
    with transaction.atomic():
        cancelled = derivations_cancel(pks=[derivation.pk], cancelled_by=cancelled_by)
        if cancelled:
            audit_event_append(
                kind="training.cancelled",
                actor=cancelled_by,
                object_type="derivation",
                object_id=derivation.pk,
                payload={"name": derivation.params.get("name", "")},
            )
    return bool(cancelled)
