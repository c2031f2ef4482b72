"""FLUX.1 in the registry and the loader: its files are told apart from SD's, and a registered diffusers folder loads
as a FluxPipeline through the worker's cache and paints the pixels pinned here, as test_pinned_pixels pins SD's.
"""

import json

import numpy as np
import pytest
from django.conf import settings
from safetensors.numpy import save_file

from assets.errors import ApplicationError
from assets.model_files import model_files_read
from assets.models import ModelWeights
from assets.services.weights import model_weights_register
from generation.environment import torch_threads_pinned
from generation.loader import PipelineCache, Placement
from tests.generation.test_pinned_pixels import _assert_slice

pytestmark = pytest.mark.django_db

FLUX1 = ModelWeights.Architecture.FLUX1
PROMPT = "a red can on a roof"


@pytest.fixture
def flux(tiny_files):
    """The tiny FLUX.1 folder registered with no architecture given: the registry reads it from the files."""
    weights, _ = model_weights_register(path=tiny_files["flux"], kind="base", name="Tiny FLUX.1 (random weights)")
    return weights


def _paint(pipeline, **kwargs) -> np.ndarray:
    import torch

    arguments = {"prompt": PROMPT, "height": 64, "width": 64, "num_inference_steps": 4, "guidance_scale": 3.5}
    with torch_threads_pinned(threads=settings.SEED_TORCH_THREADS):
        image = pipeline(**(arguments | kwargs), generator=torch.Generator("cpu").manual_seed(42)).images[0]
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def test_a_flux_diffusers_folder_registers_as_flux1(flux):
    assert flux.architecture == FLUX1 and flux.format == ModelWeights.Format.DIFFUSERS
    assert {"model_index.json", "transformer/config.json", "text_encoder_2/config.json"} <= set(flux.files)
    # T5's tokenizer is made in code and saved whole; nothing about it is fetched when the folder loads.
    assert "tokenizer_2/tokenizer.json" in flux.files


def test_a_registered_flux_model_loads_once_and_paints_the_pinned_pixels(flux):
    cache = PipelineCache(placement=Placement(device="cpu", dtype_name="float32"))
    pipeline = cache.base(weights=flux)
    assert type(pipeline).__name__ == "FluxPipeline"
    assert cache.base(weights=flux) is pipeline and cache.loads == 1
    assert pipeline.vae.config.latent_channels * 4 == pipeline.transformer.config.in_channels == 64

    pixels = _paint(pipeline)
    assert pixels.shape == (64, 64, 3) and pixels.std() > 10
    _assert_slice(pixels, FLUX_CORNER)
    assert np.array_equal(_paint(pipeline), pixels)
    # Each conditioning reaches the image: CLIP reads `prompt`, T5 `prompt_2` (the same text unless given), and
    # FLUX.1-dev takes its distilled guidance as an input of the transformer.
    assert np.abs(_paint(pipeline, prompt_2="a blue can") - pixels).mean() > 1
    assert np.abs(_paint(pipeline, prompt="a blue can", prompt_2=PROMPT) - pixels).mean() > 5
    assert np.abs(_paint(pipeline, guidance_scale=1.0) - pixels).mean() > 5


def test_the_t5_tokenizer_comes_back_from_the_folder_as_it_was_made(flux):
    from generation.tiny_flux import tiny_flux_pipeline

    loaded = PipelineCache(placement=Placement(device="cpu", dtype_name="float32")).base(weights=flux).tokenizer_2
    made = tiny_flux_pipeline(seed=12).tokenizer_2
    assert (loaded.pad_token_id, loaded.eos_token_id, loaded.unk_token_id) == (0, 1, 2)
    assert loaded.model_max_length == 512
    ids = loaded(f"{PROMPT}, golden-hour").input_ids
    assert ids == made(f"{PROMPT}, golden-hour").input_ids and ids[-1] == loaded.eos_token_id
    assert loaded.unk_token_id not in ids
    assert loaded.decode(ids, skip_special_tokens=True) == f"{PROMPT}, golden-hour"


def _keys_file(tmp_path, keys: list[str], name: str = "model.safetensors"):
    path = tmp_path / name
    save_file({key: np.zeros((2, 2), dtype=np.float32) for key in keys}, str(path))
    return path


