"""Reads for generation: job progress (a derivation's recipe is read in assets.recipes)."""

from __future__ import annotations

from assets.models import Derivation
from generation.models import GenerationJob


def job_summary(*, job: GenerationJob) -> dict:
    """The state of a job rolled up from its batches (uses prefetched batches when the caller has them)."""
    derivations = [batch.derivation for batch in job.batches.all()]
    states = {derivation.state for derivation in derivations}
    order = [Derivation.State.RUNNING, Derivation.State.QUEUED, Derivation.State.FAILED, Derivation.State.CANCELLED]
    return {
        "state": next((state for state in order if state in states), Derivation.State.SUCCEEDED),
        "progress_step": sum(d.progress_step for d in derivations),
        "progress_total": sum(d.progress_total for d in derivations),
        "wall_seconds": round(sum(d.wall_seconds or 0.0 for d in derivations), 3),
        "gpu_seconds": round(sum(d.gpu_seconds or 0.0 for d in derivations), 3),
    }
