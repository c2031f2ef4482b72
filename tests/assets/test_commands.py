import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from assets.models import Brief, DerivedFile, ModelWeights, Reference, Version
from assets.services.versions import version_import
from generation.demo import DEMO_LORA_LICENCE
from tests.factories import image_file, make_brief


@pytest.mark.django_db
def test_lineage_command(capsys):
    brief = make_brief()
    parent = version_import(brief=brief, source=image_file(colour=(1, 2, 3)))
    child = version_import(brief=brief, source=image_file(colour=(4, 5, 6)), parents=[parent])
    call_command("lineage", str(child.pk))
    text = capsys.readouterr().out
    assert f"v{child.pk}" in text and f"v{parent.pk}" in text and "parent:" in text
    call_command("lineage", str(child.pk), "--json")
    assert json.loads(capsys.readouterr().out)["root"] == f"version:{child.pk}"
    with pytest.raises(CommandError, match="does not exist"):
        call_command("lineage", "999999")


@pytest.mark.django_db(transaction=True)
def test_demo_flow_is_repeatable(capsys, settings, tmp_path):
    """The whole demo: brief, tiny models through the worker path, curation, two rounds, one approved master.

    It starts with no development signer, as a fresh checkout has none, and makes one itself.
    """
    from review.selectors import version_final_approval

    keys = tmp_path / "fresh-checkout" / ".seed-keys"
    settings.SEED_DEV_KEYS_DIR = keys
    settings.SEED_C2PA_CERT, settings.SEED_C2PA_KEY = keys / "signer-chain.pem", keys / "signer-key.pem"
    settings.SEED_C2PA_TRUST_ANCHORS = keys / "root.pem"
    settings.EMAIL_BACKEND = "review.mail.OutboxBackend"  # as `make demo` runs without EMAIL_HOST
    call_command("demo", "--no-serve", "--json")
    assert {path.name for path in keys.iterdir()} >= {"signer-chain.pem", "signer-key.pem", "root.pem"}
    first = json.loads(capsys.readouterr().out)
    call_command("demo", "--no-serve", "--json")
    second = json.loads(capsys.readouterr().out)
    assert (first["brief"], first["generation"]) == (second["brief"], second["generation"])
    assert first["review"]["approved_master"] == second["review"]["approved_master"]
    # The delivery stage adds one client round for the finished look; the review rounds stay as they were.
    assert second["review"]["rounds"][: len(first["review"]["rounds"])] == first["review"]["rounds"]
    brief = Brief.objects.get(pk=first["brief"]["brief"])
    assert brief.palette == ["#FE2C54", "#00E0FF", "#FFD500"] and brief.aspect == "9:16"
    assert Reference.objects.filter(brief=brief).count() == 24
    generation = first["generation"]
    assert [len(batch) for batch in generation["batches"]] == [6, 6, 6]
    assert len(generation["img2img"]) == 2 and len(generation["inpaint"]) == 1 and len(generation["outpaint"]) == 1
    outpainted = Version.objects.get(pk=generation["outpaint"][0])
    assert outpainted.width * 9 == outpainted.height * 16 or abs(outpainted.width / outpainted.height - 16 / 9) < 0.1
    master = Version.objects.get(pk=first["review"]["approved_master"])
    assert version_final_approval(version=master) is not None
    # The review ran through the brief's three-step template, and OCR read the brief's copy off the text overlay.
    assert first["review"]["stages"] == "Internal -> Legal || Brand -> Client"
    assert first["review"]["copy_read"]["readings"] == [
        {"copy": "CITRUS WAVE", "read": "CITRUS WAVE", "verdict": "pass"}
    ], first["review"]["copy_read"]
    delivered = first["delivery"]
    assert delivered == second["delivery"]
    finished = Version.objects.get(pk=delivered["finished_master"])
    assert (finished.width, finished.height) == (master.width * 4, master.height * 4)
    assert version_final_approval(version=finished) is not None
    assert len(delivered["files"]) == 8 and delivered["verify"]["manifest"] == "trusted"
    assert delivered["print_file"].endswith(".tif")
    assert delivered["verify"]["match"] == "exact" and delivered["verify"]["delivery_id"] == delivered["delivery"]
    # The print preset's soft proof of the finished master, with the share its press cannot reach, and its slots.
    assert delivered["soft_proof"]["page"] == f"/review/versions/{finished.pk}/proof/?preset=print-a5-cmyk"
    assert 0 <= delivered["soft_proof"]["out_of_gamut_percent"] <= 100
    assert delivered["slots"] == f"/review/versions/{finished.pk}/slots/"
    # The master exported for retouching came back, changed and signed outside, as its child (once, however often run).
    assert f"parent v{master.pk} by its C2PA parentOf ingredient urn:c2pa:" in first["retouch"]["came_back"]
    assert second["retouch"]["retouched"] == first["retouch"]["retouched"]
    # A stripped, resized copy of every delivered file leads back to it (the square and the product card are the same
    # crop at two sizes: the answer names both).
    copies = delivered["stripped_copies"]
    assert copies["of"] == 8 and copies["traced"] + copies["among_same_picture"] == 8, copies
    assert first["login"]["username"] == "demo"
    # The published FLUX template: its LoRA attached from the tag, 9:16 from --ar, FLUX.1 [dev]'s licence upstream.
    flux = first["flux"]
    assert flux == second["flux"] and len(flux["batch"]) == 2 and flux["loras"] == [["FluxPortraitTrainer", 1.0]]
    assert flux["recipe"] == {
        "sampler": "flow_euler",
        "distilled_cfg": 3.5,
        "cfg": 1.0,
        "width": 80,
        "height": 144,
        "prompt_syntax": "plain",
    }
    assert flux["prompt"].startswith("<lora:FluxPortraitTrainer:1>, a runner") and flux["prompt"].endswith("--ar 9:16")
    assert "FLUX.1 [dev] Non-Commercial License does not allow commercial use" in flux["delivery_rights"][0]
    edited = Version.objects.get(pk=flux["kontext_edit"]["version"])
    assert edited.generated_by.derivation.op == "instruct_edit" and flux["kontext_edit"]["of"] == flux["batch"][0]
    assert (edited.width, edited.height) == (80, 144)
    # Production preparation: a colour-locked batch, a cut-out whose mask places it in a composite, the logo as SVG.
    prepared = first["preparation"]
    assert prepared == second["preparation"]
    assert len(prepared["colour_locked"]) == 2
    mask = DerivedFile.objects.get(pk=prepared["mask"])
    assert mask.kind == "mask" and mask.derivation.generated.get().version_id == prepared["cutout"]
    composite = Version.objects.get(pk=prepared["composite"]).generated_by.derivation
    assert composite.used.filter(role="mask", blob=mask.blob).exists()
    assert DerivedFile.objects.get(pk=prepared["svg"]).blob.media_type == "image/svg+xml"
    # The brand's LoRA learned the approved master, once, and a batch of six was made with it.
    trained = first["training"]
    assert trained == second["training"] and len(trained["batch_with_lora"]) == 6
    assert master.pk in trained["learned_from"] and len(trained["samples"]) == 2
    lora = ModelWeights.objects.get(pk=trained["lora"]["id"])
    assert lora.trained_by.used.filter(role="training_image", version=master).exists()
    # The style LoRA's licence, upstream of the master, reaches the batch through the LoRA the master trained.
    assert DEMO_LORA_LICENCE in trained["licences_through_training"]
    # The cycle ran itself: the client round opened on the internal approval; every message went to the outbox.
    assert first["review"]["client_round_opened_by"] == "automation"
    sent = first["notifications"]
    assert sent["failed"] == 0 and sent["outbox_files"] == sent["sent"]
    assert {"invited", "round_closed", "final_approval", "delivery_ready"} <= set(sent["by_kind"])
    assert second["notifications"]["sent"] == sent["sent"]  # nothing happened twice


def test_manage_check_does_not_import_the_ml_stack():
    code = (
        "import runpy, sys; sys.argv = ['manage.py', 'check']\n"
        "try:\n    runpy.run_path('manage.py', run_name='__main__')\n"
        "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "print(sorted(m for m in ('torch', 'diffusers', 'spandrel', 'c2pa', 'transformers', 'peft', "
        "'onnxruntime', 'onnx', 'rapidocr',\n"
        "                       'vtracer', 'gguf') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.django_db
def test_the_demo_stops_before_any_work_when_a_configured_signer_is_unusable(settings, tmp_path):
    settings.SEED_C2PA_TRUST_ANCHORS = tmp_path / "production" / "anchors.pem"
    with pytest.raises(CommandError, match="SEED_C2PA_TRUST_ANCHORS.*cannot be read"):
        call_command("demo", "--no-serve", "--json")
    assert not Brief.objects.exists() and not (tmp_path / "production").exists()
