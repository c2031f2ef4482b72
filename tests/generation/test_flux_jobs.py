"""FLUX.1 jobs through the worker: the template studios publish, with its inline LoRA and --ar, on a tiny FLUX."""

import numpy as np
import pytest
from PIL import Image

from assets.errors import ApplicationError
from assets.models import Used
from assets.services.blobs import blob_open
from assets.services.prompts import prompt_template_create
from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest
from generation.services.jobs import generation_job_create
from tests.factories import make_brief

pytestmark = pytest.mark.django_db

TEMPLATE = (
    "<lora:FluxPortraitTrainer:1>, {subject}, {camera action}, rich {lighting adjective} light, brand colours "
    "weaving through scene, shallow depth, 35 mm DSLR, f/2.2 --ar 9:16"
)
FAST = {"steps": 3, "width": 48, "height": 80, "seed": 21, "batch_size": 1}


def _pixels(version) -> np.ndarray:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _job(tiny, brief, **request):
    return generation_job_create(
        request=GenerationRequest(brief=brief, op="txt2img", base_model=tiny["flux"], **request)
    )


def _output(job):
    [batch] = job.batches.all()
    derivation = batch.derivation
    assert derivation.state == "succeeded", derivation.error
    return derivation, derivation.generated.get().version


def test_the_published_flux_template_generates_with_its_lora_and_distilled_guidance(tiny, run_jobs):
    brief = make_brief()
    template = prompt_template_create(brief=brief, name="FLUX portrait", text=TEMPLATE, negative_text="")
    values = {"subject": "a runner", "camera action": "low tracking shot", "lighting adjective": "amber"}
    planned = _job(tiny, brief, template=template, values_grid=values, params={"batch_size": 1})
    [batch] = planned.batches.all()
    params = batch.derivation.params
    assert (params["width"], params["height"]) == (768, 1360)  # 9:16 near a megapixel, in multiples of 16
    assert (params["sampler"], params["steps"], params["cfg"], params["distilled_cfg"]) == ("flow_euler", 28, 1.0, 3.5)
    assert params["prompt_syntax"] == "plain"

    with run_jobs():
        tagged = _job(tiny, brief, template=template, values_grid=values, params=FAST)
        plain = _job(
            tiny,
            brief,
            prompt_text=TEMPLATE.replace("<lora:FluxPortraitTrainer:1>, ", "").format(**values),
            negative_prompt="",
            params=FAST,
        )
    derivation, version = _output(tagged)
    assert [(edge.model_weights_id, edge.weight) for edge in derivation.used.filter(role=Used.Role.LORA)] == [
        (tiny["lora_flux"].pk, 1.0)
    ]
    assert (version.width, version.height) == (48, 80)
    _, without = _output(plain)
    assert np.abs(_pixels(version) - _pixels(without)).mean() > 0.5, "the LoRA did not change the picture"

    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        infotext = image.info["parameters"]
    first, settings = infotext.splitlines()[0], infotext.splitlines()[-1]
    assert first.endswith("f/2.2 <lora:FluxPortraitTrainer:1>") and "--ar" not in first
    assert "Sampler: Euler, Schedule type: Simple, CFG scale: 1, Distilled CFG Scale: 3.5" in settings
    assert version_reproduce(version=version).verdict == "bit_identical"


def test_distilled_guidance_steers_the_picture_and_is_recorded(tiny, run_jobs):
    brief = make_brief()
    with run_jobs():
        low = _job(tiny, brief, prompt_text="a red kite", params={**FAST, "distilled_cfg": 1.0})
        high = _job(tiny, brief, prompt_text="a red kite", params={**FAST, "distilled_cfg": 6.0})
    (first, a), (second, b) = _output(low), _output(high)
    assert (first.params["distilled_cfg"], second.params["distilled_cfg"]) == (1.0, 6.0)
    assert a.blob_id != b.blob_id


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"sampler": "dpmpp_2m_karras"}, "flow-matching sampler"),
        ({"width": 40, "height": 80}, "multiples of 16"),
        ({"hires_scale": 1.5}, "hi-res fix"),
        ({"prompt_syntax": "a1111"}, "A1111's prompt syntax"),
    ],
)
def test_what_flux_cannot_run_is_refused_before_anything_is_written(tiny, params, words):
    with pytest.raises(ApplicationError, match=words):
        _job(tiny, make_brief(), prompt_text="a kite", params={**FAST, **params})


