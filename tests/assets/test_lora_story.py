"""Bring your own LoRA's story: what kohya, ai-toolkit and modelspec write in a LoRA's header is read at registration
into a bounded story, shown on its admin page and in the API, and checked against this install (architecture, base
model hash, training images). Alice produces; Paula produces for Aurora only; Charlie reviews for Aurora."""

import hashlib
import json
import struct

import pytest
import torch
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from safetensors.torch import save_file

from assets.errors import ApplicationError
from assets.lora_checks import story_base_models, story_training_set_held
from assets.models import Blob, ModelWeights
from assets.services.briefs import reference_create
from assets.services.versions import version_import
from assets.services.weights import model_weights_register
from review.roles import CLIENT_REVIEWER, PRODUCER
from tests.assets.conftest import files_under
from tests.factories import api_as, image_bytes, image_file, make_brief, member

pytestmark = pytest.mark.django_db

SD15_KEYS = ["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"]
SDXL_KEYS = [*SD15_KEYS, "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight"]
FLUX_KEYS = ["lora_unet_double_blocks_0_img_attn_proj.lora_down.weight"]

KOHYA = {
    "ss_base_model_version": "sdxl_base_v1-0",
    "ss_sd_model_name": "sd_xl_base_1.0.safetensors",
    "ss_output_name": "brand_style",
    "ss_training_started_at": "1714557600.5",
    "ss_training_finished_at": "1714564800",
    "ss_num_train_images": "250",
    "ss_num_epochs": "10",
    "ss_steps": "2500",
    "ss_max_train_steps": "3000",
    "ss_network_module": "networks.lora",
    "ss_network_dim": "32",
    "ss_network_alpha": "16.0",
    "ss_learning_rate": "0.0001",
    "ss_seed": "42",
    "ss_resolution": "(1024, 1024)",
    "ss_session_id": "1234567",
    "ss_dataset_dirs": json.dumps({"10_brand": {"n_repeats": 10, "img_count": 25}}),
    "ss_tag_frequency": json.dumps({"10_brand": {"logo": 12, "brand": 30, "red can": 7}}),
    "ss_sd_model_hash": "1f697312",
    "sshs_model_hash": "ab" * 32,
}


def lora(tmp_path, name: str, metadata: dict, keys=SD15_KEYS):
    path = tmp_path / f"{name}.safetensors"
    save_file({key: torch.ones((2, 4)) for key in keys}, str(path), metadata=metadata)
    return path


@pytest.fixture
def sdxl_base(tmp_path):
    """A single-file SDXL base model: kohya records its sha256 as the LoRA's base model hash."""
    path = tmp_path / "sdxl_base.safetensors"
    save_file({"conditioner.embedders.1.model.ln_final.weight": torch.zeros(4)}, str(path))
    return path


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_kohya_lora_keeps_its_story_and_names_its_base_model_by_hash(tmp_path, sdxl_base):
    base_sha256 = hashlib.sha256(sdxl_base.read_bytes()).hexdigest()
    path = lora(tmp_path, "brand", {**KOHYA, "ss_new_sd_model_hash": base_sha256}, keys=SDXL_KEYS)
    weights, _ = model_weights_register(path=path, kind="lora", name="Brand style")
    story = ModelWeights.objects.get(pk=weights.pk).training_story
    assert story["trainer"] == {"name": "kohya sd-scripts"}
    assert story["base_model"] == {
        "name": "sd_xl_base_1.0.safetensors",
        "version": "sdxl_base_v1-0",
        "architecture": "sdxl",
        "sha256": base_sha256,
        "legacy_hash": "1f697312",
    }
    assert story["training"] == {
        "started_at": "2024-05-01T10:00:00+00:00",
        "finished_at": "2024-05-01T12:00:00+00:00",
        "images": 250,
        "epochs": 10,
        "steps": 2500,
        "max_steps": 3000,
    }
    assert story["network"] == {
        "module": "networks.lora",
        "rank": 32,
        "alpha": 16.0,
        "learning_rate": 0.0001,
        "seed": 42,
        "resolution": "1024×1024",
    }
    assert story["datasets"] == [{"folder": "10_brand", "repeats": 10, "images": 25}]
    assert story["tags"] == [
        {"folder": "10_brand", "tags": [["brand", 30], ["logo", 12], ["red can", 7]], "tags_total": 3}
    ]
    assert story["output_name"] == "brand_style" and story["tensors_sha256"] == "ab" * 32
    assert "unreadable" not in story

    # Matched when read: the base registered after the LoRA is found.
    assert not story_base_models(weights=weights).exists()
    base, _ = model_weights_register(path=sdxl_base, kind="base", name="SDXL base 1.0")
    assert list(story_base_models(weights=weights)) == [base]
    assert base.training_story == {}  # only LoRAs tell a story


