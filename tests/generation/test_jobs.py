import io
import re

import pytest
from django.core.files.base import ContentFile
from PIL import Image

from assets.errors import ApplicationError
from assets.models import Blob, Derivation, Generated, Used, Version
from assets.services.briefs import reference_create
from assets.services.prompts import prompt_template_create
from generation.models import GenerationJob
from generation.requests import GenerationRequest, LoraSpec
from generation.services.jobs import generation_job_cancel, generation_job_create, generation_job_regenerate
from generation.tasks import run_derivation
from tests.assets.conftest import files_under
from tests.factories import image_bytes, image_file, make_brief
from tests.generation.conftest import FAST

pytestmark = pytest.mark.django_db


def _outputs(job):
    return [
        [edge.version for edge in batch.derivation.generated.order_by("index")]
        for batch in job.batches.order_by("index")
    ]


def _png(version) -> Image.Image:
    from assets.services.blobs import blob_open

    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        image.load()
        return image


def test_template_grid_makes_one_batch_per_combination_with_consecutive_seeds(tiny, run_jobs):
    brief = make_brief()
    template = prompt_template_create(brief=brief, name="hero", text="{subject}, {camera action}")
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                template=template,
                values_grid={"subject": ["a can", "a bottle"], "camera action": ["pan"]},
                loras=[LoraSpec(weights=tiny["lora_a"])],
                params={**FAST, "seed": 1000, "batch_size": 3},
            ),
        )
    batches = _outputs(job)
    assert [[v.seed for v in batch] for batch in batches] == [[1000, 1001, 1002]] * 2
    derivation = job.batches.first().derivation
    assert derivation.state == "succeeded" and derivation.progress_step == derivation.progress_total == 12
    assert derivation.params["sampler"] == "dpmpp_2m_karras" and derivation.params["seed"] == 1000
    roles = {(edge.role, edge.weight) for edge in derivation.used.all()}
    assert {("prompt", None), ("base_model", None), ("lora", 0.8)} <= roles
    env = derivation.environment
    assert env["threads"] >= 1 and env["packages"]["torch"] == "2.14.1" and env["dtype"] == "float32"
    assert {"cpu_capability", "device", "attention", "deterministic_algorithms"} <= set(env)
    first = batches[0][0]
    assert (
        _png(first)
        .text["parameters"]
        .startswith(f"a can, pan <lora:{tiny['lora_a'].name}:0.8>\nNegative prompt: text, watermark")
    )
    assert (
        "Seed: 1000" in _png(first).text["parameters"]
        and "Sampler: DPM++ 2M, Schedule type: Karras" in _png(first).text["parameters"]
    )
    assert len({v.blob_id for batch in batches for v in batch}) == 6


def test_a_lora_weight_changes_the_pixels_and_adapters_do_not_leak(tiny, run_jobs):
    brief = make_brief()

    def one(loras):
        with run_jobs():
            job = generation_job_create(
                request=GenerationRequest(
                    brief=brief,
                    op="txt2img",
                    base_model=tiny["base"],
                    prompt_text="a red can",
                    loras=loras,
                    params={**FAST, "seed": 5, "batch_size": 1},
                ),
            )
        return _outputs(job)[0][0].blob_id

    plain = one([])
    strong = one([LoraSpec(weights=tiny["lora_a"], weight=0.8)])
    weak = one([LoraSpec(weights=tiny["lora_a"], weight=0.3)])
    stacked = one([LoraSpec(weights=tiny["lora_a"], weight=0.8), LoraSpec(weights=tiny["lora_b"], weight=0.5)])
    assert len({plain, strong, weak, stacked}) == 4
    assert one([]) == plain  # the cached pipeline carries no adapter from the jobs before


