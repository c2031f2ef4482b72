"""The worker process's own start: what runs before a django-q2 worker takes its first task."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from assets.services.blobs import scratch_sweep
from assets.services.queues import Queue
from assets.services.workers import worker_heartbeat_start, worker_register

logger = logging.getLogger(__name__)


def worker_start(**kwargs) -> None:
    """Runs once in each new worker process, before it takes its first task (django-q2's post_spawn).

    The task timeout counts from the moment a task starts. Importing torch, diffusers, transformers,
    peft and spandrel takes several seconds on a fast machine and far longer on a loaded one: inside
    the first task it ran into the timeout, whose alarm then struck mid-load (a "damaged" checkpoint)
    or before the claim (a task retried by one cold worker after another). The stack loads here instead.
    """
    from django_q.conf import Conf

    started = time.monotonic()
    import c2pa  # noqa: F401

    if settings.SEED_SPLIT_CLUSTERS and Conf.CLUSTER_NAME not in {Queue.GPU, Queue.CPU}:
        logger.warning(
            "SEED_SPLIT_CLUSTERS is on but this worker joined the cluster %r, which is sent no work: "
            "start it with Q_CLUSTER_NAME=gpu or Q_CLUSTER_NAME=cpu",
            Conf.CLUSTER_NAME,
        )
    if not worker_loads_models():
        _scratch_sweep()
        _report_for_duty(cluster=Conf.CLUSTER_NAME, ready_seconds=time.monotonic() - started)
        logger.info("worker ready (cpu cluster) in %.1f s", time.monotonic() - started)
        return
    import diffusers
    import peft  # noqa: F401
    import spandrel  # noqa: F401
    import torch  # noqa: F401
    import transformers

    from generation.loader import process_cache

    # diffusers and transformers load their pipeline and model modules on first use: use them now.
    for module, name in (
        (diffusers, "StableDiffusionPipeline"),
        (diffusers, "StableDiffusionXLPipeline"),
        (diffusers, "AutoPipelineForImage2Image"),
        (diffusers, "AutoPipelineForInpainting"),
        (diffusers, "StableDiffusionControlNetPipeline"),
        (transformers, "CLIPTextModel"),
    ):
        getattr(module, name)
    process_cache()
    _scratch_sweep()
    _report_for_duty(cluster=Conf.CLUSTER_NAME, ready_seconds=time.monotonic() - started)
    logger.info("worker ready: ML stack loaded in %.1f s", time.monotonic() - started)


def worker_loads_models() -> bool:
    """Whether this worker process runs models. Not on the cpu cluster: delivery, notifications and model-free
    finishing go there, and the reproducibility watch is the GPUs' work."""
    from django_q.conf import Conf

    return not (settings.SEED_SPLIT_CLUSTERS and Conf.CLUSTER_NAME == Queue.CPU)


def _report_for_duty(*, cluster: str, ready_seconds: float) -> None:
    from django_q.conf import Conf

    if Conf.SYNC:
        return  # tasks run inside the caller's own process (tests): there is no worker to list
    worker = worker_register(cluster=cluster, ready_seconds=ready_seconds)
    worker_heartbeat_start(worker=worker, interval=settings.SEED_WORKER_HEARTBEAT_S)


def _scratch_sweep() -> None:
    removed = scratch_sweep(older_than_seconds=settings.Q_CLUSTER["timeout"])
    if removed:
        logger.warning("removed %s scratch file(s) left by a worker that stopped mid-job", removed)
