"""Recording a generation or finishing run's images as the derivation's outputs, once."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from assets.models import Derivation, Generated, Version
from assets.services.blobs import StagedFile
from assets.services.runs import RunScope, run_complete


@dataclass(frozen=True)
class Output:
    index: int
    seed: int
    png: StagedFile
    width: int
    height: int


def run_finish(*, derivation: Derivation, outputs: list[Output], environment: dict, gpu_seconds: float,
               scope: RunScope) -> list[Version]:
    """Store the images and record them as the derivation's outputs, in one transaction that ends by marking
    the run succeeded only if this worker still owns it (RunSuperseded otherwise; the scope drops new files)."""
    with transaction.atomic():
        versions = []
        for output in outputs:
            blob = scope.blob_store(staged=output.png, media_type="image/png")
            version = Version.objects.create(brief_id=derivation.brief_id, blob=blob, width=output.width,
                                             height=output.height, format="PNG", seed=output.seed)
            Generated.objects.create(derivation=derivation, version=version, index=output.index)
            versions.append(version)
        run_complete(row=derivation, environment=environment, gpu_seconds=gpu_seconds, progress_step=F("progress_total"))
    return versions