def test_edits_record_their_inputs(tiny, run_jobs):
    brief = make_brief()
    reference = reference_create(brief=brief, source=image_file(size=(64, 64), colour=(200, 40, 90)))
    with run_jobs():
        base = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                params={**FAST, "seed": 1, "batch_size": 1},
            ),
        )
    source = _outputs(base)[0][0]
    mask_img = Image.new("L", (64, 64), 0)
    mask_img.paste(255, (16, 16, 48, 40))
    buffer = io.BytesIO()
    mask_img.save(buffer, format="PNG")
    with run_jobs():
        jobs = [
            generation_job_create(
                request=GenerationRequest(
                    brief=brief,
                    op="img2img",
                    base_model=tiny["base"],
                    init=reference,
                    prompt_text="a can",
                    params={**FAST, "seed": 2, "batch_size": 1, "strength": 0.5},
                ),
            ),
            generation_job_create(
                request=GenerationRequest(
                    brief=brief,
                    op="inpaint",
                    base_model=tiny["base"],
                    init=source,
                    prompt_text="a hand",
                    mask_source=ContentFile(buffer.getvalue(), name="hand.png"),
                    params={**FAST, "seed": 3, "batch_size": 1},
                ),
            ),
            generation_job_create(
                request=GenerationRequest(
                    brief=brief,
                    op="outpaint",
                    base_model=tiny["base"],
                    init=source,
                    prompt_text="wider",
                    params={k: v for k, v in FAST.items() if k not in ("width", "height")}
                    | {"seed": 4, "batch_size": 1, "target_aspect": "16:9"},
                ),
            ),
            generation_job_create(
                request=GenerationRequest(
                    brief=brief,
                    op="controlnet",
                    base_model=tiny["base"],
                    control=reference,
                    controlnet=tiny["controlnet"],
                    prompt_text="a can",
                    params={**FAST, "seed": 5, "batch_size": 1},
                ),
            ),
        ]
    img2img, inpaint, outpaint, controlnet = (_outputs(job)[0][0] for job in jobs)
    assert Used.objects.filter(
        derivation=img2img.generated_by.derivation, role="init_image", reference=reference
    ).exists()
    assert Used.objects.filter(derivation=inpaint.generated_by.derivation, role="mask", blob__isnull=False).exists()
    assert Used.objects.filter(derivation=inpaint.generated_by.derivation, role="init_image", version=source).exists()
    assert (outpaint.width, outpaint.height) == (120, 64)
    assert Used.objects.filter(
        derivation=controlnet.generated_by.derivation, role="controlnet", model_weights=tiny["controlnet"]
    ).exists()
    assert all(job.batches.get().derivation.state == "succeeded" for job in jobs)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"params": {**FAST, "sampler": "warp_drive"}}, "sampler"),
        ({"values_grid": {"subject": ["a can"]}}, "missing {camera action}"),
        ({"mask": (32, 32)}, "the mask is 32x32 but the image is 64x64"),
        ({"lora_is_base": True}, "is not a LoRA"),
        ({"params": {**FAST, "steps": 0}}, "steps"),
        ({"params": {**FAST, "width": 60}}, "multiples of 8"),
    ],
)
def test_bad_requests_are_clear_errors_with_nothing_written(tiny, run_jobs, media_root, change, message):
    brief = make_brief()
    template = prompt_template_create(brief=brief, name="hero", text="{subject}, {camera action}")
    init = reference_create(brief=brief, source=image_file(size=(64, 64)))
    before = (files_under(media_root), Blob.objects.count(), Derivation.objects.count(), GenerationJob.objects.count())
    mask = None
    if "mask" in change:
        buffer = io.BytesIO()
        Image.new("L", change["mask"], 255).save(buffer, format="PNG")
        mask = ContentFile(buffer.getvalue(), name="mask.png")
    with (
        run_jobs() as callbacks,
        pytest.raises(ApplicationError, match=message.replace("{", r"\{").replace("}", r"\}")),
    ):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="inpaint" if mask else "txt2img",
                base_model=tiny["base"],
                template=template,
                values_grid=change.get("values_grid", {"subject": ["a can"], "camera action": ["pan"]}),
                loras=[LoraSpec(weights=tiny["base"])] if change.get("lora_is_base") else [],
                params=change.get("params", {**FAST, "batch_size": 1}),
                init=init if mask else None,
                mask_source=mask,
            ),
        )
    assert callbacks == []
    assert (
        files_under(media_root),
        Blob.objects.count(),
        Derivation.objects.count(),
        GenerationJob.objects.count(),
    ) == before


def test_a_redelivered_task_never_makes_a_second_set_of_versions(tiny, run_jobs):
    from datetime import timedelta

    from django.utils import timezone

    brief = make_brief()
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                params={**FAST, "seed": 9, "batch_size": 2},
            ),
        )
    derivation = job.batches.get().derivation
    assert run_derivation(derivation.pk) == "skipped"  # the broker delivered it again
    assert Generated.objects.filter(derivation=derivation).count() == 2

    # Queued but not run: outside a capture block the test transaction never commits.
    crashed = generation_job_create(
        request=GenerationRequest(
            brief=brief,
            op="txt2img",
            base_model=tiny["base"],
            prompt_text="a can",
            params={**FAST, "seed": 9, "batch_size": 2},
        ),
    )
    victim = crashed.batches.get().derivation
    # A worker claimed it and was killed with -9: the row is left running past the task timeout.
    Derivation.objects.filter(pk=victim.pk).update(
        state="running", started_at=timezone.now() - timedelta(hours=2), attempts=1
    )
    assert run_derivation(victim.pk) == "succeeded"
    assert run_derivation(victim.pk) == "skipped"
    assert Generated.objects.filter(derivation=victim).count() == 2
    assert Derivation.objects.get(pk=victim.pk).attempts == 2


