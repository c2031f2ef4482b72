"""Image prompts through an IP-Adapter: the brief's palette as a colour-lock guide image, and style references that
condition the image instead of only being recorded."""

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from PIL import Image

from assets.errors import ApplicationError
from assets.models import ModelWeights, Used
from assets.services.blobs import blob_open
from assets.services.briefs import reference_create
from assets.services.weights import model_weights_register
from generation.comfyui import comfyui_workflow
from generation.imaging import palette_guide
from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest, ImagePrompt
from generation.services.jobs import generation_job_create, generation_job_regenerate
from tests.factories import api_as, image_file, make_brief
from tests.generation.conftest import FAST

PARAMS = {**FAST, "seed": 21, "batch_size": 1}


def _output(job):
    derivation = job.batches.get().derivation
    derivation.refresh_from_db()
    assert derivation.state == "succeeded", derivation.error
    return derivation.generated.get().version


def _pixels(version) -> np.ndarray:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _job(tiny, brief, **kwargs):
    return generation_job_create(
        request=GenerationRequest(
            brief=brief,
            op="txt2img",
            base_model=tiny["base"],
            prompt_text="a can on a beach",
            params=dict(PARAMS),
            **kwargs,
        ),
    )


def _image_prompt(tiny, **kwargs) -> ImagePrompt:
    return ImagePrompt(adapter=tiny["ip_adapter"], encoder=tiny["image_encoder"], **kwargs)


def test_a_colour_lock_conditions_the_image_records_its_guide_and_reproduces(tiny, run_jobs):
    brief = make_brief()
    with run_jobs():
        plain = _job(tiny, brief)
        locked = _job(tiny, brief, image_prompt=_image_prompt(tiny, colour_lock=True, scale=0.8))
        plain_after = _job(tiny, brief)
    version = _output(locked)
    derivation = version.generated_by.derivation
    assert derivation.params["ip_adapter_scale"] == 0.8
    guide = derivation.used.get(role=Used.Role.GUIDE_IMAGE).blob
    with blob_open(blob=guide) as handle:
        assert handle.read() == palette_guide(palette=brief.palette, aspect=brief.aspect)
    assert {edge.model_weights_id for edge in derivation.used.filter(role__in=["ip_adapter", "image_encoder"])} == {
        tiny["ip_adapter"].pk,
        tiny["image_encoder"].pk,
    }
    assert np.abs(_pixels(version) - _pixels(_output(plain))).mean() > 1.0
    # The adapter is attached for its run only: the cached pipeline makes the plain image again, byte for byte.
    assert _output(plain_after).blob_id == _output(plain).blob_id
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        assert "Model: Tiny IP-Adapter (random weights)" in image.info["parameters"]
    assert version_reproduce(version=version).verdict == "bit_identical"
    with pytest.raises(ApplicationError, match="does not carry IP-Adapter image prompts"):
        comfyui_workflow(version=version)


def test_style_references_condition_the_image_and_recorded_only_ones_do_not(tiny, run_jobs):
    brief = make_brief()
    warm = reference_create(brief=brief, source=image_file(size=(96, 64), colour=(250, 120, 20)), title="warm")
    cold = reference_create(brief=brief, source=image_file(size=(64, 96), colour=(20, 60, 240)), title="cold")
    with run_jobs():
        plain = _job(tiny, brief)
        recorded_only = _job(tiny, brief, references=[warm])
        styled_warm = _job(tiny, brief, image_prompt=_image_prompt(tiny, references=(warm,)))
        styled_cold = _job(tiny, brief, image_prompt=_image_prompt(tiny, references=(cold,)))
        both = _job(tiny, brief, image_prompt=_image_prompt(tiny, references=(warm, cold)))
    assert _output(recorded_only).blob_id == _output(plain).blob_id
    outputs = [_output(job) for job in (plain, styled_warm, styled_cold, both)]
    assert len({version.blob_id for version in outputs}) == 4
    assert np.abs(_pixels(outputs[1]) - _pixels(outputs[2])).mean() > 1.0
    derivation = outputs[3].generated_by.derivation
    assert [edge.reference_id for edge in derivation.used.filter(role=Used.Role.REFERENCE).order_by("position")] == [
        warm.pk,
        cold.pk,
    ]
    assert version_reproduce(version=outputs[3]).verdict == "bit_identical"
    # Regenerating keeps the image prompts (the recorded guide and references) with the next seed.
    with run_jobs():
        again = generation_job_regenerate(version=outputs[3])
    regenerated = _output(again).generated_by.derivation
    assert regenerated.params["seed"] == PARAMS["seed"] + 1
    assert regenerated.used.filter(role=Used.Role.REFERENCE).count() == 2
    assert regenerated.used.filter(role=Used.Role.IP_ADAPTER).exists()


