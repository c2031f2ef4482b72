"""FLUX.1 Kontext instruction edits and FLUX.1 Fill inpaint and outpaint, through the worker on tiny models."""

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from assets.errors import ApplicationError
from assets.model_files import model_files_read
from assets.models import Blob, Derivation, ModelWeights, Used
from assets.operations import operation_get
from assets.services.blobs import blob_open
from assets.services.versions import version_import
from generation.models import GenerationJob
from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest, LoraSpec
from generation.services.jobs import generation_job_create
from tests.assets.conftest import files_under
from tests.factories import image_file, make_brief

pytestmark = pytest.mark.django_db

FAST = {"steps": 3, "width": 48, "height": 80, "seed": 7, "batch_size": 1}


def _pattern(*, size=(48, 80), seed=0) -> ContentFile:
    """A photo-like init: smooth colour blocks, so the model has something to keep or change."""
    blocks = np.random.default_rng(seed).integers(0, 256, size=(5, 3, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize(size, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="shot.png")


def _png(data: Image.Image) -> ContentFile:
    buffer = io.BytesIO()
    data.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="mask.png")


def _pixels(version) -> np.ndarray:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _infotext(version) -> str:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return image.info["parameters"]


def _job(brief, op, base, **request):
    return generation_job_create(request=GenerationRequest(brief=brief, op=op, base_model=base, **request))


def _output(job):
    [batch] = job.batches.all()
    derivation = batch.derivation
    assert derivation.state == "succeeded", derivation.error
    return derivation, derivation.generated.get().version


def test_kontext_and_fill_folders_are_told_from_flux1_by_their_pipeline(tiny_files):
    assert model_files_read(path=tiny_files["flux"]).detected == ModelWeights.Architecture.FLUX1
    assert model_files_read(path=tiny_files["flux_kontext"]).detected == ModelWeights.Architecture.FLUX1_KONTEXT
    assert model_files_read(path=tiny_files["flux_fill"]).detected == ModelWeights.Architecture.FLUX1_FILL


def test_an_instruction_edit_on_kontext_is_recorded_reproduced_and_follows_its_instruction(tiny, run_jobs):
    brief = make_brief()
    shot = version_import(brief=brief, source=_pattern())
    planned = _job(brief, "instruct_edit", tiny["flux_kontext"], init=shot, prompt_text="make the sky warmer")
    params = planned.batches.get().derivation.params
    # The init's own size (it is under Kontext's megapixel), Kontext's distilled guidance, true CFG off.
    assert (params["width"], params["height"]) == (48, 80)
    assert (params["sampler"], params["cfg"], params["distilled_cfg"], params["prompt_syntax"]) == (
        "flow_euler",
        1.0,
        2.5,
        "plain",
    )
    assert "strength" not in params

    with run_jobs():
        warmer = _job(
            brief, "instruct_edit", tiny["flux_kontext"], init=shot, prompt_text="make the sky warmer", params=FAST
        )
        night = _job(
            brief, "instruct_edit", tiny["flux_kontext"], init=shot, prompt_text="turn it to night", params=FAST
        )
    derivation, version = _output(warmer)
    assert derivation.op == "instruct_edit" and operation_get("instruct_edit").c2pa_action == "c2pa.edited"
    assert derivation.params["distilled_cfg"] == 2.5
    assert derivation.used.get(role=Used.Role.INIT_IMAGE).version == shot
    assert derivation.used.get(role=Used.Role.BASE_MODEL).model_weights == tiny["flux_kontext"]
    assert (version.width, version.height) == (48, 80)
    first, settings = _infotext(version).splitlines()[0], _infotext(version).splitlines()[-1]
    assert first == "make the sky warmer"
    assert "Distilled CFG Scale: 2.5" in settings and "Denoising strength" not in settings
    assert f"Model: {tiny['flux_kontext'].name}" in settings
    _, other = _output(night)
    assert np.abs(_pixels(version) - _pixels(other)).mean() > 1, "the instruction did not change the edit"
    assert version_reproduce(version=version).verdict == "bit_identical"


def test_the_init_image_conditions_the_edit(tiny, run_jobs):
    brief = make_brief()
    shots = [version_import(brief=brief, source=_pattern(seed=seed)) for seed in (1, 2)]
    with run_jobs():
        jobs = [
            _job(brief, "instruct_edit", tiny["flux_kontext"], init=shot, prompt_text="add a hat", params=FAST)
            for shot in shots
        ]
    first, second = (_pixels(_output(job)[1]) for job in jobs)
    assert np.abs(first - second).mean() > 1, "the init image did not reach the model"


def test_a_flux1_dev_lora_runs_on_kontext_and_an_sd_lora_is_refused(tiny, run_jobs):
    brief = make_brief()
    shot = version_import(brief=brief, source=_pattern())
    with run_jobs():
        styled = _job(
            brief,
            "instruct_edit",
            tiny["flux_kontext"],
            init=shot,
            prompt_text="make it a portrait",
            loras=(LoraSpec(weights=tiny["lora_flux"], weight=1.0),),
            params=FAST,
        )
        plain = _job(
            brief, "instruct_edit", tiny["flux_kontext"], init=shot, prompt_text="make it a portrait", params=FAST
        )
    derivation, version = _output(styled)
    assert derivation.used.get(role=Used.Role.LORA).model_weights == tiny["lora_flux"]
    assert np.abs(_pixels(version) - _pixels(_output(plain)[1])).mean() > 0.5, "the LoRA did not change the edit"
    with pytest.raises(ApplicationError, match="is for Stable Diffusion 1.x"):
        _job(
            brief,
            "instruct_edit",
            tiny["flux_kontext"],
            init=shot,
            prompt_text="a hat",
            loras=(LoraSpec(weights=tiny["lora_a"]),),
            params=FAST,
        )


def test_a_large_init_is_edited_at_kontexts_megapixel(tiny):
    brief = make_brief()
    shot = version_import(brief=brief, source=image_file(size=(2048, 2048)))
    job = _job(brief, "instruct_edit", tiny["flux_kontext"], init=shot, prompt_text="warmer")
    params = job.batches.get().derivation.params
    assert (params["width"], params["height"]) == (1024, 1024)


def test_fill_inpaints_the_masked_region_and_the_mask_reaches_the_model(tiny, run_jobs):
    brief = make_brief()
    shot = version_import(brief=brief, source=_pattern())
    masks = []
    for box in ((8, 16, 40, 48), (0, 48, 48, 80)):
        mask = Image.new("L", (48, 80), 0)
        mask.paste(255, box)
        masks.append(mask)
    with run_jobs():
        jobs = [
            _job(
                brief,
                "inpaint",
                tiny["flux_fill"],
                init=shot,
                prompt_text="a hand",
                mask_source=_png(mask),
                params=FAST,
            )
            for mask in masks
        ]
    (derivation, version), (_, other) = (_output(job) for job in jobs)
    assert derivation.params["distilled_cfg"] == 30.0 and derivation.params["strength"] == 0.9
    assert derivation.used.filter(role=Used.Role.MASK, blob__isnull=False).exists()
    assert derivation.used.get(role=Used.Role.INIT_IMAGE).version == shot
    assert (version.width, version.height) == (48, 80)
    assert "Distilled CFG Scale: 30" in _infotext(version)
    assert np.abs(_pixels(version) - _pixels(other)).mean() > 1, "the mask did not reach the model"
    assert version_reproduce(version=version).verdict == "bit_identical"


def test_fill_outpaints_to_another_aspect(tiny, run_jobs):
    brief = make_brief()
    shot = version_import(brief=brief, source=_pattern())
    params = {key: value for key, value in FAST.items() if key not in ("width", "height")}
    with run_jobs():
        job = _job(
            brief,
            "outpaint",
            tiny["flux_fill"],
            init=shot,
            prompt_text="wider",
            params={**params, "target_aspect": "1:1"},
        )
    derivation, version = _output(job)
    assert (version.width, version.height) == (80, 80)
    assert derivation.params["target_aspect"] == "1:1"
    assert derivation.used.get(role=Used.Role.INIT_IMAGE).version == shot


@pytest.mark.parametrize(
    ("op", "base", "with_init", "params", "words"),
    [
        ("instruct_edit", "flux", True, {}, "instruct_edit does not run on"),
        ("inpaint", "flux", True, {}, "inpaint does not run on"),
        ("instruct_edit", "flux_kontext", False, {}, "instruct_edit needs an init image"),
        ("txt2img", "flux_kontext", False, {}, "txt2img does not run on"),
        ("inpaint", "flux_fill", True, {"cfg": 3.0}, "no classifier-free guidance"),
        ("instruct_edit", "base", True, {}, "instruct_edit does not run on"),
    ],
)
def test_what_kontext_and_fill_cannot_run_is_refused_with_nothing_written(
    tiny, run_jobs, media_root, op, base, with_init, params, words
):
    brief = make_brief()
    shot = version_import(brief=brief, source=_pattern())
    mask = Image.new("L", (48, 80), 0)
    mask.paste(255, (8, 16, 40, 48))
    before = (files_under(media_root), Blob.objects.count(), Derivation.objects.count(), GenerationJob.objects.count())
    with run_jobs(), pytest.raises(ApplicationError, match=words):
        _job(
            brief,
            op,
            tiny[base],
            init=shot if with_init else None,
            mask_source=_png(mask) if op == "inpaint" else None,
            prompt_text="make the sky warmer",
            params={**FAST, **params},
        )
    after = (files_under(media_root), Blob.objects.count(), Derivation.objects.count(), GenerationJob.objects.count())
    assert after == before
