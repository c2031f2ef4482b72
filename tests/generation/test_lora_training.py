"""Training a LoRA inside the lineage, with the tiny random-weight models: a handful of steps on tiny images."""

import io
import json

import pytest
from django.core.management import call_command
from safetensors import safe_open

from assets.errors import ApplicationError
from assets.models import Derivation, ModelWeights, Used, Version
from assets.services.versions import version_import
from generation.loader import weights_path
from generation.services.training import lora_training_create
from tests.factories import image_file, make_brief

pytestmark = pytest.mark.django_db
QUICK = {"name": "Aurora style", "rank": 4, "steps": 3, "learning_rate": 1e-3, "resolution": 64, "seed": 7}


def approved_images(brief, count=3, size=(80, 64)):
    versions = []
    for index in range(count):
        version = version_import(
            brief=brief,
            source=image_file(f"look{index}.png", size=size, colour=(40 * index, 200 - 30 * index, 90)),
            label=f"look {index}",
        )
        version.status = Version.Status.APPROVED
        version.save(update_fields=["status"])
        versions.append(version)
    return versions


def lora_of(derivation) -> ModelWeights:
    return ModelWeights.objects.get(trained_by=derivation)


def test_training_registers_a_lora_that_remembers_its_images(tiny, run_jobs):
    brief = make_brief()
    images = approved_images(brief)
    with run_jobs():
        derivation = lora_training_create(
            versions=images, base=tiny["base"], params={**QUICK, "sample_every": 3, "sample_steps": 2}
        )
    derivation.refresh_from_db()
    assert derivation.state == Derivation.State.SUCCEEDED, derivation.error
    assert derivation.progress_step == derivation.progress_total == 3
    assert derivation.progress_log and derivation.progress_log[-1]["step"] == 3
    assert derivation.params["captions"] == ["look 0", "look 1", "look 2"]
    assert derivation.params["alpha"] == 4.0 and derivation.params["optimizer"] == "adamw"
    lora = lora_of(derivation)
    assert lora.kind == "lora" and lora.architecture == "sd15" and lora.name == "Aurora style"
    with safe_open(str(weights_path(weights=lora)), framework="pt") as handle:
        header = handle.metadata()
        keys = list(handle.keys())
    assert any(key.startswith("lora_unet_") and key.endswith(".lora_down.weight") for key in keys)
    assert header["ss_network_dim"] == "4" and header["ss_new_sd_model_hash"] == tiny["base"].sha256
    assert json.loads(header["seed.training_set"]) == [
        {"sha256": v.blob_id, "version_id": v.pk, "caption": f"look {i}"} for i, v in enumerate(images)
    ]
    assert header["seed.derivation"] == str(derivation.pk)
    assert lora.training_story["training_set"][0]["sha256"] == images[0].blob_id
    samples = [edge.version for edge in derivation.generated.all()]
    assert len(samples) == 1 and samples[0].width == 64


def test_bad_input_is_refused_with_nothing_written(tiny, cast):
    brief = cast["brief_a"]
    images = approved_images(brief, count=2)
    draft = version_import(brief=brief, source=image_file("draft.png", colour=(1, 2, 3)))
    other = approved_images(cast["brief_b"], count=1)
    before = (Derivation.objects.count(), Used.objects.count())
    cases = [
        ([], QUICK, "none were given"),
        ([*images, *other], QUICK, "more than one client"),
        ([draft], QUICK, "approved or kept"),
        (images, {**QUICK, "rank": 0}, "rank"),
        (images, {**QUICK, "resolution": 100}, "multiple of 64"),
        (images, {**QUICK, "name": " "}, "name the LoRA"),
    ]
    for versions, params, message in cases:
        with pytest.raises(ApplicationError, match=message):
            lora_training_create(versions=versions, base=tiny["base"], params=params)
    with pytest.raises(ApplicationError, match="one caption per training image"):
        lora_training_create(versions=images, base=tiny["base"], params=QUICK, captions=["only one"])
    with pytest.raises(ApplicationError, match="trains LoRAs on"):
        lora_training_create(versions=images, base=tiny["sd35"], params=QUICK)
    with pytest.raises(ApplicationError, match="transformer only"):
        lora_training_create(versions=images, base=tiny["flux"], params={**QUICK, "train_text_encoder": True})
    assert (Derivation.objects.count(), Used.objects.count()) == before


