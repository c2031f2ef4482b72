"""Worker claims on queued rows (derivations, deliveries) under an at-least-once broker.

A task may arrive twice, or again after its worker died. One conditional UPDATE decides who runs a
row. While another worker's claim is younger than the task timeout, the copy in hand must neither
run nor be acknowledged: it raises, stays on the broker and is offered again after `retry`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class ClaimHeld(RuntimeError):
    """Another worker holds a fresh claim on the row; the broker must offer this task again later."""


def claim_take(*, model: type[models.Model], pk: int, fields: dict | None = None) -> uuid.UUID | None:
    """Own a queued row, or a running one whose worker stopped (claimed longer ago than the task timeout).

    Returns the claim token, or None when there is nothing left to do (the row finished or was cancelled).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.Q_CLUSTER["timeout"])
    running = model.State.RUNNING
    token = uuid.uuid4()
    claimable = Q(state=model.State.QUEUED) | Q(state=running, started_at__lt=stale)
    updated = model.objects.filter(claimable, pk=pk).update(
        state=running, claim_token=token, started_at=now, attempts=F("attempts") + 1, **(fields or {}))
    if updated:
        return token
    held = model.objects.filter(pk=pk, state=running).values_list("started_at", flat=True).first()
    if held is not None:
        raise ClaimHeld(f"{model._meta.verbose_name} {pk} is running on another worker since {held:%H:%M:%S}; "
                        "the broker offers this task again after its retry delay")
    return None