def test_modelspec_and_ai_toolkit_headers_are_read(tmp_path):
    spec = {
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": "stable-diffusion-v1/lora",
        "modelspec.implementation": "https://github.com/Stability-AI/generative-models",
        "modelspec.title": "Neon cans",
        "modelspec.author": "Studio North",
        "modelspec.date": "2025-03-02T09:30:00",
        "modelspec.trigger_phrase": "neoncan style",
        "modelspec.license": "CreativeML-OpenRAIL-M",
        "modelspec.description": "Cans under neon light.",
        "modelspec.hash_sha256": "0x" + "CD" * 32,
    }
    weights, _ = model_weights_register(path=lora(tmp_path, "spec", spec), kind="lora", name="Neon")
    story = weights.training_story
    assert story["title"] == "Neon cans" and story["author"] == "Studio North"
    assert story["licence"] == "CreativeML-OpenRAIL-M" and story["trigger_phrase"] == "neoncan style"
    assert story["training"] == {"date": "2025-03-02T09:30:00"}
    assert story["base_model"]["architecture"] == "sd15" == weights.architecture
    assert story["tensors_sha256"] == "cd" * 32 and "trainer" not in story

    toolkit = {
        "software": json.dumps(
            {"name": "ai-toolkit", "repo": "https://github.com/ostris/ai-toolkit", "version": "0.2.1"}
        ),
        "training_info": json.dumps({"step": 1500, "epoch": 3}),
        "name": "portrait_flux",
        "version": "1.0",
        "ss_base_model_version": "flux1",
        "ss_output_name": "",
    }
    weights, _ = model_weights_register(path=lora(tmp_path, "kit", toolkit, FLUX_KEYS), kind="lora", name="Portrait")
    story = weights.training_story
    assert story["trainer"] == {"name": "ai-toolkit", "version": "0.2.1"}
    assert story["training"] == {"steps": 1500, "epochs": 3}
    assert story["output_name"] == "portrait_flux"
    assert story["base_model"] == {"version": "flux1", "architecture": "flux1"} and weights.architecture == "flux1"