def test_image_prompts_that_cannot_work_are_refused_before_anything_is_written(tiny):
    brief = make_brief()
    other = reference_create(brief=make_brief(client_name="Other"), source=image_file(), title="theirs")
    cases = [
        (dict(image_prompt=_image_prompt(tiny)), "needs something to look at"),
        (dict(image_prompt=_image_prompt(tiny, references=(other,))), "belongs to another brief"),
        (
            dict(image_prompt=ImagePrompt(adapter=tiny["lora_a"], encoder=tiny["image_encoder"], colour_lock=True)),
            "not an IP-Adapter",
        ),
        (
            dict(image_prompt=ImagePrompt(adapter=tiny["ip_adapter"], encoder=tiny["vae"], colour_lock=True)),
            "not an image encoder",
        ),
    ]
    for kwargs, message in cases:
        with pytest.raises(ApplicationError, match=message):
            _job(tiny, brief, **kwargs)
    with pytest.raises(ApplicationError, match="ip_adapter_scale goes with an IP-Adapter"):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                params={**PARAMS, "ip_adapter_scale": 0.5},
            ),
        )
    with pytest.raises(ApplicationError, match="is for Stable Diffusion 1.x"):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base_xl"],
                prompt_text="a can",
                params=dict(PARAMS),
                image_prompt=_image_prompt(tiny, colour_lock=True),
            ),
        )
    with pytest.raises(ApplicationError, match="no palette"):
        _job(tiny, make_brief(client_name="Plain", palette=[]), image_prompt=_image_prompt(tiny, colour_lock=True))
    assert not brief.derivations.exists()


def test_the_palette_guide_has_one_band_per_colour_at_the_briefs_aspect():
    import io

    data = palette_guide(palette=["#FF0000", "#00FF00", "#0000FF"], aspect="9:16")
    with Image.open(io.BytesIO(data)) as guide:
        assert guide.size == (288, 512)
        assert [guide.getpixel((100, y)) for y in (10, 256, 500)] == [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    assert palette_guide(palette=["#FF0000", "#00FF00", "#0000FF"], aspect="9:16") == data


def test_registering_an_ip_adapter_checks_its_weights(tiny, tiny_files):
    assert tiny["ip_adapter"].architecture == ModelWeights.Architecture.SD15
    with pytest.raises(ApplicationError, match="not an IP-Adapter file"):
        model_weights_register(path=tiny_files["lora_a"], kind="ip_adapter", name="not one", architecture="sd15")
    assert tiny["image_encoder"].architecture == ModelWeights.Architecture.OTHER


def test_the_api_takes_a_colour_lock_and_style_references(tiny, run_jobs):
    brief = make_brief()
    reference = reference_create(brief=brief, source=image_file(), title="mood")
    client = api_as(get_user_model().objects.create_user("alice", password="x", is_staff=True, is_superuser=True))
    body = {
        "brief": brief.pk,
        "base_model": tiny["base"].pk,
        "prompt": "a can",
        "params": PARAMS,
        "ip_adapter": tiny["ip_adapter"].pk,
        "image_encoder": tiny["image_encoder"].pk,
        "colour_lock": True,
        "style_references": [reference.pk],
        "ip_adapter_scale": 0.7,
    }
    with run_jobs():
        response = client.post("/api/jobs/", body, format="json")
    assert response.status_code == 201, response.content
    derivation = brief.derivations.get()
    assert derivation.params["ip_adapter_scale"] == 0.7
    assert set(derivation.used.values_list("role", flat=True)) >= {
        "guide_image",
        "reference",
        "ip_adapter",
        "image_encoder",
    }
    refused = client.post("/api/jobs/", {**body, "image_encoder": None}, format="json")
    assert refused.status_code == 400 and "go together" in refused.content.decode()
    refused = client.post("/api/jobs/", {**body, "ip_adapter": None, "image_encoder": None}, format="json")
    assert refused.status_code == 400 and "need an IP-Adapter" in refused.content.decode()
    assert brief.derivations.count() == 1
