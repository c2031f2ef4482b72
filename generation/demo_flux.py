"""The demo's FLUX stage: the template studios publish, with its inline LoRA and --ar, on a FLUX-architecture model,
a Kontext instruction edit of its first image, and what the model's non-commercial licence means for delivering."""

from __future__ import annotations

from django.utils import timezone

from assets.models import Derivation, Licence, ModelWeights, Prompt, PromptTemplate
from assets.rights import rights_problems, version_rights
from assets.services.licences import licence_save, licences_attach
from assets.services.prompts import prompt_template_create
from generation.demo import jobs_wait
from generation.models import GenerationJob
from generation.requests import GenerationRequest
from generation.services.jobs import generation_job_create

FLUX_TEMPLATE_NAME = "FLUX portrait (published template)"
FLUX_TEMPLATE = (
    "<lora:FluxPortraitTrainer:1>, {subject}, {camera action}, rich {lighting adjective} light, brand colours weaving "
    "through scene, shallow depth, 35 mm DSLR, f/2.2 --ar 9:16"
)
# 9:16 to the 16 pixels FLUX's packed latents need, small enough for the tiny model on a CPU.
FLUX_DEMO_PARAMS = {"steps": 8, "width": 80, "height": 144, "seed": 2024, "batch_size": 2}
RECIPE_SHOWN = ("sampler", "distilled_cfg", "cfg", "width", "height", "prompt_syntax")
FLUX_DEV_LICENCE = "FLUX.1 [dev] Non-Commercial License"
KONTEXT_INSTRUCTION = "make the sky warmer"


def flux_stage(*, context: dict) -> dict:
    """A batch of two from the published template on the tiny FLUX.1 (registered under FLUX.1 [dev]'s licence, as
    the real weights come), then the rights check a commercial delivery of it meets."""
    brief, user = context["brief"], context["user"]
    base = ModelWeights.objects.get(name="Tiny FLUX.1 (random weights)", architecture=ModelWeights.Architecture.FLUX1)
    _non_commercial_licence(base=base, user=user)
    template = PromptTemplate.objects.filter(brief=brief, name=FLUX_TEMPLATE_NAME).first() or prompt_template_create(
        brief=brief, name=FLUX_TEMPLATE_NAME, text=FLUX_TEMPLATE, negative_text="", created_by=user
    )
    job = GenerationJob.objects.filter(brief=brief, template=template).order_by("pk").first()
    if job is None:
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=base,
                template=template,
                values_grid={
                    "subject": ["a runner holding a can of Citrus Wave"],
                    "camera action": ["low tracking shot"],
                    "lighting adjective": ["amber"],
                },
                params=FLUX_DEMO_PARAMS,
            ),
            created_by=user,
        )
    jobs_wait(jobs=[job])
    derivation = job.batches.get().derivation
    versions = [edge.version for edge in derivation.generated.order_by("index").select_related("version")]
    edit = _kontext_edit(version=versions[0], user=user)
    problems = rights_problems(rights=version_rights(version=versions[0]), brief=brief, on=timezone.localdate())
    return {
        "batch": [version.pk for version in versions],
        "recipe": {key: derivation.params[key] for key in RECIPE_SHOWN},
        "prompt": Prompt.objects.get(pk=derivation.used.get(role="prompt").prompt_id).text,
        "loras": list(derivation.used.filter(role="lora").values_list("model_weights__name", "weight")),
        "kontext_edit": {
            "version": edit.generated.get().version_id,
            "instruction": KONTEXT_INSTRUCTION,
            "of": versions[0].pk,
        },
        "delivery_rights": [problem["detail"] for problem in problems]
        or ["the brief is not commercial work: nothing blocks a delivery"],
    }


def _kontext_edit(*, version, user):
    """The instruction edit of `version` on the tiny FLUX.1 Kontext, made once."""
    earlier = Derivation.objects.filter(
        op="instruct_edit", used__version=version, state=Derivation.State.SUCCEEDED
    ).first()
    if earlier is not None:
        return earlier
    kontext = ModelWeights.objects.get(
        name="Tiny FLUX.1 Kontext (random weights)", architecture=ModelWeights.Architecture.FLUX1_KONTEXT
    )
    job = generation_job_create(
        request=GenerationRequest(
            brief=version.brief,
            op="instruct_edit",
            base_model=kontext,
            init=version,
            prompt_text=KONTEXT_INSTRUCTION,
            negative_prompt="",
            params={"steps": 8, "seed": 2025, "batch_size": 1},
        ),
        created_by=user,
    )
    jobs_wait(jobs=[job])
    return job.batches.get().derivation


def _non_commercial_licence(*, base: ModelWeights, user) -> None:
    licence = Licence.objects.filter(name=FLUX_DEV_LICENCE).first() or licence_save(
        actor=user,
        values={
            "name": FLUX_DEV_LICENCE,
            "commercial_use": False,
            "attribution": "FLUX.1 [dev] by Black Forest Labs",
            "notes": "Outputs of FLUX.1 [dev] need a commercial licence from Black Forest Labs for client work.",
        },
    )
    if not licence.model_weights.filter(pk=base.pk).exists():
        licences_attach(licences=[licence], model_weights=[base], actor=user)
