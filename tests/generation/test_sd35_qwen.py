"""Stable Diffusion 3.5 and Qwen-Image through the worker, on tiny random-weight pipelines made in code: their files
are told apart from SD's and FLUX's, their defaults planned, their txt2img and img2img run, reproduce bit for bit and
paint the pixels pinned here (values and tolerance as in test_pinned_pixels), and what they cannot run is refused."""

import json

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import save_file

from assets.errors import ApplicationError
from assets.model_files import model_files_read
from assets.models import ModelWeights, Used
from assets.services.blobs import blob_open
from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest
from generation.services.jobs import generation_job_create
from tests.factories import make_brief
from tests.generation.test_pinned_pixels import _assert_slice, _pixels

pytestmark = pytest.mark.django_db

SD35 = ModelWeights.Architecture.SD35
QWEN = ModelWeights.Architecture.QWEN_IMAGE
QWEN_IMAGE_EDIT = ModelWeights.Architecture.QWEN_IMAGE_EDIT
FAST = {"steps": 3, "width": 48, "height": 80, "seed": 21, "batch_size": 1}
PROMPT = "a red can on a roof"


def _job(tiny, key, brief, **request):
    request = {"op": "txt2img", "prompt_text": PROMPT, "params": FAST, **request}
    return generation_job_create(request=GenerationRequest(brief=brief, base_model=tiny[key], **request))


def _output(job):
    derivation = job.batches.get().derivation
    derivation.refresh_from_db()
    assert derivation.state == "succeeded", derivation.error
    return derivation, derivation.generated.get().version


def _infotext(version) -> str:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return image.info["parameters"]


@pytest.mark.parametrize(("key", "architecture"), [("sd35", SD35), ("qwen_image", QWEN)])
def test_the_tiny_folders_are_read_as_their_architecture(tiny_files, key, architecture):
    assert model_files_read(path=tiny_files[key]).detected == architecture


def test_the_qwen_tokenizer_comes_back_from_the_folder_and_the_pipeline_drops_exactly_its_template(tiny_files):
    from transformers import Qwen2Tokenizer

    from generation.tiny_qwen import tiny_qwen_pipeline

    made = tiny_qwen_pipeline(seed=18)
    loaded = Qwen2Tokenizer.from_pretrained(str(tiny_files["qwen_image"] / "tokenizer"), local_files_only=True)
    text = made.prompt_template_encode.format(f"{PROMPT}, golden-hour")
    ids = loaded(text).input_ids
    assert ids == made.tokenizer(text).input_ids and loaded.pad_token_id == made.tokenizer.pad_token_id
    # The pipeline drops the states of the template's first 34 tokens: its system turn and the user turn's opening.
    kept = loaded.decode(ids[made.prompt_template_encode_start_idx :])
    assert kept == f"{PROMPT}, golden-hour<|im_end|>\n<|im_start|>assistant\n"


def _keys_file(tmp_path, keys: list[str]):
    path = tmp_path / "model.safetensors"
    save_file({key: np.zeros((2, 2), dtype=np.float32) for key in keys}, str(path))
    return path


@pytest.mark.parametrize(
    ("keys", "architecture"),
    [
        # Stability's release layout, under SD's own prefix: read as SD 1.x before SD3's blocks were looked for.
        (["model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight", "model.diffusion_model.pos_embed"], SD35),
        (["lora_unet_joint_blocks_0_context_block_attn_qkv.lora_down.weight"], SD35),
        # ComfyUI's Qwen-Image file, and a LoRA in diffusers' names.
        (["model.diffusion_model.transformer_blocks.0.img_mod.1.weight", "model.diffusion_model.txt_in.bias"], QWEN),
        (["transformer.transformer_blocks.0.txt_mlp.net.2.lora_A.weight"], QWEN),
        # BFL's FLUX blocks have image MLPs too, and stay FLUX.
        (["double_blocks.0.img_mlp.0.weight", "single_blocks.0.linear1.weight"], ModelWeights.Architecture.FLUX1),
        (["model.diffusion_model.input_blocks.0.0.weight"], ModelWeights.Architecture.SD15),
    ],
    ids=["sd3-stability", "sd3-kohya-lora", "qwen-comfyui", "qwen-diffusers-lora", "flux-bfl", "sd15"],
)  # fmt: skip
def test_single_files_are_told_by_their_blocks(tmp_path, keys, architecture):
    assert model_files_read(path=_keys_file(tmp_path, keys)).detected == architecture


