"""FLUX.1 as studios download it: the transformer alone, as one .safetensors file or quantised to GGUF Q8_0 as city96
publishes it, registered with the model's diffusers folder as its config and run through the worker."""

import numpy as np
import pytest
from PIL import Image

from assets.errors import ApplicationError
from assets.model_files import model_files_read
from assets.models import ModelWeights
from assets.services.blobs import blob_open
from assets.services.weights import model_weights_register
from generation.loader import PipelineCache, Placement
from generation.reproduce import version_reproduce
from generation.requests import GenerationRequest
from generation.services.jobs import generation_job_create
from tests.factories import make_brief

pytestmark = pytest.mark.django_db

FLUX1 = ModelWeights.Architecture.FLUX1
FAST = {"steps": 3, "width": 48, "height": 80, "seed": 21, "batch_size": 1}


@pytest.fixture(scope="module")
def flux_files(tiny_files, tmp_path_factory):
    """The tiny FLUX.1's transformer as one .safetensors and as GGUF Q8_0, and its folder without the transformer's
    weights as their config."""
    from diffusers import FluxTransformer2DModel

    from generation.transformer_files_write import (
        flux_config_write,
        transformer_gguf_write,
        transformer_safetensors_write,
    )

    folder = tmp_path_factory.mktemp("flux-files")
    transformer = FluxTransformer2DModel.from_pretrained(str(tiny_files["flux"] / "transformer"))
    return {
        "safetensors": transformer_safetensors_write(transformer=transformer, path=folder / "flux1-tiny.safetensors"),
        "gguf": transformer_gguf_write(transformer=transformer, path=folder / "flux1-tiny-Q8_0.gguf"),
        "config": flux_config_write(source=tiny_files["flux"], path=folder / "FLUX.1-tiny"),
    }


def _register(flux_files, file: str, **kwargs) -> ModelWeights:
    weights, created = model_weights_register(
        path=flux_files[file], kind="base", name=f"Tiny FLUX.1 {file}", config=flux_files["config"], **kwargs
    )
    assert created
    return weights


def _job(brief, base, prompt="a red kite over the bay"):
    return generation_job_create(
        request=GenerationRequest(brief=brief, op="txt2img", base_model=base, prompt_text=prompt, params=FAST)
    )


def _output(job):
    [batch] = job.batches.all()
    derivation = batch.derivation
    assert derivation.state == "succeeded", derivation.error
    return derivation, derivation.generated.get().version


def _pixels(version) -> np.ndarray:
    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def _counts(header: dict) -> tuple[int, int]:
    """The weight matrices and the 1-D tensors of a transformer file."""
    matrices = sum(len(entry["shape"]) > 1 for entry in header.values())
    return matrices, len(header) - matrices


def test_gguf_and_single_file_flux_transformers_register_as_flux1_with_their_config(flux_files):
    gguf = _register(flux_files, "gguf")
    single = _register(flux_files, "safetensors")
    assert (gguf.architecture, gguf.format) == (FLUX1, ModelWeights.Format.GGUF)
    assert (single.architecture, single.format) == (FLUX1, ModelWeights.Format.SAFETENSORS)
    for weights in (gguf, single):
        assert {
            "config/model_index.json",
            "config/transformer/config.json",
            "config/text_encoder_2/config.json",
        } <= set(weights.files)
        assert not any(name.startswith("config/transformer/diffusion_pytorch_model") for name in weights.files)
    # Every weight matrix is Q8_0 and every 1-D tensor F32, as the registry shows it.
    header = model_files_read(path=flux_files["gguf"]).header
    assert {(len(entry["shape"]), entry["dtype"]) for entry in header.values()} == {(1, "F32"), (2, "Q8_0")}
    matrices, vectors = _counts(header)
    assert (matrices, vectors) == (30, 36)  # the tiny transformer has more biases and norm scales than matrices
    assert gguf.notes == "GGUF tensor types: F32 ×36, Q8_0 ×30" and not single.notes
    assert header["x_embedder.weight"]["shape"] == [32, 64]  # torch's order, not ggml's


