"""What has been withdrawn from under a LoRA trained here (a training image since rejected, a licence its training
carried in that has run out), and which LoRAs a version went into the training of."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from assets.access import visible
from assets.models import AuditEvent, ModelWeights, Used, Version
from assets.rights import lora_training_rights, source_label
from assets.selectors import _descendants_sql


def lora_training_images(*, weights: ModelWeights, user=None) -> QuerySet[Version]:
    """The versions a LoRA trained here learned from, in training order; with `user`, those they may see. None for
    a LoRA registered from outside."""
    if weights.trained_by_id is None:
        return Version.objects.none()
    images = Version.objects.filter(
        used_by__derivation_id=weights.trained_by_id, used_by__role=Used.Role.TRAINING_IMAGE
    ).order_by("used_by__position")
    return images if user is None else visible(images, user=user)


def lora_training_flags(*, weights: ModelWeights, user=None, on: date | None = None) -> list[dict]:
    """Each withdrawal under the LoRA, {kind, version, licence, why}:

    - "rejected": a training image now rejected, in review or at triage (a LoRA learns from approved or kept
      images, so this is mostly one withdrawn since);
    - "licence_expired": a licence its training carried in (its images' and their ancestry's, its base model's) has
      run out by `on` (today).

    With `user`, rejected images they may not see are left out.
    """
    if weights.trained_by_id is None:
        return []
    on = on or timezone.localdate()
    withdrawn = lora_training_images(weights=weights, user=user).filter(
        Q(status=Version.Status.REJECTED) | Q(triage=Version.Triage.REJECT)
    )
    rejected = list(withdrawn)
    closed = _rejecting_rounds(
        versions=[version.pk for version in rejected if version.status == Version.Status.REJECTED]
    )
    flags = [
        {"kind": "rejected", "version": version.pk, "licence": None, "why": _rejection(version, closed.get(version.pk))}
        for version in rejected
    ]
    for inherited in lora_training_rights(weights=weights):
        licence = inherited.licence
        if licence.expires_on is not None and licence.expires_on < on:
            via = ", ".join(source_label(source) for source in inherited.sources)
            why = f"{licence.name} expired on {licence.expires_on:%Y-%m-%d} (carried in through {via})"
            flags.append({"kind": "licence_expired", "version": None, "licence": licence.pk, "why": why})
    return flags


def _rejecting_rounds(*, versions: list[int]) -> dict[int, AuditEvent]:
    """The latest closing of a review round that rejected each version, from the audit trail (one query): the core
    names no model of review, whose rounds record the verdicts."""
    if not versions:
        return {}
    rejecting = Q()
    for pk in versions:
        rejecting |= Q(payload__results__contains={str(pk): "reject"})
    found: dict[int, AuditEvent] = {}
    for event in AuditEvent.objects.filter(rejecting, kind="round.closed").order_by("created_at", "id"):
        for pk in versions:
            if event.payload["results"].get(str(pk)) == "reject":
                found[pk] = event
    return found


def _rejection(version: Version, closed: AuditEvent | None) -> str:
    if version.status != Version.Status.REJECTED:
        return f"v{version.pk} is triaged reject"
    if closed is None:
        return f"v{version.pk} is rejected"
    return f"v{version.pk} was rejected in review round {closed.object_id} on {closed.created_at:%Y-%m-%d}"


def loras_trained_on(*, version: Version) -> QuerySet[ModelWeights]:
    """The LoRAs trained here on `version` or on anything made from it (through other LoRAs too)."""
    made_from = RawSQL(_descendants_sql("SELECT %s::bigint"), (version.pk,))
    return ModelWeights.objects.filter(
        trained_by__used__version__in=made_from, trained_by__used__role=Used.Role.TRAINING_IMAGE
    ).distinct()
