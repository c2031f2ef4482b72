"""Images from AUTOMATIC1111, ComfyUI, InvokeAI and Fooocus come in with their recipe; hostile metadata is refused
per file while the files around it still import. Every file is made here, as each tool writes it."""

import io
import json

import piexif
import piexif.helper
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image, PngImagePlugin

from assets.models import Derivation, ModelWeights, Used, Version
from assets.services.recipe_imports import images_import
from tests.factories import api_as, make_brief

pytestmark = pytest.mark.django_db

BASE_SHA = "a1b2c3d4e5" + "f" * 54
LORA_SHA = "0123456789ab" + "e" * 52
BLAKE = "b3" * 32


@pytest.fixture
def registry():
    base = ModelWeights.objects.create(
        kind="base",
        architecture="sd15",
        name="dreamshaper_8",
        sha256=BASE_SHA,
        size=1,
        format="safetensors",
        blake3=BLAKE,
    )
    lora = ModelWeights.objects.create(
        kind="lora", architecture="sd15", name="brand_style", sha256=LORA_SHA, size=1, format="safetensors"
    )
    return {"base": base, "lora": lora}


def png(chunks: dict[str, str], size=(24, 16), name="image.png") -> ContentFile:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 60)).save(buffer, format="PNG", pnginfo=info)
    return ContentFile(buffer.getvalue(), name=name)


def jpeg(comment: str, name="image.jpg") -> ContentFile:
    exif = piexif.dump(
        {"Exif": {piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump(comment, encoding="unicode")}}
    )
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (20, 140, 60)).save(buffer, format="JPEG", exif=exif, quality=90)
    return ContentFile(buffer.getvalue(), name=name)


A1111 = (
    "a chilled can on a rooftop, golden hour <lora:brand_style:0.8>\n"
    "Negative prompt: blurry, lowres\n"
    f"Steps: 25, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, Size: 24x16, "
    f'Model hash: {BASE_SHA[:10]}, Model: dreamshaper_8, Lora hashes: "brand_style: {LORA_SHA[:12]}", Version: v1.10.1'
)


def comfy_graph(*, seed=99, model_link=("4", 0)) -> dict:
    return {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15/dreamshaper_8.safetensors"}},
        "10": {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": "brand_style.safetensors",
                "strength_model": 0.7,
                "strength_clip": 0.7,
                "model": list(model_link),
                "clip": ["4", 1],
            },
        },
        "11": {
            "class_type": "LoraLoader",
            "inputs": {
                "lora_name": "other_style.safetensors",
                "strength_model": 0.3,
                "strength_clip": 0.3,
                "model": ["10", 0],
                "clip": ["10", 1],
            },
        },
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a can in neon light", "clip": ["11", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "watermark", "clip": ["11", 1]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
        "3": {
            "class_type": "KSampler",
            "inputs": {
                "seed": seed,
                "steps": 30,
                "cfg": 6.5,
                "sampler_name": "dpmpp_2m",
                "scheduler": "karras",
                "denoise": 1.0,
                "model": ["11", 0],
                "positive": ["6", 0],
                "negative": ["7", 0],
                "latent_image": ["5", 0],
            },
        },
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["8", 0], "filename_prefix": "ComfyUI"}},
    }


