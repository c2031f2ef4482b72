import json

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from safetensors.numpy import save_file

from assets.errors import ApplicationError
from assets.models import ModelWeights, Used
from assets.selectors import versions_using_model_weights
from assets.services.weights import model_weights_delete, model_weights_register
from tests.factories import derive, make_brief

pytestmark = pytest.mark.django_db


@pytest.fixture
def lora_file(tmp_path):
    path = tmp_path / "style.safetensors"
    save_file({"lora_unet_down_blocks_0.lora_down.weight": np.ones((4, 8), dtype=np.float32)}, str(path))
    return path


@pytest.fixture
def diffusers_folder(tmp_path):
    root = tmp_path / "tiny-sd"
    (root / "unet").mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (root / "unet" / "config.json").write_text(json.dumps({"sample_size": 8}))
    save_file(
        {"conv_in.weight": np.zeros((2, 2), dtype=np.float32)},
        str(root / "unet" / "diffusion_pytorch_model.safetensors"),
    )
    return root


def test_register_file_is_idempotent_by_sha256(lora_file):
    first, created = model_weights_register(path=lora_file, kind="lora", name="Brand style")
    again, created_again = model_weights_register(path=lora_file, kind="lora", name="Renamed")
    assert created and not created_again and first.pk == again.pk
    assert first.architecture == ModelWeights.Architecture.SD15
    assert first.format == ModelWeights.Format.SAFETENSORS and first.size == lora_file.stat().st_size
    assert ModelWeights.objects.count() == 1


def test_register_folder_hashes_its_manifest(diffusers_folder):
    weights, _ = model_weights_register(path=diffusers_folder, kind="base", name="tiny")
    assert weights.format == ModelWeights.Format.DIFFUSERS
    assert set(weights.files) == {"model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors"}
    (diffusers_folder / "unet" / "config.json").write_text(json.dumps({"sample_size": 16}))
    changed, created = model_weights_register(path=diffusers_folder, kind="base", name="tiny v2")
    assert created and changed.sha256 != weights.sha256


def test_register_refuses_files_that_are_not_model_weights(tmp_path):
    fake = tmp_path / "model.safetensors"
    fake.write_bytes(b"\xff" * 64)
    with pytest.raises(ApplicationError, match="not a safetensors file"):
        model_weights_register(path=fake, kind="lora", name="x")
    with pytest.raises(ApplicationError, match="does not exist"):
        model_weights_register(path=tmp_path / "nope.safetensors", kind="lora", name="x")
    assert not ModelWeights.objects.exists()


def test_used_weights_cannot_be_deleted_and_unused_can(lora_file, tmp_path):
    weights, _ = model_weights_register(path=lora_file, kind="lora", name="Brand style")
    brief = make_brief()
    version = derive(brief=brief)
    Used.objects.create(
        derivation=version.generated_by.derivation, role=Used.Role.LORA, model_weights=weights, weight=0.8
    )
    child = derive(brief=brief, parents=[version])
    assert {v.pk for v in versions_using_model_weights(weights=weights)} == {version.pk, child.pk}
    with pytest.raises(ApplicationError, match="cannot be deleted"):
        model_weights_delete(weights=weights)
    assert ModelWeights.objects.filter(pk=weights.pk).exists()

    other = tmp_path / "unused.safetensors"
    save_file({"body.0.weight": np.ones((2,), dtype=np.float32)}, str(other))
    unused, _ = model_weights_register(path=other, kind="upscaler", name="unused", scale=4)
    model_weights_delete(weights=unused)
    assert not ModelWeights.objects.filter(pk=unused.pk).exists()


def test_register_model_command(lora_file, capsys):
    call_command("register_model", str(lora_file), "--kind", "lora", "--name", "Brand style", "--json")
    result = json.loads(capsys.readouterr().out)
    assert result["created"] is True and result["kind"] == "lora"
    with pytest.raises(CommandError, match="does not exist"):
        call_command("register_model", "/no/such/file.safetensors", "--kind", "lora", "--name", "x")