def test_a_gguf_flux_job_runs_close_to_the_unquantised_model_and_reproduces(tiny, flux_files, run_jobs):
    gguf = _register(flux_files, "gguf")
    single = _register(flux_files, "safetensors")
    brief = make_brief()
    with run_jobs():
        quantised_job = _job(brief, gguf)
        single_job = _job(brief, single)
        folder_job = _job(brief, tiny["flux"])
    derivation, quantised = _output(quantised_job)
    _, from_file = _output(single_job)
    folder_derivation, unquantised = _output(folder_job)

    # The .safetensors transformer is the folder's own weights: the same pixels (the PNGs name their models). Q8_0
    # rounds each weight to one of 256 steps of its block's scale: close to them, never the same.
    assert np.array_equal(_pixels(from_file), _pixels(unquantised))
    difference = np.abs(_pixels(quantised) - _pixels(unquantised))
    assert 0 < difference.mean() < 2, difference.mean()

    matrices, vectors = _counts(model_files_read(path=flux_files["gguf"]).header)
    assert derivation.environment["quantisation"] == {
        "format": "gguf",
        "tensor_types": {"Q8_0": matrices, "F32": vectors},
        "cuda_kernels": False,
    }
    assert "quantisation" not in folder_derivation.environment
    assert "cpu_offload" not in derivation.environment  # off, and on CPU it changes nothing

    reproduction = version_reproduce(version=quantised)
    assert reproduction.verdict == "bit_identical" and reproduction.fingerprint_diff == []


def test_a_change_of_how_a_gguf_base_runs_is_named(flux_files):
    from generation.environment import environment_fingerprint, fingerprint_diff

    gguf = _register(flux_files, "gguf")
    current = environment_fingerprint(device="cpu", dtype="float32", base=gguf)
    # Made where diffusers dequantised with llama.cpp's CUDA kernels, on a card that held the model a part at a time.
    recorded = {**current, "quantisation": {**current["quantisation"], "cuda_kernels": True}, "cpu_offload": True}
    assert fingerprint_diff(recorded=recorded, current=current) == [
        {"field": "cpu_offload", "recorded": True, "current": None},
        {"field": "quantisation.cuda_kernels", "recorded": True, "current": False},
    ]
    # The same model's folder, or a run before this was recorded, ran unquantised.
    unquantised = environment_fingerprint(device="cpu", dtype="float32")
    assert {item["field"] for item in fingerprint_diff(recorded=current, current=unquantised)} == {
        "quantisation.format",
        "quantisation.cuda_kernels",
        "quantisation.tensor_types.Q8_0",
        "quantisation.tensor_types.F32",
    }


def test_a_gguf_that_is_not_a_flux_transformer_is_refused(tmp_path, flux_files):
    import gguf

    path = tmp_path / "llama-3-8b-Q8_0.gguf"
    writer = gguf.GGUFWriter(str(path), arch="llama")
    writer.add_tensor("blk.0.attn_q.weight", np.zeros((4, 32), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ApplicationError, match="not a FLUX.1 transformer") as raised:
        model_weights_register(path=path, kind="base", name="an LLM", config=flux_files["config"])
    assert raised.value.extra["code"] == "unsupported_gguf"
    with pytest.raises(ApplicationError, match="Seed loads GGUF files as FLUX.1 transformers only"):
        model_weights_register(path=flux_files["gguf"], kind="lora", name="not a LoRA")
    (tmp_path / "fake.gguf").write_bytes(b"PK\x03\x04 a zip, renamed")
    with pytest.raises(ApplicationError, match="is not a GGUF file") as raised:
        model_weights_register(path=tmp_path / "fake.gguf", kind="base", name="fake")
    assert raised.value.extra["code"] == "not_gguf"
    assert not ModelWeights.objects.exists()


def test_a_flux_single_file_without_its_config_is_refused(tiny_files, flux_files):
    weights, _ = model_weights_register(path=flux_files["gguf"], kind="base", name="FLUX.1 Q8_0, no config")
    cache = PipelineCache(placement=Placement(device="cpu", dtype_name="float32"))
    with pytest.raises(ApplicationError, match="no local diffusers config for the FLUX.1 checkpoint") as raised:
        cache.base(weights=weights)
    assert raised.value.extra["code"] == "missing_config" and not cache.entries
    # An SD folder is no FLUX.1 config: it has no transformer (nor T5) for the file to join.
    with pytest.raises(ApplicationError, match="holds the transformer alone") as raised:
        model_weights_register(
            path=flux_files["safetensors"], kind="base", name="FLUX.1 with SD's folder", config=tiny_files["base"]
        )
    assert raised.value.extra["code"] == "incomplete_config"