def test_hostile_headers_are_cut_and_kept_as_text_never_refused(tmp_path):
    many_tags = {f"tag number {n} " + "x" * 10: n for n in range(10_000)}
    frequencies = {f"{n}_folder": dict(many_tags) if n == 0 else {"a": 1} for n in range(30)}
    frequencies["0_folder"]["\ud800 lone"] = 10**12  # a count past any dataset: dropped
    frequencies["0_folder"]["nul\u0000tag"] = 99_999
    hostile = {
        "ss_tag_frequency": json.dumps(frequencies),
        "ss_dataset_dirs": "{'10_brand': not json",
        "ss_datasets": "[" * 100_000,
        "modelspec.title": "Can\x00 <script>alert(1)</script>",
        "modelspec.description": "d" * 1_000_000,
        "ss_num_train_images": "-5",
        "ss_steps": "1e400",
        "ss_seed": "9" * 40,
        "ss_network_alpha": "nan",
        "ss_learning_rate": "inf",
        "ss_training_started_at": "-1",
        "ss_training_finished_at": "99999999999999",
        "ss_resolution": "(0, 99999)",
        "ss_new_sd_model_hash": "not-a-hash",
        "software": "[1, 2",
        "seed.training_set": json.dumps([{"sha256": "zz"}, 5, {"sha256": "A" * 64, "version_id": -3}]),
    }
    assert len(hostile["ss_tag_frequency"]) > 200_000
    weights, created = model_weights_register(path=lora(tmp_path, "hostile", hostile), kind="lora", name="Hostile")
    story = ModelWeights.objects.get(pk=weights.pk).training_story
    assert created and story["title"] == "Can <script>alert(1)</script>" and len(story["description"]) == 500
    assert len(story["tags"]) == 20 and story["tag_folders_total"] == 30
    top = story["tags"][0]
    assert len(top["tags"]) == 50 and top["tags_total"] == 10_002
    assert top["tags"][0] == ["nul\u0000tag".replace("\x00", ""), 99_999] and top["tags"][1][1] == 9_999
    assert story["training_set"] == [{"sha256": "a" * 64}] and story["training_set_total"] == 3
    unreadable = story["unreadable"]
    assert set(unreadable) == {
        "ss_dataset_dirs",
        "ss_num_train_images",
        "ss_steps",
        "ss_seed",
        "ss_network_alpha",
        "ss_learning_rate",
        "ss_training_started_at",
        "ss_training_finished_at",
        "ss_resolution",
        "ss_new_sd_model_hash",
        "software",
    }
    assert unreadable["ss_dataset_dirs"] == "{'10_brand': not json" and unreadable["ss_seed"] == "9" * 40
    assert "training" not in story and "network" not in story and "datasets" not in story
    stored = json.dumps(story)
    assert len(stored) < 150_000 and "\\u0000" not in stored and "\\ud800" not in stored


