"""The worker's writes: claim a queued derivation, report progress, record outputs once, or fail cleanly."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from assets.models import Derivation, Generated, Version
from assets.services.blobs import StagedFile, blob_discard, blob_store
from assets.services.claims import claim_take


@dataclass(frozen=True)
class Output:
    index: int
    seed: int
    png: StagedFile
    width: int
    height: int


class RunSuperseded(Exception):
    """The run was cancelled, or another worker took it over: this worker must record nothing."""


def run_claim(*, derivation_id: int) -> Derivation | None:
    """Take a queued run, or one whose worker died (running for longer than the task timeout).

    Returns None when there is nothing to do (done or cancelled); raises ClaimHeld while another
    worker's claim is fresh, so the broker keeps the task.
    """
    if claim_take(model=Derivation, pk=derivation_id, fields={"error": "", "progress_step": 0}) is None:
        return None
    derivation = Derivation.objects.get(pk=derivation_id)
    if derivation.attempts > settings.Q_CLUSTER["max_attempts"]:
        run_fail(derivation=derivation, message=f"gave up after {derivation.attempts - 1} attempts whose worker stopped")
        return None
    return derivation


def run_progress(*, derivation: Derivation, step: int) -> bool:
    """Record progress; False when the run was cancelled or taken over, so the worker stops."""
    return bool(
        Derivation.objects.filter(pk=derivation.pk, state=Derivation.State.RUNNING, claim_token=derivation.claim_token)
        .update(progress_step=step)
    )


def run_finish(*, derivation: Derivation, outputs: list[Output], environment: dict, gpu_seconds: float) -> list[Version]:
    """Store the images and record them as the derivation's outputs, once.

    Blobs are written first (content-addressed); the rows go in one transaction that ends by marking
    the run succeeded only if this worker still owns it. If not, nothing is recorded and new files are removed.
    """
    created_files = []
    try:
        with transaction.atomic():
            versions = []
            for output in outputs:
                blob, created = blob_store(staged=output.png, media_type="image/png")
                if created:
                    created_files.append(blob.sha256)
                version = Version.objects.create(brief_id=derivation.brief_id, blob=blob, width=output.width,
                                                 height=output.height, format="PNG", seed=output.seed)
                Generated.objects.create(derivation=derivation, version=version, index=output.index)
                versions.append(version)
            finished = timezone.now()
            # The conditional UPDATE is the ownership check: it waits for a concurrent takeover or cancel
            # and then matches nothing, and the rows above roll back with it.
            owned = Derivation.objects.filter(
                pk=derivation.pk, state=Derivation.State.RUNNING, claim_token=derivation.claim_token,
            ).update(state=Derivation.State.SUCCEEDED, environment=environment, finished_at=finished,
                     wall_seconds=(finished - derivation.started_at).total_seconds(), gpu_seconds=gpu_seconds,
                     progress_step=F("progress_total"))
            if not owned:
                state = Derivation.objects.filter(pk=derivation.pk).values_list("state", flat=True).first()
                raise RunSuperseded(f"derivation {derivation.pk} is {state}; outputs discarded")
    except BaseException:
        for sha256 in created_files:
            blob_discard(sha256=sha256)
        raise
    return versions


def run_note_add(*, derivation: Derivation, event: str, detail: str) -> None:
    """Append what the worker had to do to the run's notes, while this worker still owns it."""
    note = {"at": timezone.now().isoformat(), "event": event, "detail": detail[:1000]}
    Derivation.objects.filter(pk=derivation.pk, state=Derivation.State.RUNNING, claim_token=derivation.claim_token).update(
        run_notes=RawSQL("run_notes || %s::jsonb", (json.dumps([note]),)))


def run_fail(*, derivation: Derivation, message: str, state: str = Derivation.State.FAILED) -> None:
    finished = timezone.now()
    Derivation.objects.filter(pk=derivation.pk, claim_token=derivation.claim_token, state=Derivation.State.RUNNING).update(
        state=state, error=message[:2000], finished_at=finished,
        wall_seconds=(finished - derivation.started_at).total_seconds() if derivation.started_at else None,
    )