def test_an_sd_lora_or_distilled_guidance_on_sd_is_refused(tiny):
    brief = make_brief()
    with pytest.raises(ApplicationError, match="is for Stable Diffusion 1.x"):
        _job(tiny, brief, prompt_text=f"a kite <lora:{tiny['lora_a'].sha256[:10]}:0.5>", params=FAST)
    with pytest.raises(ApplicationError, match="no distilled guidance"):
        generation_job_create(
            request=GenerationRequest(
                brief=brief,
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a kite",
                params={"steps": 2, "width": 64, "height": 64, "distilled_cfg": 3.5},
            )
        )
    with pytest.raises(ApplicationError, match="inpaint does not run on"):
        generation_job_create(
            request=GenerationRequest(
                brief=brief, op="inpaint", base_model=tiny["flux"], prompt_text="hands", params=FAST
            )
        )


def test_a_forge_flux_png_imported_elsewhere_regenerates_to_the_same_bytes(tiny, run_jobs):
    from django.core.files.base import ContentFile

    from assets.models import Version
    from assets.services.recipe_imports import images_import
    from generation.services.imported import imported_regenerate

    with run_jobs():
        job = _job(
            tiny,
            make_brief(),
            prompt_text="<lora:FluxPortraitTrainer:0.6> a red kite over dunes",
            negative_prompt="",
            params={**FAST, "distilled_cfg": 2.5},
        )
    _, made = _output(job)
    with blob_open(blob=made.blob) as handle:
        data = handle.read()
    [report] = images_import(brief=make_brief(client_name="Elsewhere"), sources=[ContentFile(data, name="forge.png")])
    imported = Version.objects.get(pk=report["version"])
    params = imported.generated_by.derivation.params
    assert (params["sampler"], params["distilled_cfg"], params["cfg"]) == ("flow_euler", 2.5, 1.0)
    with run_jobs():
        again = imported_regenerate(version=imported)
    derivation, version = _output(again)
    assert [(edge.model_weights_id, edge.weight) for edge in derivation.used.filter(role=Used.Role.LORA)] == [
        (tiny["lora_flux"].pk, 0.6)
    ]
    assert version.blob_id == imported.blob_id  # the very same bytes, infotext included


def test_a_flux_recipe_goes_to_comfyui_as_its_flux_graph_and_comes_back(tiny, run_jobs):
    import io
    import json

    from django.core.files.base import ContentFile
    from PIL import PngImagePlugin

    from assets.models import Version
    from assets.services.recipe_imports import images_import
    from generation.comfyui import comfyui_workflow
    from generation.services.imported import imported_regenerate

    with run_jobs():
        job = _job(
            tiny,
            make_brief(),
            prompt_text="a red kite over dunes <lora:FluxPortraitTrainer:0.8>",
            negative_prompt="",
            params={**FAST, "distilled_cfg": 4.0},
        )
    _, made = _output(job)
    graph = comfyui_workflow(version=made)
    kinds = {node["class_type"]: node["inputs"] for node in graph.values()}
    assert kinds["UNETLoader"]["unet_name"] == f"{tiny['flux'].name}.safetensors"
    assert kinds["DualCLIPLoader"]["type"] == "flux" and kinds["FluxGuidance"]["guidance"] == 4.0
    assert (kinds["KSampler"]["sampler_name"], kinds["KSampler"]["scheduler"], kinds["KSampler"]["cfg"]) == (
        "euler",
        "simple",
        1.0,
    )
    assert kinds["LoraLoader"]["lora_name"] == "FluxPortraitTrainer.safetensors"
    assert kinds["EmptySD3LatentImage"]["width"] == 48 and "CheckpointLoaderSimple" not in kinds
    assert kinds["CLIPTextEncode"]["text"] in ("a red kite over dunes", "")

    # The graph as ComfyUI saves it into its PNGs, read back by the import.
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", json.dumps(graph))
    buffer = io.BytesIO()
    Image.new("RGB", (48, 80), (90, 40, 20)).save(buffer, format="PNG", pnginfo=info)
    [report] = images_import(
        brief=make_brief(client_name="Comfy studio"), sources=[ContentFile(buffer.getvalue(), name="comfy.png")]
    )
    imported = Version.objects.get(pk=report["version"])
    params = imported.generated_by.derivation.params
    assert (params["generator"], params["sampler"], params["distilled_cfg"]) == ("comfyui", "flow_euler", 4.0)
    with run_jobs():
        again = imported_regenerate(version=imported)
    _, regenerated = _output(again)
    assert regenerated.blob_id == made.blob_id  # the same recipe, made again here