def test_values_that_are_not_text_are_marked_and_a_nested_header_is_refused_whole(tmp_path, media_root):
    def raw_file(name: str, header: bytes):
        path = tmp_path / name
        path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
        return path

    tensor = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    metadata = {"ss_num_train_images": 12, "ss_output_name": {"a": 1}, "ss_datasets": "[" * 100_000}
    header = json.dumps({"__metadata__": metadata, SD15_KEYS[0]: tensor}).encode()
    weights, _ = model_weights_register(path=raw_file("odd.safetensors", header), kind="lora", name="Odd")
    assert weights.training_story["unreadable"] == {
        "ss_num_train_images": "(not text)",
        "ss_output_name": "(not text)",
        "ss_datasets": "[" * 500,  # nested past the parser's stack: kept as text
    }

    nested = raw_file("deep.safetensors", b'{"__metadata__": {"x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}}")
    with pytest.raises(ApplicationError, match="not a safetensors file"):
        model_weights_register(path=nested, kind="lora", name="Deep")
    assert ModelWeights.objects.count() == 1 and Blob.objects.count() == 1
    assert len(files_under(media_root)) == 1


def test_register_model_prints_the_story(tmp_path, capsys):
    path = lora(tmp_path, "brand", KOHYA, keys=SDXL_KEYS)
    call_command("register_model", str(path), "--kind", "lora", "--name", "Brand style")
    assert "training story: kohya sd-scripts, sdxl_base_v1-0, 250 images" in capsys.readouterr().out
    call_command("register_model", str(path), "--kind", "lora", "--name", "Brand style", "--json")
    printed = json.loads(capsys.readouterr().out)
    assert printed["created"] is False
    assert printed["training_story"]["datasets"] == [{"folder": "10_brand", "repeats": 10, "images": 25}]


@pytest.fixture
def held(tmp_path):
    """A LoRA exported by another install lists three training images: Aurora holds the first as a version, Borealis
    the second as a reference, nobody the third."""
    aurora, borealis = make_brief(client_name="Aurora"), make_brief(client_name="Borealis")
    version = version_import(brief=aurora, source=image_file(colour=(1, 2, 3)))
    reference = reference_create(brief=borealis, source=image_file(colour=(4, 5, 6)))
    stranger = hashlib.sha256(image_bytes(colour=(7, 8, 9))).hexdigest()
    listed = [
        {"sha256": version.blob_id, "version_id": 501},
        {"sha256": reference.blob_id, "version_id": 502},
        {"sha256": stranger, "version_id": 503},
    ]
    metadata = {**KOHYA, "seed.training_set": json.dumps(listed), "modelspec.title": "<b>Bold</b> claim"}
    weights, _ = model_weights_register(path=lora(tmp_path, "exported", metadata), kind="lora", name="Exported")
    return {
        "weights": weights,
        "version": version,
        "reference": reference,
        "stranger": stranger,
        "aurora": aurora,
        "borealis": borealis,
    }


def test_the_training_set_is_checked_against_the_images_each_viewer_sees(held, alice):
    weights = held["weights"]
    everything = story_training_set_held(weights=weights, user=alice)
    assert [(i["version_id"], i["versions"], i["references"]) for i in everything] == [
        (501, [held["version"].pk], []),
        (502, [], [held["reference"].pk]),
        (503, [], []),
    ]
    paula = member("paula", PRODUCER, client=held["aurora"].campaign.client)
    scoped = story_training_set_held(weights=weights, user=paula)
    assert [(i["versions"], i["references"]) for i in scoped] == [([held["version"].pk], []), ([], []), ([], [])]


def test_the_admin_page_tells_the_story_and_its_checks(held, alice, sdxl_base, tmp_path):
    weights = held["weights"]  # SD 1.x keys, but its header names SDXL
    html = _browser(alice).get(reverse("admin:assets_modelweights_change", args=[weights.pk])).content.decode()
    assert "kohya sd-scripts" in html and "&lt;b&gt;Bold&lt;/b&gt; claim" in html and "<b>Bold</b>" not in html
    assert "differs</b>: the file names Stable Diffusion XL, it is registered as Stable Diffusion 1.x" in html
    assert "2024-05-01 10:00 UTC to 2024-05-01 12:00 UTC" in html and "250 · 2500 of 3000 · 10" in html
    assert "rank 32 · alpha 16.0 · learning rate 0.0001 · seed 42 · resolution 1024×1024" in html
    assert "10_brand: 25 images × 10 repeats" in html and "brand (30), logo (12), red can (7)" in html
    assert "3 image(s) listed; this install holds 2 of them" in html
    assert reverse("admin:assets_version_change", args=[held["version"].pk]) in html
    assert reverse("admin:assets_reference_change", args=[held["reference"].pk]) in html
    assert f"not held here: {held['stranger'][:12]}" in html
    assert "A1111's old hash 1f697312 (not matched)" in html  # no full hash in this header

    base, _ = model_weights_register(path=sdxl_base, kind="base", name="SDXL base 1.0")
    matching = {**KOHYA, "ss_new_sd_model_hash": base.sha256}
    agreeing, _ = model_weights_register(path=lora(tmp_path, "xl", matching, SDXL_KEYS), kind="lora", name="XL")
    page = _browser(alice).get(reverse("admin:assets_modelweights_change", args=[agreeing.pk])).content.decode()
    assert "agrees with the registered architecture, Stable Diffusion XL" in page
    assert f"{base.sha256} — the registered base model" in page and ">SDXL base 1.0</a>" in page
    base_page = _browser(alice).get(reverse("admin:assets_modelweights_change", args=[base.pk])).content.decode()
    assert "Training story" in base_page and "kohya" not in base_page


def test_the_api_shows_the_story_to_staff_and_nothing_to_a_client_reviewer(held, alice):
    weights = held["weights"]
    detail = api_as(alice).get(f"/api/model-weights/{weights.pk}/").json()
    assert detail["training_story"]["network"]["rank"] == 32
    assert detail["story_checks"]["architecture_check"] == "differs" and detail["story_checks"]["base_models"] == []
    assert [image["versions"] for image in detail["story_checks"]["training_set"]] == [[held["version"].pk], [], []]
    listing = api_as(alice).get("/api/model-weights/").json()["results"]
    assert [row["id"] for row in listing] == [weights.pk] and "training_story" not in listing[0]

    charlie = member("charlie", CLIENT_REVIEWER, client=held["aurora"].campaign.client)
    assert api_as(charlie).get(f"/api/model-weights/{weights.pk}/").status_code == 404
    assert api_as(charlie).get("/api/model-weights/").json()["results"] == []
    page = _browser(charlie).get(reverse("admin:assets_modelweights_change", args=[weights.pk]))
    assert page.status_code in (403, 404) and b"kohya" not in page.content
