"""FLUX.2 [klein] through the worker, on a tiny random-weight pipeline made in code: its folders are told apart from
FLUX.1's and FLUX.2 [dev]'s, its defaults planned, its txt2img runs, reproduces bit for bit and paints the pixels
pinned here (values and tolerance as in test_pinned_pixels), its prompt, cfg and negative prompt each reach the
picture, and what it cannot run is refused."""

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from assets.errors import ApplicationError
from assets.model_files import model_files_read
from assets.models import ModelWeights
from generation.reproduce import version_reproduce
from tests.factories import make_brief
from tests.generation.test_pinned_pixels import _assert_slice, _pixels
from tests.generation.test_sd35_qwen import FAST, PROMPT, _infotext, _output
from tests.generation.test_sd35_qwen import _job as _architecture_job

pytestmark = pytest.mark.django_db

KLEIN = ModelWeights.Architecture.FLUX2_KLEIN


def _job(tiny, brief, **request):
    return _architecture_job(tiny, "flux2_klein", brief, **request)


def test_the_tiny_folder_is_read_as_klein(tiny_files):
    assert model_files_read(path=tiny_files["flux2_klein"]).detected == KLEIN


@pytest.mark.parametrize(
    ("config_name", "config", "architecture"),
    [
        ("model_index.json", {"_class_name": "Flux2KleinPipeline", "is_distilled": True}, KLEIN),
        # [klein] 4B's transformer reads three of Qwen3-4B's layers, 2560 wide each.
        ("config.json", {"_class_name": "Flux2Transformer2DModel", "joint_attention_dim": 7680}, KLEIN),
        # FLUX.2 [dev] (Mistral's states) is not run here, and its names must not read as FLUX.1's.
        ("model_index.json", {"_class_name": "Flux2Pipeline"}, ModelWeights.Architecture.OTHER),
        ("config.json", {"_class_name": "Flux2Transformer2DModel", "joint_attention_dim": 15360}, "other"),
        ("model_index.json", {"_class_name": "FluxPipeline"}, ModelWeights.Architecture.FLUX1),
    ],
    ids=["klein-pipeline", "klein-transformer", "dev-pipeline", "dev-transformer", "flux1"],
)
def test_flux2_folders_are_told_by_their_configs(tmp_path, config_name, config, architecture):
    (tmp_path / config_name).write_text(json.dumps(config))
    save_file({"weight": np.zeros((2, 2), dtype=np.float32)}, str(tmp_path / "diffusion_pytorch_model.safetensors"))
    assert model_files_read(path=tmp_path).detected == architecture


def test_txt2img_plans_the_defaults_runs_reproduces_and_paints_the_pinned_pixels(tiny, run_jobs):
    brief = make_brief()
    planned = _job(tiny, brief, params={"batch_size": 1}).batches.get().derivation.params
    # The pipeline's megapixel at the brief's 9:16, in multiples of 16 (the VAE's 8 times the 2x2 patches).
    assert (planned["width"], planned["height"]) == (768, 1360)
    assert (planned["sampler"], planned["steps"], planned["cfg"]) == ("flow_euler", 50, 4.0)
    assert planned["prompt_syntax"] == "plain" and "distilled_cfg" not in planned

    with run_jobs():
        job = _job(tiny, brief)
    _, version = _output(job)
    assert (version.width, version.height) == (48, 80)
    infotext = _infotext(version)
    assert infotext.splitlines()[0] == PROMPT
    assert "Steps: 3, Sampler: Euler, Schedule type: Simple, CFG scale: 4, Seed: 21, Size: 48x80" in infotext
    assert "Distilled CFG Scale" not in infotext and f"Model: {tiny['flux2_klein'].name}" in infotext
    assert version_reproduce(version=version).verdict == "bit_identical"

    pixels = _pixels(version)
    assert pixels.std() > 10
    _assert_slice(pixels, PINNED_CORNER, at=(0, 0))
    _assert_slice(pixels, PINNED_CENTRE, at=(39, 23))


def test_the_prompt_cfg_and_negative_prompt_each_reach_the_picture(tiny, run_jobs):
    """[klein]'s pipeline takes no negative text: the worker hands it the negative prompt's states, encoded by the
    pipeline's own Qwen3, which its CFG steers away from instead of the empty prompt."""
    brief = make_brief()
    with run_jobs():
        plain = _job(tiny, brief)
        other_prompt = _job(tiny, brief, prompt_text="a blue bottle in a field")
        no_cfg = _job(tiny, brief, params={**FAST, "cfg": 1.0})
        negative = _job(tiny, brief, negative_prompt="blurry, grey")
    pixels = _pixels(_output(plain)[1])
    for job in (other_prompt, no_cfg, negative):
        assert np.abs(_pixels(_output(job)[1]) - pixels).mean() > 1
    _, version = _output(negative)
    assert "Negative prompt: blurry, grey" in _infotext(version)
    assert version_reproduce(version=version).verdict == "bit_identical"


@pytest.mark.parametrize(
    ("request_change", "words"),
    [
        ({"params": {**FAST, "sampler": "dpmpp_2m_karras"}}, "flow-matching sampler"),
        ({"params": {**FAST, "prompt_syntax": "a1111"}}, "A1111's prompt syntax"),
        ({"params": {**FAST, "distilled_cfg": 3.5}}, "no distilled guidance"),
        ({"params": {**FAST, "width": 40}}, "multiples of 16"),
        ({"op": "img2img"}, "img2img does not run on"),
    ],
    ids=["sd-sampler", "a1111-syntax", "distilled-cfg", "size", "img2img"],
)
def test_what_it_cannot_run_is_refused_before_anything_is_written(tiny, request_change, words):
    with pytest.raises(ApplicationError, match=words):
        _job(tiny, make_brief(), **request_change)


# The 3x3 patches at the top-left corner and the centre of the 48x80 txt2img.
PINNED_CORNER = [
    [[133, 122, 115], [134, 128, 119], [141, 140, 107]],
    [[111, 94, 104], [151, 93, 105], [114, 136, 125]],
    [[107, 126, 121], [131, 110, 147], [113, 125, 129]],
]
PINNED_CENTRE = [
    [[207, 138, 143], [185, 196, 73], [202, 212, 129]],
    [[149, 89, 101], [107, 162, 89], [147, 165, 106]],
    [[109, 56, 152], [119, 127, 132], [130, 158, 162]],
]
