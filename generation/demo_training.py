"""The demo's training stage: once the client has approved, a LoRA learns the brief's approved versions on the
worker, and one batch is generated with it; its lineage reaches back to the images it learned from."""

from __future__ import annotations

from assets.models import Derivation, ModelWeights, Version
from assets.rights import version_rights
from generation.demo import DEMO_PARAMS, _earlier, _ran, _tiny, jobs_wait
from generation.models import GenerationJob
from generation.requests import GenerationRequest, LoraSpec
from generation.services.jobs import generation_job_create
from generation.services.training import lora_training_create

DEMO_LORA = "Citrus Wave house style"
TRAINING_PARAMS = {
    "name": DEMO_LORA,
    "rank": 4,
    "steps": 40,
    "learning_rate": 5e-3,
    "resolution": 64,
    "seed": 4242,
    "sample_every": 20,
    "sample_steps": 8,
}
STYLED_PROMPT = "a can of Citrus Wave on a sunlit beach towel, golden-hour"


def training_stage(*, context: dict) -> dict:
    """Train (once) on the brief's approved and kept versions, then generate a batch of six with the LoRA."""
    brief, user = context["brief"], context["user"]
    training = _earlier(brief, "train_lora")
    if training is None:
        approved = list(
            brief.versions.filter(status__in=[Version.Status.APPROVED, Version.Status.DELIVERED]).order_by("pk")
        ) or list(brief.versions.filter(triage=Version.Triage.KEEP).order_by("pk"))
        training = _ran(
            lora_training_create(versions=approved, base=_tiny("base"), params=TRAINING_PARAMS, created_by=user)
        )
    lora = ModelWeights.objects.get(trained_by=training)
    job = GenerationJob.objects.filter(brief=brief, batches__derivation__used__model_weights=lora).first()
    if job is None:
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=_tiny("base"),
                prompt_text=STYLED_PROMPT,
                loras=(LoraSpec(weights=lora, weight=0.8),),
                params={**DEMO_PARAMS, "seed": 777, "batch_size": 6},
            ),
            created_by=user,
        )
    jobs_wait(jobs=[job])
    batch = [edge.version_id for edge in job.batches.get().derivation.generated.order_by("index")]
    return {
        "lora": {"id": lora.pk, "name": lora.name, "sha256": lora.sha256},
        "learned_from": list(training.used.filter(role="training_image").values_list("version_id", flat=True)),
        "captions": training.params["captions"],
        "loss": _loss_path(training),
        "samples": list(training.generated.order_by("index").values_list("version_id", flat=True)),
        "batch_with_lora": batch,
        "licences_through_training": sorted(
            {item.licence.name for item in version_rights(version=Version(pk=batch[0]))}
        ),
        "reproduce": f"manage.py reproduce --lora {lora.pk}",
    }


def _loss_path(training: Derivation) -> str:
    log = training.progress_log
    if not log:
        return "not reported"
    return f"{log[0]['loss']:.4f} at step {log[0]['step']} → {log[-1]['loss']:.4f} at step {log[-1]['step']}"
