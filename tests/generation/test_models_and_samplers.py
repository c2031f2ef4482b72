import json

import pytest
from django.core.management import call_command

from assets.models import ModelWeights
from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest, size_for_aspect
from generation.samplers import SAMPLERS, SCHEDULERS
from generation.services.jobs import generation_job_create
from tests.factories import make_brief
from tests.generation.conftest import FAST

pytestmark = pytest.mark.django_db


def test_make_tiny_models_registers_real_formats_idempotently(capsys):
    call_command("make_tiny_models", "--json")
    first = json.loads(capsys.readouterr().out)
    call_command("make_tiny_models", "--json")
    assert json.loads(capsys.readouterr().out) == first
    formats = sorted(ModelWeights.objects.values_list("kind", "format"))
    # SD 1.5, SDXL, FLUX.1 (+ Kontext, Fill), FLUX.2 [klein], SD 3.5 and Qwen-Image folders; the SD single files; a
    # LoRA for SD 1.5 (two), FLUX and SD 3.5; the SD and FLUX ControlNets; IP-Adapter with CLIP, Redux with SigLIP.
    assert formats == [
        *[("base", "diffusers")] * 9,
        *[("base", "safetensors")] * 2,
        *[("controlnet", "diffusers")] * 2,
        *[("image_encoder", "diffusers")] * 2,
        *[("ip_adapter", "safetensors")] * 2,
        *[("lora", "safetensors")] * 4,
        ("matting", "onnx"),
        *[("upscaler", "safetensors")] * 3,
        ("vae", "diffusers"),
    ]
    upscalers = ModelWeights.objects.filter(kind="upscaler")
    assert sorted(upscalers.values_list("architecture", "scale")) == [("compact", 4), ("esrgan", 2), ("esrgan", 4)]
    assert set(ModelWeights.objects.filter(name__contains="SDXL").values_list("architecture", flat=True)) == {"sdxl"}
    assert set(ModelWeights.objects.filter(name__contains="FLUX").values_list("architecture", flat=True)) == {
        "flux1",
        "flux1_kontext",
        "flux1_fill",
        "flux2_klein",
    }
    base = ModelWeights.objects.get(kind="base", format="diffusers", architecture="sd15")
    assert {"model_index.json", "unet/config.json", "tokenizer/tokenizer_config.json"} <= set(base.files)


def test_every_accepted_sampler_has_a_scheduler():
    assert set(SCHEDULERS) == set(SAMPLERS)


@pytest.mark.parametrize("sampler", ["euler_a", "ddim", "dpmpp_sde_karras", "dpmpp_2m_karras"])
def test_samplers_by_name_generate_and_reproduce(tiny, run_jobs, sampler):
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=make_brief(),
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can",
                params={**FAST, "sampler": sampler, "seed": 21, "batch_size": 1},
            ),
        )
    version = job.batches.get().derivation.generated.get().version
    assert version_reproduce(version=version).verdict == "bit_identical"


def test_default_size_follows_the_brief_aspect():
    assert size_for_aspect(aspect=(9, 16), area=512 * 512) == (384, 680)
    assert size_for_aspect(aspect=(1, 1), area=1024 * 1024) == (1024, 1024)


@pytest.mark.parametrize(("folder", "single"), [("base", "base_single"), ("base_xl", "base_xl_single")])
def test_a_single_file_checkpoint_loads_offline_and_paints_the_same_pixels(tiny, run_jobs, folder, single):
    import numpy as np
    from PIL import Image

    from assets.services.blobs import blob_open

    assert tiny[single].format == "safetensors" and tiny[single].blob_id == tiny[single].sha256
    assert any(path.startswith("config/unet/") for path in tiny[single].files)
    assert tiny[single].architecture == tiny[folder].architecture
    brief = make_brief()
    pixels = []
    for base in (tiny[folder], tiny[single]):
        with run_jobs():
            job = generation_job_create(
                request=GenerationRequest(
                    brief=brief,
                    op="txt2img",
                    base_model=base,
                    prompt_text="a can",
                    params={**FAST, "seed": 4, "batch_size": 1},
                ),
            )
        version = job.batches.get().derivation.generated.get().version
        with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
            pixels.append(np.asarray(image.convert("RGB")))
    assert version_reproduce(version=version).verdict == "bit_identical"
    # Same weights either way; the XL text encoders built from a single file may pick another attention kernel.
    assert np.abs(pixels[0].astype(int) - pixels[1].astype(int)).mean() / 255 < 0.01
    if folder == "base":
        assert np.array_equal(pixels[0], pixels[1])


def test_an_sdxl_base_generates_and_reproduces(tiny, run_jobs):
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=make_brief(),
                op="txt2img",
                base_model=tiny["base_xl"],
                prompt_text="a can",
                params={**FAST, "sampler": "euler", "seed": 6, "batch_size": 2},
            ),
        )
    versions = [edge.version for edge in job.batches.get().derivation.generated.order_by("index")]
    assert [v.seed for v in versions] == [6, 7]
    assert version_reproduce(version=versions[1]).verdict == "bit_identical"


def test_a_registered_vae_replaces_the_base_models_own(tiny, run_jobs):
    brief = make_brief()
    made = []
    for vae in (None, tiny["vae"]):
        with run_jobs():
            job = generation_job_create(
                request=GenerationRequest(
                    brief=brief,
                    op="txt2img",
                    base_model=tiny["base"],
                    prompt_text="a can",
                    vae=vae,
                    params={**FAST, "seed": 2, "batch_size": 1},
                ),
            )
        made.append(job.batches.get().derivation.generated.get().version)
    assert made[0].blob_id != made[1].blob_id
    assert made[1].generated_by.derivation.used.filter(role="vae", model_weights=tiny["vae"]).exists()
    assert version_reproduce(version=made[1]).verdict == "bit_identical"