def test_each_generators_metadata_becomes_our_recipe_with_matched_and_missing_models(registry):
    brief = make_brief()
    invoke = {
        "positive_prompt": "a can on ice",
        "negative_prompt": "text",
        "seed": 7,
        "steps": 20,
        "cfg_scale": 5.5,
        "scheduler": "euler_a",
        "width": 24,
        "height": 16,
        "model": {"name": "Dreamshaper", "hash": f"blake3:{BLAKE}"},
        "loras": [{"model": {"name": "unknown_lora", "hash": "blake3:" + "c" * 64}, "weight": 0.5}],
    }
    fooocus = {
        "prompt": "a can, studio",
        "negative_prompt": "",
        "steps": 30,
        "guidance_scale": 4.0,
        "seed": 555,
        "sampler": "dpmpp_2m_sde_gpu",
        "scheduler": "karras",
        "resolution": "(1152, 896)",
        "base_model": "juggernautXL_v8Rundiffusion.safetensors",
        "loras": [["brand_style.safetensors", 0.25]],
        "version": "Fooocus v2.5.5",
    }
    reports = images_import(
        brief=brief,
        sources=[
            png({"parameters": A1111}, name="a1111.png"),
            jpeg(A1111, name="a1111.jpg"),
            png({"prompt": json.dumps(comfy_graph()), "workflow": "{}"}, name="comfy.png"),
            png({"invokeai_metadata": json.dumps(invoke)}, name="invoke.png"),
            png({"parameters": json.dumps(fooocus)}, name="fooocus.png"),
            png({}, name="plain.png"),
        ],
    )
    assert [r["generator"] for r in reports] == [
        "automatic1111",
        "automatic1111",
        "comfyui",
        "invokeai",
        "fooocus",
        None,
    ]
    a1111_png, a1111_jpeg, comfy, invokeai, fooocus_report, plain = reports
    for report in (a1111_png, a1111_jpeg):
        derivation = Derivation.objects.get(pk=report["derivation"])
        params = derivation.params
        assert (params["generator"], params["sampler"], params["steps"], params["cfg"], params["seed"]) == (
            "automatic1111",
            "dpmpp_2m_karras",
            25,
            7.0,
            1234,
        )
        edges = {edge.role: edge for edge in derivation.used.select_related("prompt", "model_weights")}
        assert edges[Used.Role.PROMPT].prompt.text == "a chilled can on a rooftop, golden hour"
        assert edges[Used.Role.PROMPT].prompt.negative_text == "blurry, lowres"
        assert edges[Used.Role.BASE_MODEL].model_weights == registry["base"]  # by its AutoV2 hash
        assert (edges[Used.Role.LORA].model_weights, edges[Used.Role.LORA].weight) == (registry["lora"], 0.8)
        assert Version.objects.get(pk=report["version"]).seed == 1234 and report["missing"] == []
        assert "Steps: 25" in params["metadata"]["parameters"]

    comfy_params = Derivation.objects.get(pk=comfy["derivation"]).params
    assert (comfy_params["sampler"], comfy_params["seed"], comfy_params["steps"], comfy_params["cfg"]) == (
        "dpmpp_2m_karras",
        99,
        30,
        6.5,
    )
    assert (comfy_params["width"], comfy_params["height"]) == (512, 768)
    assert [(m["role"], m["name"], m.get("weight")) for m in comfy_params["models"]] == [
        ("base_model", "dreamshaper_8", None),
        ("lora", "brand_style", 0.7),
        ("lora", "other_style", 0.3),
    ]
    assert [m["name"] for m in comfy["missing"]] == ["other_style"]
    comfy_prompt = Derivation.objects.get(pk=comfy["derivation"]).used.get(role="prompt").prompt
    assert (comfy_prompt.text, comfy_prompt.negative_text) == ("a can in neon light", "watermark")

    assert [m["matched"]["id"] for m in invokeai["matched"]] == [registry["base"].pk]  # by BLAKE3, as InvokeAI names it
    assert [m["name"] for m in invokeai["missing"]] == ["unknown_lora"]
    invoke_params = Derivation.objects.get(pk=invokeai["derivation"]).params
    assert (invoke_params["sampler"], invoke_params["cfg"], invoke_params["seed"]) == ("euler_a", 5.5, 7)

    fooocus_params = Derivation.objects.get(pk=fooocus_report["derivation"]).params
    assert (fooocus_params["cfg"], fooocus_params["width"], fooocus_params["height"]) == (4.0, 1152, 896)
    assert "sampler" not in fooocus_params and fooocus_params["sampler_source"] == "dpmpp_2m_sde_gpu / karras"
    assert [m["name"] for m in fooocus_report["missing"]] == ["juggernautXL_v8Rundiffusion"]
    assert plain["imported"] and plain["recovered"] == []