def test_a_second_copy_of_a_task_running_elsewhere_stays_on_the_broker(tiny):
    from django.utils import timezone

    from assets.services.runs import ClaimHeld

    job = generation_job_create(
        request=GenerationRequest(
            brief=make_brief(),
            op="txt2img",
            base_model=tiny["base"],
            prompt_text="a can",
            params={**FAST, "seed": 9, "batch_size": 1},
        ),
    )
    derivation = job.batches.get().derivation
    # Another worker claimed it a moment ago (or lost the database before it could record the outcome).
    Derivation.objects.filter(pk=derivation.pk).update(state="running", started_at=timezone.now(), attempts=1)
    with pytest.raises(ClaimHeld, match="running on another worker"):
        run_derivation(derivation.pk)
    assert Derivation.objects.get(pk=derivation.pk).attempts == 1 and not Version.objects.exists()


def test_a_superseded_worker_records_nothing(tiny, media_root):
    import uuid

    from assets.services.blobs import BlobsStored
    from assets.services.derivations import OutputImage, derivation_outputs_record
    from assets.services.runs import RunSuperseded, run_claim

    job = generation_job_create(
        request=GenerationRequest(
            brief=make_brief(),
            op="txt2img",
            base_model=tiny["base"],
            prompt_text="a can",
            params={**FAST, "seed": 9, "batch_size": 2},
        ),
    )
    derivation = run_claim(model=Derivation, pk=job.batches.get().derivation_id)
    outputs = [
        OutputImage(index=index, seed=9 + index, data=image_bytes(colour=colour), width=32, height=32)
        for index, colour in enumerate(((255, 0, 0), (0, 0, 255)))
    ]
    Derivation.objects.filter(pk=derivation.pk).update(claim_token=uuid.uuid4())  # another worker took it over
    blobs = BlobsStored()
    with pytest.raises(RunSuperseded, match="outputs discarded"):
        derivation_outputs_record(derivation=derivation, outputs=outputs, blobs=blobs, environment={})
    made = [output.sha256 for output in outputs]
    assert not Version.objects.exists() and not Generated.objects.exists() and not Blob.objects.filter(sha256__in=made)
    assert Derivation.objects.get(pk=derivation.pk).state == Derivation.State.RUNNING
    assert sorted(blobs.created) == sorted(made)
    blobs.discard()
    assert not [name for name in files_under(media_root) if any(sha256 in name for sha256 in made)]


def test_outputs_are_recorded_in_one_statement_that_ends_the_run(tiny, media_root):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from assets.services.blobs import BlobsStored
    from assets.services.derivations import OutputImage, derivation_outputs_record
    from assets.services.runs import run_claim

    job = generation_job_create(
        request=GenerationRequest(
            brief=make_brief(),
            op="txt2img",
            base_model=tiny["base"],
            prompt_text="a can",
            params={**FAST, "seed": 9, "batch_size": 3},
        ),
    )
    derivation = run_claim(model=Derivation, pk=job.batches.get().derivation_id)
    same = image_bytes(colour=(255, 0, 0))
    outputs = [
        OutputImage(index=index, seed=None if index == 2 else 9 + index, data=data, width=32, height=32)
        for index, data in enumerate((same, image_bytes(colour=(0, 0, 255)), same))
    ]
    with CaptureQueriesContext(connection) as queries:
        versions = derivation_outputs_record(
            derivation=derivation, outputs=outputs, blobs=BlobsStored(), environment={"torch": "x"}, gpu_seconds=1.5
        )
    assert len(queries) == 1
    recorded = Derivation.objects.get(pk=derivation.pk)
    assert (recorded.state, recorded.environment, recorded.gpu_seconds) == (
        Derivation.State.SUCCEEDED,
        {"torch": "x"},
        1.5,
    )
    assert recorded.finished_at is not None and recorded.wall_seconds is not None
    edges = list(recorded.generated.order_by("index").select_related("version"))
    assert [edge.version_id for edge in edges] == [version.pk for version in versions]
    assert [(edge.index, edge.version.seed, edge.version.blob_id) for edge in edges] == [
        (0, 9, outputs[0].sha256),
        (1, 10, outputs[1].sha256),
        (2, None, outputs[0].sha256),
    ]
    assert Blob.objects.filter(sha256__in=[output.sha256 for output in outputs]).count() == 2
    assert {edge.version.status for edge in edges} == {Version.Status.DRAFT}


