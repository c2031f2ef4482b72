"""Regenerate at quality: A1111's hi-res fix as one derivation, and Canny control images made as ControlNet's
canny models were trained."""

import numpy as np
import pytest
from PIL import Image

from assets.errors import ApplicationError
from assets.infotext import infotext_parse
from generation.imaging import canny_edges, canny_opencv
from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest
from generation.services.jobs import generation_job_create
from tests.factories import image_file, make_brief
from tests.generation.conftest import FAST


def _version(job):
    derivation = job.batches.get().derivation
    derivation.refresh_from_db()
    assert derivation.state == "succeeded", derivation.error
    return derivation.generated.get().version


def _infotext(version) -> dict:
    from assets.services.blobs import blob_open

    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return infotext_parse(image.info["parameters"]).values


@pytest.mark.parametrize(("upscaler", "written"), [("latent", "Latent"), ("lanczos", "Lanczos")])
def test_the_hires_fix_is_one_derivation_at_the_scaled_size_that_reproduces(tiny, run_jobs, upscaler, written):
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=make_brief(),
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can on a roof",
                params={
                    **FAST,
                    "seed": 8,
                    "batch_size": 1,
                    "hires_scale": 2.0,
                    "hires_upscaler": upscaler,
                    "hires_steps": 6,
                    "strength": 0.5,
                },
            ),
        )
    version = _version(job)
    derivation = version.generated_by.derivation
    assert (version.width, version.height) == (128, 128)
    assert derivation.params["hires_scale"] == 2.0 and derivation.progress_total == 4 + 3
    values = _infotext(version)
    assert values["Size"] == "64x64" and values["Hires upscale"] == "2" and values["Hires upscaler"] == written
    assert values["Hires steps"] == "6" and values["Denoising strength"] == "0.5"
    assert version_reproduce(version=version).verdict == "bit_identical"


def test_the_hires_fix_takes_a1111s_defaults_and_refuses_half_a_recipe(tiny, run_jobs):
    brief = make_brief()
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                params={**FAST, "seed": 3, "batch_size": 1, "hires_scale": 1.5},
            ),
        )
    params = job.batches.get().derivation.params
    assert (params["hires_upscaler"], params["hires_steps"], params["strength"]) == ("latent", 0, 0.7)
    assert (_version(job).width, _version(job).height) == (96, 96)
    with pytest.raises(ApplicationError, match="only go with hires_scale"):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                params={**FAST, "strength": 0.5},
            ),
        )
    with pytest.raises(ApplicationError, match="does not enlarge"):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                params={**FAST, "hires_scale": 1.0},
            ),
        )
    with pytest.raises(ApplicationError, match="hires_upscaler"):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                params={**FAST, "hires_scale": 2.0, "hires_upscaler": "nearest"},
            ),
        )


def test_canny_uses_absolute_thresholds_as_controlnet_was_trained():
    pixels = np.full((64, 64, 3), 100, dtype=np.uint8)
    pixels[16:48, 16:48] = 110  # a faint square: a weak edge in absolute terms, the strongest in relative ones
    faint = Image.fromarray(pixels)
    assert not np.asarray(canny_opencv(image=faint, low=100, high=200)).any()
    assert np.asarray(canny_opencv(image=faint, low=5, high=20))[:, :, 0].any()
    assert np.asarray(canny_edges(image=faint)).any()  # the old relative thresholds find it anyway
    pixels[16:48, 16:48] = 250
    edges = np.asarray(canny_opencv(image=Image.fromarray(pixels), low=100, high=200))
    assert edges.shape == (64, 64, 3) and set(np.unique(edges)) == {0, 255}
    assert edges[14:18, 30].any() and not edges[32, 32].any()


def test_a_controlnet_job_records_its_canny_thresholds_and_reproduces(tiny, run_jobs):
    from assets.services.versions import version_import

    brief = make_brief()
    control = version_import(brief=brief, source=image_file("pose.png", size=(64, 64), colour=(240, 240, 240)))
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="controlnet",
                base_model=tiny["base"],
                control=control,
                controlnet=tiny["controlnet"],
                prompt_text="a can",
                params={**FAST, "seed": 5, "batch_size": 1},
            ),
        )
    version = _version(job)
    assert (
        version.generated_by.derivation.params["canny_low"],
        version.generated_by.derivation.params["canny_high"],
    ) == (100, 200)
    assert version_reproduce(version=version).verdict == "bit_identical"
    with pytest.raises(ApplicationError, match="must not be above"):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="controlnet",
                base_model=tiny["base"],
                control=control,
                controlnet=tiny["controlnet"],
                prompt_text="a can",
                params={**FAST, "canny_low": 200, "canny_high": 100},
            ),
        )
    with pytest.raises(ApplicationError, match="go together"):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="controlnet",
                base_model=tiny["base"],
                control=control,
                controlnet=tiny["controlnet"],
                prompt_text="a can",
                params={**FAST, "control_type": "depth", "canny_low": 50},
            ),
        )
