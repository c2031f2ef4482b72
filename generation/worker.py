"""The worker process's own start: what runs before a django-q2 worker takes its first task."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from assets.services.blobs import scratch_sweep

logger = logging.getLogger(__name__)


def worker_start(**kwargs) -> None:
    """Runs once in each new worker process, before it takes its first task (django-q2's post_spawn).

    The task timeout counts from the moment a task starts. Importing torch, diffusers, transformers,
    peft and spandrel takes several seconds on a fast machine and far longer on a loaded one: inside
    the first task it ran into the timeout, whose alarm then struck mid-load (a "damaged" checkpoint)
    or before the claim (a task retried by one cold worker after another). The stack loads here instead.
    """
    started = time.monotonic()
    import c2pa  # noqa: F401
    import diffusers
    import peft  # noqa: F401
    import spandrel  # noqa: F401
    import torch  # noqa: F401
    import transformers

    from generation.loader import process_cache
    from generation.services.watch import watch_on_new_environment

    # diffusers and transformers load their pipeline and model modules on first use: use them now.
    for name in ("StableDiffusionPipeline", "StableDiffusionXLPipeline", "AutoPipelineForImage2Image",
                 "AutoPipelineForInpainting", "StableDiffusionControlNetPipeline"):
        getattr(diffusers, name)
    getattr(transformers, "CLIPTextModel")
    process_cache()
    if watch_on_new_environment():
        logger.warning("this worker's environment is new to the reproducibility watch: approved masters are re-checked now")
    removed = scratch_sweep(older_than_seconds=settings.Q_CLUSTER["timeout"])
    if removed:
        logger.warning("removed %s scratch file(s) left by a worker that stopped mid-job", removed)
    logger.info("worker ready: ML stack loaded in %.1f s", time.monotonic() - started)
