"""Qwen-Image-Edit instruction edits through the worker, on a tiny random-weight Qwen-Image-Edit made in code: its
folder is told from Qwen-Image's, its template drops what Qwen's does, its edits are recorded, reproduce bit for bit and
follow their instruction, init image and guidance, Qwen-Image LoRAs run on it, and what it cannot run is refused."""

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image

from assets.errors import ApplicationError
from assets.model_files import model_files_read
from assets.models import Blob, Derivation, ModelWeights, Used
from assets.services.blobs import blob_open
from assets.services.versions import version_import
from assets.services.weights import model_weights_register
from generation.models import GenerationJob
from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest, LoraSpec
from generation.services.jobs import generation_job_create
from tests.assets.conftest import files_under
from tests.factories import image_file, make_brief

pytestmark = pytest.mark.django_db

FAST = {"steps": 3, "width": 48, "height": 80, "seed": 7, "batch_size": 1}
INSTRUCTION = "make the sky warmer"


def _pattern(*, seed=0) -> ContentFile:
    """A photo-like init: smooth colour blocks, so the model has something to keep or change."""
    blocks = np.random.default_rng(seed).integers(0, 256, size=(5, 3, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(blocks).resize((48, 80), Image.Resampling.BILINEAR).save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="shot.png")


def _pixels(version) -> np.ndarray:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _infotext(version) -> str:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return image.info["parameters"]


def _edit(tiny, brief, init, **request):
    request = {"op": "instruct_edit", "prompt_text": INSTRUCTION, "params": FAST, **request}
    return generation_job_create(
        request=GenerationRequest(brief=brief, base_model=tiny["qwen_image_edit"], init=init, **request)
    )


def _output(job):
    derivation = job.batches.get().derivation
    derivation.refresh_from_db()
    assert derivation.state == "succeeded", derivation.error
    return derivation, derivation.generated.get().version


def test_the_tiny_folder_is_read_as_qwen_image_edit_and_the_pipeline_drops_exactly_its_template(tiny_files):
    from transformers import Qwen2VLProcessor

    from generation.tiny_qwen import tiny_qwen_edit_pipeline

    folder = tiny_files["qwen_image_edit"]
    assert model_files_read(path=folder).detected == ModelWeights.Architecture.QWEN_IMAGE_EDIT
    assert model_files_read(path=tiny_files["qwen_image"]).detected == ModelWeights.Architecture.QWEN_IMAGE
    made = tiny_qwen_edit_pipeline(seed=22)
    processor = Qwen2VLProcessor.from_pretrained(str(folder / "processor"), local_files_only=True)
    text = made.prompt_template_encode.format(INSTRUCTION)
    inputs = processor(text=[text], images=Image.new("RGB", (800, 1312)), return_tensors="pt")
    ids = inputs["input_ids"][0].tolist()
    # The processor spells the image out as one token per 2x2 merged patch of the vision tower.
    image_tokens = int(inputs["image_grid_thw"].prod()) // 4
    assert inputs["pixel_values"].shape[-1] == made.text_encoder.config.vision_config.patch_size**2 * 3 * 2
    # The pipeline drops the states of the template's first 64 tokens: its system turn and the user turn's opening,
    # keeping the image's tokens and the instruction.
    kept = processor.tokenizer.decode(ids[made.prompt_template_encode_start_idx :])
    assert kept == (
        f"<|vision_start|>{'<|image_pad|>' * image_tokens}<|vision_end|>{INSTRUCTION}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_an_edit_is_planned_recorded_reproduced_and_follows_its_instruction(tiny, run_jobs):
    brief = make_brief()
    shot = version_import(brief=brief, source=_pattern())
    params = _edit(tiny, brief, shot, params={"batch_size": 1}).batches.get().derivation.params
    # The init's own size (it is under the megapixel), QwenImageEditPipeline's 50 steps at true CFG 4.
    assert (params["width"], params["height"]) == (48, 80)
    assert (params["sampler"], params["steps"], params["cfg"], params["prompt_syntax"]) == (
        "flow_euler",
        50,
        4.0,
        "plain",
    )
    assert "distilled_cfg" not in params and "strength" not in params

    with run_jobs():
        warmer = _edit(tiny, brief, shot)
        night = _edit(tiny, brief, shot, prompt_text="turn it to night")
    derivation, version = _output(warmer)
    assert derivation.op == "instruct_edit"
    assert derivation.used.get(role=Used.Role.INIT_IMAGE).version == shot
    assert derivation.used.get(role=Used.Role.BASE_MODEL).model_weights == tiny["qwen_image_edit"]
    assert (version.width, version.height) == (48, 80)
    lines = _infotext(version).splitlines()
    assert lines[0] == INSTRUCTION
    assert "Steps: 3, Sampler: Euler, Schedule type: Simple, CFG scale: 4, Seed: 7, Size: 48x80" in lines[-1]
    assert "Distilled CFG Scale" not in lines[-1] and "Denoising strength" not in lines[-1]
    assert f"Model: {tiny['qwen_image_edit'].name}" in lines[-1]
    assert np.abs(_pixels(version) - _pixels(_output(night)[1])).mean() > 1, "the instruction did not change the edit"
    assert version_reproduce(version=version).verdict == "bit_identical"


def test_the_init_image_and_cfg_each_reach_the_edit(tiny, run_jobs):
    """The pipeline runs true CFG only with a negative prompt: a recipe without one runs with Qwen's " ", so cfg 1 and
    the default 4 paint different edits."""
    brief = make_brief()
    shot, other_shot = (version_import(brief=brief, source=_pattern(seed=seed)) for seed in (1, 2))
    with run_jobs():
        plain = _edit(tiny, brief, shot)
        other_init = _edit(tiny, brief, other_shot)
        no_cfg = _edit(tiny, brief, shot, params={**FAST, "cfg": 1.0})
    pixels = _pixels(_output(plain)[1])
    assert np.abs(_pixels(_output(other_init)[1]) - pixels).mean() > 1, "the init image did not reach the model"
    assert np.abs(_pixels(_output(no_cfg)[1]) - pixels).mean() > 1, "cfg did not steer the edit"


def test_a_large_init_is_edited_at_the_megapixel_in_multiples_of_16(tiny):
    brief = make_brief()
    shot = version_import(brief=brief, source=image_file(size=(1600, 1200)))
    params = _edit(tiny, brief, shot, params={"batch_size": 1}).batches.get().derivation.params
    assert (params["width"], params["height"]) == (1184, 880)


def _qwen_image_lora(*, tiny_files, path) -> ModelWeights:
    """A LoRA made for Qwen-Image, as trainers save one: random peft layers over its transformer's attention."""
    import torch
    from diffusers import QwenImagePipeline, QwenImageTransformer2DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(23)
    transformer = QwenImageTransformer2DModel.from_pretrained(str(tiny_files["qwen_image"] / "transformer"))
    targets = ["to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "add_k_proj", "add_v_proj", "to_add_out"]
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, target_modules=targets, init_lora_weights=False))
    QwenImagePipeline.save_lora_weights(
        str(path.parent),
        transformer_lora_layers=get_peft_model_state_dict(transformer),
        weight_name=path.name,
        safe_serialization=True,
    )
    weights, _ = model_weights_register(
        path=path, kind=ModelWeights.Kind.LORA, name="QwenInkStyle", architecture=ModelWeights.Architecture.QWEN_IMAGE
    )
    return weights


def test_a_qwen_image_lora_runs_on_the_edit_and_an_sd_lora_is_refused(tiny, tiny_files, run_jobs, tmp_path):
    lora = _qwen_image_lora(tiny_files=tiny_files, path=tmp_path / "qwen-ink.safetensors")
    brief = make_brief()
    shot = version_import(brief=brief, source=_pattern())
    with run_jobs():
        styled = _edit(tiny, brief, shot, loras=(LoraSpec(weights=lora, weight=1.0),))
        plain = _edit(tiny, brief, shot)
    derivation, version = _output(styled)
    assert derivation.used.get(role=Used.Role.LORA).model_weights == lora
    assert np.abs(_pixels(version) - _pixels(_output(plain)[1])).mean() > 0.5, "the LoRA did not change the edit"
    assert version_reproduce(version=version).verdict == "bit_identical"
    with pytest.raises(ApplicationError, match="is for Stable Diffusion 1.x"):
        _edit(tiny, brief, shot, loras=(LoraSpec(weights=tiny["lora_a"]),))


@pytest.mark.parametrize(
    ("op", "base", "with_init", "params", "words"),
    [
        ("instruct_edit", "qwen_image", True, {}, "instruct_edit does not run on"),
        ("txt2img", "qwen_image_edit", False, {}, "txt2img does not run on"),
        ("img2img", "qwen_image_edit", True, {}, "img2img does not run on"),
        ("instruct_edit", "qwen_image_edit", False, {}, "instruct_edit needs an init image"),
        ("instruct_edit", "qwen_image_edit", True, {"distilled_cfg": 2.5}, "no distilled guidance"),
        ("instruct_edit", "qwen_image_edit", True, {"width": 40}, "multiples of 16"),
    ],
    ids=["edit-on-qwen-image", "txt2img", "img2img", "no-init", "distilled-cfg", "size"],
)
def test_what_qwen_image_edit_cannot_run_is_refused_with_nothing_written(
    tiny, run_jobs, media_root, op, base, with_init, params, words
):
    brief = make_brief()
    shot = version_import(brief=brief, source=_pattern())
    before = (files_under(media_root), Blob.objects.count(), Derivation.objects.count(), GenerationJob.objects.count())
    with run_jobs(), pytest.raises(ApplicationError, match=words):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op=op,
                base_model=tiny[base],
                init=shot if with_init else None,
                prompt_text=INSTRUCTION,
                params={**FAST, **params},
            )
        )
    after = (files_under(media_root), Blob.objects.count(), Derivation.objects.count(), GenerationJob.objects.count())
    assert after == before