def test_cancelled_jobs_do_not_run_and_record_who_cancelled(tiny):
    from django.contrib.auth import get_user_model

    from assets.models import AuditEvent

    producer = get_user_model().objects.create_user("paula")
    job = generation_job_create(
        request=GenerationRequest(
            brief=make_brief(),
            op="txt2img",
            base_model=tiny["base"],
            prompt_text="a can",
            params={**FAST, "seed": 9, "batch_size": 1},
        ),
    )
    assert generation_job_cancel(job=job, cancelled_by=producer) == 1
    assert generation_job_cancel(job=job, cancelled_by=producer) == 0
    assert run_derivation(job.batches.get().derivation_id) == "skipped"
    derivation = job.batches.get().derivation
    assert derivation.state == "cancelled" and not Version.objects.exists()
    assert (derivation.cancelled_by, derivation.error) == (producer, "cancelled by paula") and derivation.cancelled_at
    event = AuditEvent.objects.get(kind="generation.cancelled")
    assert (event.actor, event.object_id, event.payload) == (producer, job.pk, {"derivations": [derivation.pk]})


def test_the_pipeline_cache_keeps_its_budget_least_recently_used_first(tiny, settings):
    from generation.loader import PipelineCache, model_bytes

    cache = PipelineCache(max_models=2, max_bytes=0)
    sd = cache.base(weights=tiny["base"])
    cache.vae(weights=tiny["vae"])
    assert cache.base(weights=tiny["base"]) is sd  # used again: now the most recent
    cache.base(weights=tiny["base_xl"])
    assert list(cache.entries) == [("base", tiny["base"].sha256), ("base", tiny["base_xl"].sha256)]
    assert (cache.loads, cache.evictions) == (3, 1)
    by_size = PipelineCache(max_models=10, max_bytes=model_bytes(sd))
    by_size.base(weights=tiny["base"])
    by_size.base(weights=tiny["base_xl"])
    assert len(by_size.entries) == 1 and by_size.evictions == 1
    assert cache.clear() == 2 and not cache.entries


def test_out_of_memory_clears_the_cache_runs_once_more_and_records_it(tiny, run_jobs, monkeypatch):
    """The pipeline's own call runs out of GPU memory once
    (injected at the diffusers boundary, as CUDA would raise it)."""
    import diffusers
    import torch

    from generation.loader import process_cache

    real_call = diffusers.StableDiffusionPipeline.__call__
    failures = {"left": 1}

    def call(self, *args, **kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(diffusers.StableDiffusionPipeline, "__call__", call)
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=make_brief(),
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a lemon",
                params={**FAST, "seed": 3, "batch_size": 1},
            ),
        )
    derivation = job.batches.get().derivation
    derivation.refresh_from_db()
    assert derivation.state == "succeeded" and derivation.generated.count() == 1
    (note,) = derivation.run_notes
    assert note["event"] == "out_of_memory_retried" and re.search(r"cleared [1-9]\d* cached model", note["detail"])
    assert list(process_cache().entries) == [("base", tiny["base"].sha256)], "reloaded once for the second try"

    failures["left"] = 2
    with run_jobs():
        again = generation_job_create(
            request=GenerationRequest(
                brief=make_brief(client_name="B", title="B"),
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a lime",
                params={**FAST, "seed": 4, "batch_size": 1},
            ),
        )
    failed = again.batches.get().derivation
    failed.refresh_from_db()
    assert failed.state == "failed" and "out of GPU memory again after clearing the model cache" in failed.error
    assert not process_cache().entries, "a worker that ran out of memory twice keeps nothing loaded"