@pytest.mark.parametrize(
    "chunks, message",
    [
        ({"parameters": "x" * (300 * 1024)}, "over 256 kB"),
        ({"prompt": json.dumps({str(n): {"class_type": "Note", "inputs": {}} for n in range(2500)})}, "at most 2000"),
        ({"prompt": json.dumps(comfy_graph(model_link=("11", 0)))}, "loops back"),
        ({"prompt": json.dumps(comfy_graph(seed="not a seed"))}, "not a number"),
        ({"prompt": "{" * 5000}, "not readable JSON"),
        ({"invokeai_metadata": json.dumps({"positive_prompt": ["a", "list"]})}, "not text"),
        ({"parameters": A1111.replace("CFG scale: 7", "CFG scale: 7, Distilled CFG Scale: nan")}, "not a number"),
        ({"parameters": A1111.replace("CFG scale: 7", "CFG scale: 1e400")}, "not a number"),
        ({"parameters": "a" * 30000 + "\nSteps: 1, Seed: 2, " + "b" * 30000}, "no A1111 settings line"),
    ],
)
def test_hostile_metadata_is_refused_for_its_file_alone(registry, chunks, message):
    brief = make_brief()
    before = Version.objects.count()
    reports = images_import(
        brief=brief, sources=[png({"parameters": A1111}, name="good.png"), png(chunks, name="bad.png")]
    )
    assert reports[0]["imported"] and not reports[1]["imported"] and message in reports[1]["error"]
    assert Version.objects.count() == before + 1


def test_the_command_and_the_api_import_several_files_with_a_report_each(registry, tmp_path, alice):
    brief = make_brief()
    good, bad = tmp_path / "good.png", tmp_path / "bad.png"
    good.write_bytes(png({"parameters": A1111}).read())
    bad.write_bytes(png({"prompt": "{" * 10}).read())
    out = io.StringIO()
    call_command("import_images", str(good), str(bad), "--brief", str(brief.pk), "--json", stdout=out)
    reports = json.loads(out.getvalue())
    assert [r["imported"] for r in reports] == [True, False] and reports[0]["generator"] == "automatic1111"
    with pytest.raises(CommandError, match="no file was imported"):
        call_command("import_images", str(bad), "--brief", str(brief.pk), stdout=io.StringIO())
    with pytest.raises(CommandError, match="no brief"):
        call_command("import_images", str(good), "--brief", "999999", stdout=io.StringIO())

    api = api_as(alice)
    answer = api.post(
        "/api/versions/import-images/",
        {"brief": brief.pk, "files": [png({"parameters": A1111}, name="x.png"), jpeg(A1111, name="y.jpg")]},
        format="multipart",
    )
    assert answer.status_code == 201 and [r["generator"] for r in answer.json()] == ["automatic1111", "automatic1111"]
    refused = api.post(
        "/api/versions/import-images/",
        {"brief": brief.pk, "files": [png({"prompt": "{"}, name="z.png")]},
        format="multipart",
    )
    assert refused.status_code == 400 and "z.png" in refused.json()["message"]
    assert api.post("/api/versions/import-images/", {"brief": brief.pk}, format="multipart").status_code == 400


def test_the_admin_upload_imports_several_files_and_shows_the_report(registry, client):
    from review.roles import CLIENT_REVIEWER, PRODUCER, roles_ensure
    from tests.factories import member

    roles_ensure()
    brief = make_brief()
    producer = member("paula", PRODUCER)
    client.force_login(producer)
    changelist = client.get("/admin/assets/version/").content.decode()
    assert "/admin/assets/version/import-images/" in changelist
    page = client.post(
        "/admin/assets/version/import-images/",
        {
            "brief": brief.pk,
            "files": [png({"parameters": A1111}, name="a1111.png"), png({"prompt": "{"}, name="broken.png")],
        },
    )
    html = page.content.decode()
    assert page.status_code == 200 and "1 of 2 file(s) imported" in html
    assert "automatic1111" in html and "refused: the prompt metadata is not readable JSON" in html
    assert "base_model dreamshaper_8" in html
    client.force_login(member("cleo", CLIENT_REVIEWER, brief.campaign.client))
    assert client.get("/admin/assets/version/import-images/").status_code == 403


def test_more_files_than_a_request_may_carry_get_a_json_answer(alice):
    from django.conf import settings

    brief = make_brief()
    files = [png({}, name=f"f{n}.png") for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    answer = api_as(alice).post("/api/versions/import-images/", {"brief": brief.pk, "files": files}, format="multipart")
    assert answer.status_code == 400 and "refused" in answer.json()["message"] and not Version.objects.exists()