def test_the_admin_job_form_leaves_the_defaults_to_the_models_architecture(tiny, run_jobs):
    from django.test import Client
    from django.urls import reverse

    from generation.models import GenerationJob
    from review.roles import PRODUCER
    from tests.factories import member

    brief = make_brief()
    browser = Client()
    browser.force_login(member("paula", PRODUCER))
    with run_jobs():
        response = browser.post(
            reverse("admin:generation_generationjob_add"),
            {
                "brief": brief.pk,
                "op": "txt2img",
                "prompt": "<lora:FluxPortraitTrainer:0.5> a kite --ar 3:5",
                "base_model": tiny["flux"].pk,
                "steps": 2,
                "batch_size": 1,
                "width": 48,
                "height": 80,
            },
        )
    assert response.status_code == 302, response.content.decode()[-3000:]
    derivation, _ = _output(GenerationJob.objects.get(brief=brief))
    assert (derivation.params["sampler"], derivation.params["cfg"], derivation.params["distilled_cfg"]) == (
        "flow_euler",
        1.0,
        3.5,
    )
    assert derivation.used.get(role=Used.Role.LORA).weight == 0.5


def test_a_flux_controlnet_holds_the_picture_to_the_control_images_edges(tiny, run_jobs):
    import io

    from django.core.files.base import ContentFile
    from PIL import ImageDraw

    from assets.services.briefs import reference_create

    drawing = Image.new("RGB", (96, 160), (255, 255, 255))
    ImageDraw.Draw(drawing).rectangle((20, 30, 70, 120), outline=(0, 0, 0), width=4)
    buffer = io.BytesIO()
    drawing.save(buffer, format="PNG")
    brief = make_brief()
    control = reference_create(brief=brief, source=ContentFile(buffer.getvalue(), name="edges.png"), title="edges")
    request = {"brief": brief, "base_model": tiny["flux"], "prompt_text": "a red kite", "negative_prompt": ""}
    with run_jobs():
        free = generation_job_create(request=GenerationRequest(op="txt2img", params=FAST, **request))
        held = generation_job_create(
            request=GenerationRequest(
                op="controlnet",
                control=control,
                controlnet=tiny["controlnet_flux"],
                params={**FAST, "control_type": "canny", "conditioning_scale": 1.0},
                **request,
            )
        )
    (_, plain), (derivation, version) = _output(free), _output(held)
    assert derivation.used.get(role=Used.Role.CONTROLNET).model_weights_id == tiny["controlnet_flux"].pk
    assert np.abs(_pixels(version) - _pixels(plain)).mean() > 0.5, "the ControlNet did not steer the picture"
    assert version_reproduce(version=version).verdict == "bit_identical"
    with pytest.raises(ApplicationError, match="ControlNet .* is for Stable Diffusion 1.x"):
        generation_job_create(
            request=GenerationRequest(
                op="controlnet",
                control=control,
                controlnet=tiny["controlnet"],
                params={**FAST, "control_type": "canny", "conditioning_scale": 1.0},
                **request,
            )
        )