def test_regenerate_links_the_old_recipe_with_new_seeds_and_tweaks(tiny, run_jobs):
    brief = make_brief()
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                loras=[LoraSpec(weights=tiny["lora_a"], weight=0.8)],
                params={**FAST, "seed": 40, "batch_size": 2},
            ),
        )
    source = _outputs(job)[0][1]
    with run_jobs():
        again = generation_job_regenerate(
            version=source, params={"steps": 5}, lora_weights={tiny["lora_a"].sha256: 0.4}
        )
    assert again.regenerated_from == source
    derivation = again.batches.get().derivation
    assert derivation.params["seed"] == 42 and derivation.params["steps"] == 5
    assert derivation.used.get(role="lora").weight == 0.4
    assert derivation.used.get(role="prompt").prompt == source.generated_by.derivation.used.get(role="prompt").prompt
    assert [v.seed for v in _outputs(again)[0]] == [42, 43]
    with pytest.raises(ApplicationError, match="no LoRA with sha256"):
        generation_job_regenerate(version=source, lora_weights={"f" * 64: 1.0})


def test_a_missing_weights_file_fails_the_run_with_the_sha256(tiny, run_jobs, admin_user):
    from django.core.files.storage import storages

    from review.selectors import brief_cycle_stats

    brief = make_brief()
    storages["blobs"].delete(tiny["lora_b"].blob.storage_name)
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                loras=[LoraSpec(weights=tiny["lora_b"])],
                params={**FAST, "seed": 1, "batch_size": 2},
            ),
        )
    derivation = job.batches.get().derivation
    assert derivation.state == "failed" and tiny["lora_b"].sha256 in derivation.error
    assert not Version.objects.exists()
    with run_jobs():
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                params={**FAST, "seed": 1, "batch_size": 1},
            ),
        )
    stats = brief_cycle_stats(brief=brief, viewer=admin_user)
    assert stats["wall_seconds_by_phase"]["ideation"] > 0


def test_a_file_discarded_before_the_record_statement_is_written_again(tiny, media_root):
    """Another transaction's failed store may remove the file after this run wrote it and before its row commits."""
    from django.core.files.storage import storages
    from django.db import connection

    from assets.models import blob_storage_name
    from assets.services.blobs import BlobsStored, blob_discard
    from assets.services.derivations import OutputImage, derivation_outputs_record
    from assets.services.runs import run_claim

    job = generation_job_create(
        request=GenerationRequest(
            brief=make_brief(),
            op="txt2img",
            base_model=tiny["base"],
            prompt_text="a can",
            params={**FAST, "seed": 9, "batch_size": 1},
        ),
    )
    derivation = run_claim(model=Derivation, pk=job.batches.get().derivation_id)
    output = OutputImage(index=0, seed=9, data=image_bytes(colour=(0, 128, 0)), width=32, height=32)
    name = blob_storage_name(output.sha256)

    def discard_first(execute, sql, params, many, context):
        if "pg_advisory_xact_lock_shared" in sql:
            blob_discard(sha256=output.sha256)  # no row yet, so the file goes
            assert not storages["blobs"].exists(name)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(discard_first):
        derivation_outputs_record(derivation=derivation, outputs=[output], blobs=BlobsStored(), environment={})
    assert storages["blobs"].exists(name) and Blob.objects.filter(sha256=output.sha256).exists()


def test_the_recipe_the_worker_reads_by_hand_is_the_one_the_orm_reads(tiny):
    """recipe_of reads the used edges with hand-written SQL: every field, JSON included, must match the ORM's rows."""
    from django.forms.models import model_to_dict

    from assets.recipes import recipe_of

    job = generation_job_create(
        request=GenerationRequest(
            brief=make_brief(),
            op="txt2img",
            base_model=tiny["base"],
            prompt_text="a can {subject}",
            loras=[LoraSpec(weights=tiny["lora_a"], weight=0.6), LoraSpec(weights=tiny["lora_b"], weight=0.3)],
            params={**FAST, "seed": 9, "batch_size": 1},
        ),
    )
    derivation = job.batches.get().derivation
    recipe = recipe_of(derivation=derivation)
    by_orm = {edge.pk: edge for edge in derivation.used.select_related("prompt", "model_weights")}
    assert model_to_dict(recipe.prompt) == model_to_dict(
        by_orm[next(pk for pk, e in by_orm.items() if e.role == "prompt")].prompt
    )
    assert isinstance(recipe.base.files, dict) and model_to_dict(recipe.base) == model_to_dict(tiny["base"])
    assert [(model_to_dict(weights), weight) for weights, weight in recipe.loras] == [
        (model_to_dict(tiny["lora_a"]), 0.6),
        (model_to_dict(tiny["lora_b"]), 0.3),
    ]