@pytest.mark.parametrize(
    ("config_name", "config", "architecture"),
    [
        ("model_index.json", {"_class_name": "QwenImageEditPipeline"}, QWEN_IMAGE_EDIT),
        ("model_index.json", {"_class_name": "QwenImageEditPlusPipeline"}, QWEN_IMAGE_EDIT),
        (
            "model_index.json",
            {"_class_name": "StableDiffusion3Img2ImgPipeline", "transformer": ["diffusers", "SD3Transformer2DModel"]},
            SD35,
        ),
        ("config.json", {"_class_name": "SD3Transformer2DModel"}, SD35),
        ("config.json", {"_class_name": "QwenImageTransformer2DModel"}, QWEN),
    ],
    ids=["qwen-edit", "qwen-edit-plus", "sd3-img2img-pipeline", "sd3-transformer", "qwen-transformer"],
)
def test_folders_are_told_by_their_configs(tmp_path, config_name, config, architecture):
    (tmp_path / config_name).write_text(json.dumps(config))
    save_file({"weight": np.zeros((2, 2), dtype=np.float32)}, str(tmp_path / "diffusion_pytorch_model.safetensors"))
    assert model_files_read(path=tmp_path).detected == architecture


@pytest.mark.parametrize(
    ("key", "size", "steps", "cfg", "written"),
    [
        ("sd35", (768, 1360), 28, 4.5, "CFG scale: 4.5, Seed: 21"),
        # Qwen-Image's native 1328x1328 area at the brief's 9:16.
        ("qwen_image", (992, 1776), 50, 4.0, "CFG scale: 4, Seed: 21"),
    ],
)
def test_txt2img_plans_the_defaults_runs_reproduces_and_paints_the_pinned_pixels(
    tiny, run_jobs, key, size, steps, cfg, written
):
    brief = make_brief()
    planned = _job(tiny, key, brief, params={"batch_size": 1}).batches.get().derivation.params
    assert (planned["width"], planned["height"]) == size
    assert (planned["sampler"], planned["steps"], planned["cfg"]) == ("flow_euler", steps, cfg)
    assert planned["prompt_syntax"] == "plain" and "distilled_cfg" not in planned

    with run_jobs():
        job = _job(tiny, key, brief)
    _, version = _output(job)
    assert (version.width, version.height) == (48, 80)
    infotext = _infotext(version)
    assert infotext.splitlines()[0] == PROMPT
    assert f"Steps: 3, Sampler: Euler, Schedule type: Simple, {written}, Size: 48x80" in infotext
    assert "Distilled CFG Scale" not in infotext and f"Model: {tiny[key].name}" in infotext
    assert version_reproduce(version=version).verdict == "bit_identical"

    pixels = _pixels(version)
    assert pixels.std() > 10
    corner, centre = PINNED[key]
    _assert_slice(pixels, corner, at=(0, 0))
    _assert_slice(pixels, centre, at=(39, 23))


@pytest.mark.parametrize("key", ["sd35", "qwen_image"])
def test_the_prompt_cfg_and_negative_prompt_each_reach_the_picture(tiny, run_jobs, key):
    """Qwen-Image's pipeline runs true CFG only with a negative prompt: a recipe without one runs with a space (as
    Qwen's examples do), so its cfg still steers."""
    brief = make_brief()
    with run_jobs():
        plain = _job(tiny, key, brief)
        other_prompt = _job(tiny, key, brief, prompt_text="a blue bottle in a field")
        no_cfg = _job(tiny, key, brief, params={**FAST, "cfg": 1.0})
        negative = _job(tiny, key, brief, negative_prompt="blurry, grey")
    pixels = _pixels(_output(plain)[1])
    for job in (other_prompt, no_cfg, negative):
        assert np.abs(_pixels(_output(job)[1]) - pixels).mean() > 1