def test_redux_image_prompts_colour_lock_and_style_a_flux_picture(tiny, run_jobs):
    from assets.services.briefs import reference_create
    from generation.requests import ImagePrompt
    from tests.factories import image_file

    brief = make_brief()
    style = reference_create(brief=brief, source=image_file("mood.png", colour=(20, 160, 90)), title="mood")
    request = {"brief": brief, "base_model": tiny["flux"], "prompt_text": "a red kite", "negative_prompt": ""}
    redux = ImagePrompt(
        adapter=tiny["redux_flux"], encoder=tiny["siglip"], colour_lock=True, references=(style,), scale=0.8
    )
    with run_jobs():
        plain = generation_job_create(request=GenerationRequest(op="txt2img", params=FAST, **request))
        steered = generation_job_create(
            request=GenerationRequest(op="txt2img", params=FAST, image_prompt=redux, **request)
        )
    (_, without), (derivation, version) = _output(plain), _output(steered)
    roles = set(derivation.used.values_list("role", flat=True))
    assert {"ip_adapter", "image_encoder", "guide_image", "reference"} <= roles
    assert derivation.params["ip_adapter_scale"] == 0.8
    assert np.abs(_pixels(version) - _pixels(without)).mean() > 0.5, "the image prompts did not steer the picture"
    assert version_reproduce(version=version).verdict == "bit_identical"
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        assert "Module: flux_redux" in image.info["parameters"]
    sd_adapter = ImagePrompt(adapter=tiny["ip_adapter"], encoder=tiny["image_encoder"], colour_lock=True)
    with pytest.raises(ApplicationError, match="IP-Adapter .* is for Stable Diffusion 1.x"):
        generation_job_create(request=GenerationRequest(op="txt2img", params=FAST, image_prompt=sd_adapter, **request))


def test_flux_class_models_load_in_bfloat16_on_a_gpu_and_the_fingerprint_says_so(tiny):
    from generation.architectures import model_dtype
    from generation.transformer_files import base_environment

    assert model_dtype(device="cuda", default="float16", architecture=tiny["flux"].architecture) == "bfloat16"
    assert model_dtype(device="cuda", default="float16", architecture=tiny["base"].architecture) == "float16"
    assert model_dtype(device="cpu", default="float32", architecture=tiny["flux"].architecture) == "float32"
    # Recorded with every run on a GPU, so a reproduction in float16 would be named; nothing changes on a CPU.
    assert base_environment(weights=tiny["flux"], device="cuda") == {"dtype": "bfloat16"}
    assert base_environment(weights=tiny["flux"], device="cpu") == {}
    assert base_environment(weights=tiny["base"], device="cuda") == {}


def test_a_kohya_flux_lora_registers_as_flux_and_attaches_from_its_tag(tiny, run_jobs, tmp_path):
    """A LoRA as kohya's sd-scripts save FLUX ones (lora_unet_double_blocks_N_img_attn_qkv, lora_down/lora_up, alpha):
    detected as FLUX.1 from its keys, converted by diffusers on load."""
    import torch
    from safetensors.torch import save_file

    from assets.services.weights import model_weights_register

    width, rank = 32, 4  # the tiny FLUX's attention width
    generator = torch.Generator().manual_seed(31)
    state = {}
    for layer, outputs in (("img_attn_qkv", 3 * width), ("img_attn_proj", width)):
        key = f"lora_unet_double_blocks_0_{layer}"
        state[f"{key}.lora_down.weight"] = torch.randn(rank, width, generator=generator)
        state[f"{key}.lora_up.weight"] = torch.randn(outputs, rank, generator=generator) * 0.5
        state[f"{key}.alpha"] = torch.tensor(float(rank))
    path = tmp_path / "kohya_flux_style.safetensors"
    save_file(state, str(path))
    lora, _ = model_weights_register(path=path, kind="lora", name="KohyaFluxStyle", source_name=path.name)
    assert lora.architecture == "flux1"
    brief = make_brief()
    with run_jobs():
        tagged = _job(tiny, brief, prompt_text="a red kite <lora:kohya_flux_style:1>", negative_prompt="", params=FAST)
        plain = _job(tiny, brief, prompt_text="a red kite", negative_prompt="", params=FAST)
    (derivation, version), (_, without) = _output(tagged), _output(plain)
    assert derivation.used.get(role=Used.Role.LORA).model_weights_id == lora.pk
    assert np.abs(_pixels(version) - _pixels(without)).mean() > 0.5, "the kohya LoRA did not change the picture"