def test_a_generation_loads_the_trained_lora_and_it_changes_the_pixels(tiny, run_jobs):
    from generation.requests import GenerationRequest, LoraSpec
    from generation.services.jobs import generation_job_create
    from tests.generation.conftest import FAST

    brief = make_brief()
    with run_jobs():
        training = lora_training_create(
            versions=approved_images(brief),
            base=tiny["base"],
            params={**QUICK, "learning_rate": 0.05, "train_text_encoder": True},
        )
    lora = lora_of(training)
    with safe_open(str(weights_path(weights=lora)), framework="pt") as handle:
        assert any(key.startswith("lora_te_text_model_") for key in handle.keys())

    def generated(loras):
        with run_jobs():
            job = generation_job_create(
                request=GenerationRequest(
                    brief=brief,
                    op="txt2img",
                    base_model=tiny["base"],
                    prompt_text="a can on a beach",
                    loras=loras,
                    params={**FAST, "seed": 5, "batch_size": 1},
                )
            )
        derivation = job.batches.get().derivation
        assert derivation.state == "succeeded", derivation.error
        return derivation.generated.get().version

    plain, styled = generated([]), generated([LoraSpec(weights=lora, weight=1.0)])
    assert plain.blob_id != styled.blob_id


def test_sdxl_with_its_text_encoders_trains_and_loads(tiny, run_jobs):
    from generation.requests import GenerationRequest, LoraSpec
    from generation.services.jobs import generation_job_create
    from tests.generation.conftest import FAST

    brief = make_brief()
    params = {**QUICK, "steps": 2, "train_text_encoder": True, "learning_rate": 0.05, "batch_size": 2, "alpha": 2.0}
    with run_jobs():
        training = lora_training_create(versions=approved_images(brief, count=2), base=tiny["base_xl"], params=params)
    training.refresh_from_db()
    assert training.state == "succeeded", training.error
    lora = lora_of(training)
    assert lora.architecture == "sdxl"
    with safe_open(str(weights_path(weights=lora)), framework="pt") as handle:
        keys, header = list(handle.keys()), handle.metadata()
        # Loaders scale by alpha over rank: the recipe's alpha, not the rank diffusers' conversion writes.
        assert {float(handle.get_tensor(key)) for key in keys if key.endswith(".alpha")} == {2.0}
    assert {key.split("_")[1] for key in keys} >= {"unet", "te1", "te2"}
    assert any(key.startswith("lora_te2_text_model_encoder_layers_") for key in keys)
    assert header["ss_base_model_version"] == "sdxl_base_v1-0" and header["ss_network_train_unet_only"] == "False"
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base_xl"],
                prompt_text="a can",
                loras=[LoraSpec(weights=lora, weight=1.0)],
                params={**FAST, "seed": 3},
            )
        )
    assert job.batches.get().derivation.state == "succeeded"


def test_flux_trains_its_transformer_by_flow_matching_and_the_lora_loads(tiny, run_jobs):
    from generation.requests import GenerationRequest, LoraSpec
    from generation.services.jobs import generation_job_create

    brief = make_brief()
    params = {**QUICK, "steps": 2, "learning_rate": 0.05, "alpha": 2.0, "sample_every": 2, "sample_steps": 2}
    with run_jobs():
        training = lora_training_create(versions=approved_images(brief, count=2), base=tiny["flux"], params=params)
    training.refresh_from_db()
    assert training.state == "succeeded", training.error
    lora = lora_of(training)
    assert lora.architecture == "flux1" and training.generated.count() == 1
    with safe_open(str(weights_path(weights=lora)), framework="pt") as handle:
        keys, header = list(handle.keys()), handle.metadata()
    assert keys and all(key.startswith("transformer.") for key in keys)
    assert header["ss_base_model_version"] == "flux1" and header["ss_network_module"] == "networks.lora_flux"
    out = io.StringIO()
    call_command("reproduce", "--lora", str(lora.pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["verdict"] == "bit_identical"
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["flux"],
                prompt_text="a can",
                loras=[LoraSpec(weights=lora, weight=1.0)],
                params={"steps": 2, "width": 64, "height": 64, "seed": 3, "sampler": "flow_euler"},
            )
        )
    assert job.batches.get().derivation.state == "succeeded"