@pytest.mark.parametrize("key", ["sd35", "qwen_image"])
def test_img2img_reimagines_a_version(tiny, run_jobs, key):
    with run_jobs():
        source = _job(tiny, key, make_brief())
    _, init = _output(source)
    with run_jobs():
        job = _job(tiny, key, init.brief, op="img2img", init=init, params={**FAST, "seed": 7, "strength": 0.6})
    derivation, version = _output(job)
    assert derivation.params["strength"] == 0.6 and (version.width, version.height) == (48, 80)
    change = np.abs(_pixels(version) - _pixels(init)).mean()
    assert 2 < change < 60, change


def test_an_sd35_lora_changes_the_picture_and_is_recorded(tiny, run_jobs):
    brief = make_brief()
    with run_jobs():
        tagged = _job(tiny, "sd35", brief, prompt_text=f"{PROMPT} <lora:Sd35InkStyle:1>")
        plain = _job(tiny, "sd35", brief)
    derivation, version = _output(tagged)
    assert [(edge.model_weights_id, edge.weight) for edge in derivation.used.filter(role=Used.Role.LORA)] == [
        (tiny["lora_sd35"].pk, 1.0)
    ]
    assert np.abs(_pixels(version) - _pixels(_output(plain)[1])).mean() > 0.5, "the LoRA did not change the picture"
    assert _infotext(version).splitlines()[0] == f"{PROMPT} <lora:Sd35InkStyle:1>"
    assert version_reproduce(version=version).verdict == "bit_identical"


@pytest.mark.parametrize("key", ["sd35", "qwen_image"])
@pytest.mark.parametrize(
    ("request_change", "words"),
    [
        ({"params": {**FAST, "sampler": "dpmpp_2m_karras"}}, "flow-matching sampler"),
        ({"params": {**FAST, "prompt_syntax": "a1111"}}, "A1111's prompt syntax"),
        ({"params": {**FAST, "distilled_cfg": 3.5}}, "no distilled guidance"),
        ({"params": {**FAST, "hires_scale": 1.5}}, "hi-res fix"),
        ({"params": {**FAST, "width": 40}}, "multiples of 16"),
        ({"op": "inpaint"}, "inpaint does not run on"),
        ({"prompt_text": "a kite <lora:{lora_a}:0.5>"}, "is for Stable Diffusion 1.x"),
    ],
    ids=["sd-sampler", "a1111-syntax", "distilled-cfg", "hires-fix", "size", "inpaint", "sd15-lora"],
)
def test_what_they_cannot_run_is_refused_before_anything_is_written(tiny, key, request_change, words):
    if "prompt_text" in request_change:
        request_change = {"prompt_text": request_change["prompt_text"].format(lora_a=tiny["lora_a"].sha256[:10])}
    with pytest.raises(ApplicationError, match=words):
        _job(tiny, key, make_brief(), **request_change)


# The 3x3 patches at the top-left corner and the centre of each architecture's 48x80 txt2img.
PINNED = {
    "sd35": (
        [
            [[134, 138, 112], [116, 172, 102], [95, 146, 120]],
            [[94, 151, 105], [98, 125, 110], [81, 142, 95]],
            [[108, 121, 108], [83, 134, 126], [94, 138, 112]],
        ],
        [
            [[90, 100, 88], [100, 134, 122], [135, 127, 166]],
            [[149, 61, 131], [124, 127, 94], [158, 116, 151]],
            [[118, 78, 137], [112, 123, 84], [123, 152, 107]],
        ],
    ),
    "qwen_image": (
        [
            [[92, 127, 148], [107, 131, 155], [102, 136, 141]],
            [[124, 153, 153], [137, 139, 138], [129, 136, 111]],
            [[123, 179, 163], [140, 137, 149], [125, 133, 129]],
        ],
        [
            [[164, 134, 166], [150, 146, 166], [148, 158, 141]],
            [[160, 109, 137], [154, 134, 129], [134, 149, 141]],
            [[140, 124, 153], [121, 110, 126], [136, 145, 142]],
        ],
    ),
}