@pytest.mark.parametrize(
    "keys",
    [
        # Black Forest Labs' own release layout, and the same under the prefix of all-in-one checkpoints.
        ["double_blocks.0.img_attn.qkv.weight", "single_blocks.0.linear1.weight", "img_in.weight"],
        [
            "model.diffusion_model.double_blocks.0.img_attn.qkv.weight",
            "model.diffusion_model.single_blocks.0.linear1.weight",
        ],
        # diffusers' FluxTransformer2DModel saved as one file.
        ["transformer_blocks.0.attn.add_q_proj.weight", "single_transformer_blocks.0.attn.to_q.weight"],
    ],
    ids=["bfl", "bfl-prefixed", "diffusers"],
)
def test_flux_single_files_are_told_by_their_blocks(tmp_path, keys):
    assert model_files_read(path=_keys_file(tmp_path, keys)).detected == FLUX1


@pytest.mark.parametrize(
    "keys",
    [
        # kohya sd-scripts (flux_train_network), with its CLIP-L text encoder LoRA beside it.
        [
            "lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight",
            "lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha",
        ],
        ["lora_unet_single_blocks_0_linear1.lora_up.weight"],
        # ai-toolkit and diffusers' training scripts.
        ["transformer.single_transformer_blocks.0.attn.to_q.lora_A.weight"],
        [
            "transformer.transformer_blocks.0.attn.add_q_proj.lora_B.weight",
            "transformer.single_transformer_blocks.0.proj_out.lora_A.weight",
        ],
    ],
    ids=["kohya-double", "kohya-single", "diffusers-single", "diffusers-both"],
)
def test_flux_loras_register_as_flux1(tmp_path, keys):
    lora, _ = model_weights_register(path=_keys_file(tmp_path, keys, "style.safetensors"), kind="lora", name="style")
    assert lora.architecture == FLUX1


@pytest.mark.parametrize(
    ("keys", "architecture"),
    [
        (["model.diffusion_model.input_blocks.0.0.weight"], ModelWeights.Architecture.SD15),
        (["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"], ModelWeights.Architecture.SD15),
        (
            ["conditioner.embedders.1.model.ln_final.weight", "model.diffusion_model.input_blocks.0.0.weight"],
            ModelWeights.Architecture.SDXL,
        ),
        (
            ["unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight"],
            ModelWeights.Architecture.SD15,
        ),
        # SD3's joint blocks look like FLUX's double-stream ones in diffusers' names: left for a person to name.
        (["transformer.transformer_blocks.0.attn.add_q_proj.lora_A.weight"], None),
    ],
    ids=["sd15", "sd15-kohya-lora", "sdxl", "sd15-diffusers-lora", "sd3-lora"],
)
def test_other_layouts_are_not_taken_for_flux(tmp_path, keys, architecture):
    assert model_files_read(path=_keys_file(tmp_path, keys)).detected == architecture


@pytest.mark.parametrize(
    ("config_name", "config"),
    [
        (
            "model_index.json",
            {"_class_name": "FluxPipeline", "transformer": ["diffusers", "FluxTransformer2DModel"]},
        ),
        ("model_index.json", {"_class_name": "StudioPipeline", "transformer": ["diffusers", "FluxTransformer2DModel"]}),
        ("config.json", {"_class_name": "FluxTransformer2DModel", "in_channels": 64}),
        ("config.json", {"_class_name": "FluxControlNetModel", "in_channels": 64}),
    ],
    ids=["flux-pipeline", "custom-pipeline", "transformer", "controlnet"],
)
def test_flux_folders_are_told_by_their_configs(tmp_path, config_name, config):
    (tmp_path / config_name).write_text(json.dumps(config))
    save_file({"weight": np.zeros((2, 2), dtype=np.float32)}, str(tmp_path / "diffusion_pytorch_model.safetensors"))
    assert model_files_read(path=tmp_path).detected == FLUX1


def test_a_flux_single_file_registers_but_the_loader_asks_for_its_config(tmp_path):
    path = _keys_file(tmp_path, ["double_blocks.0.img_attn.qkv.weight", "single_blocks.0.linear1.weight"])
    weights, _ = model_weights_register(path=path, kind="base", name="FLUX.1 dev fine-tune")
    assert weights.architecture == FLUX1
    cache = PipelineCache(placement=Placement(device="cpu", dtype_name="float32"))
    # The file is the transformer alone (test_flux_quantised loads one with its config).
    with pytest.raises(ApplicationError, match="register it with --config FOLDER") as raised:
        cache.base(weights=weights)
    assert raised.value.extra["code"] == "missing_config" and not cache.entries


# Pinned for diffusers 0.42.1, transformers 5.23 and torch 2.14 (see test_pinned_pixels).
FLUX_CORNER = [
    [[133, 101, 153], [142, 155, 106], [137, 137, 114]],
    [[173, 105, 112], [148, 123, 145], [136, 105, 142]],
    [[123, 94, 143], [176, 93, 123], [150, 117, 124]],
]
