import json
import zipfile
from pathlib import Path

import piexif
import piexif.helper
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from django.conf import settings

from assets.errors import ApplicationError
from assets.models import AuditEvent, Client, Derivation, Version
from delivery.models import ChannelPreset, Delivery, DeliveryItem
from delivery.provenance import manifest_read
from delivery.services.deliveries import delivery_create, delivery_override
from tests.delivery.conftest import approve


def small_preset(slug="thumb-square", width=48, height=48, **extra):
    preset, _ = ChannelPreset.objects.update_or_create(
        slug=slug, defaults={"name": slug, "width": width, "height": height, "section": "social", **extra}
    )
    return preset


def delivered_files(delivery: Delivery) -> list[Path]:
    folder = Path(settings.SEED_DELIVERY_DIR) / delivery.folder
    return sorted(path for path in folder.iterdir() if not path.name.endswith(".zip"))


def test_a_delivered_jpeg_carries_exif_and_a_trusted_c2pa_manifest(people, master, run_jobs):
    with run_jobs():
        delivery = delivery_create(
            version=master,
            presets=[small_preset()],
            created_by=people["producer"],
            override_reason="tiny random model: no brand colours expected",
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    item = delivery.items.get()
    [path] = delivered_files(delivery)
    assert path.name == item.file_name and path.name.endswith(f"_social_{item.file_name.split('_')[2]}_42.jpg")
    data = path.read_bytes()
    exif = piexif.load(data)
    comment = piexif.helper.UserComment.load(exif["Exif"][piexif.ExifIFD.UserComment])
    assert "Steps: 4" in comment and "Seed: 42" in comment and "Sampler: DPM++ 2M" in comment
    assert master.blob_id in comment and "Tiny style A" in comment
    base = master.generated_by.derivation.used.get(role="base_model").model_weights
    assert base.sha256 in comment and f"v{master.pk}" in comment
    assert exif["0th"][piexif.ImageIFD.ImageDescription].decode() == "a can on a roof"
    assert "Aurora Soda Co." in exif["0th"][piexif.ImageIFD.Copyright].decode()

    report = manifest_read(data=data, media_type="image/jpeg")
    assert report.state == "trusted", report.codes
    assert report.lineage["version_id"] == master.pk and report.lineage["delivery_id"] == delivery.pk
    # One claim: the recorded chain (generated, then palette-snapped), then the crop and resize that made this file.
    steps = report.manifest["assertions"][0]["data"]["actions"]
    assert steps[0]["action"] == "c2pa.created" and steps[0]["digitalSourceType"].endswith("trainedAlgorithmicMedia")
    assert [a["action"] for a in steps][-2:] == ["c2pa.resized", "c2pa.published"]
    assert report.manifest.get("ingredients", []) == []  # a generated master has no outside file to cite
    assert [step["op"] for step in report.lineage["chain"]] == [d.op for d in [master.generated_by.derivation]]
    assert "text" not in json.dumps(report.lineage["chain"])  # prompts travel in the EXIF infotext, not twice
    # The claim carries the signer's certificate but not the root the reader trusts anyway.
    [root] = x509.load_pem_x509_certificates(Path(settings.SEED_C2PA_TRUST_ANCHORS).read_bytes())
    signer = x509.load_pem_x509_certificates(Path(settings.SEED_C2PA_CERT).read_bytes())[0]
    assert data.count(signer.public_bytes(Encoding.DER)) == 1 and root.public_bytes(Encoding.DER) not in data
    variant_version = item.version
    assert variant_version.blob_id == item.version.blob_id and variant_version.status == Version.Status.DELIVERED
    rendition = variant_version.generated_by.derivation
    assert rendition.op == "rendition" and rendition.used.get().version_id == master.pk

    with zipfile.ZipFile(Path(settings.SEED_DELIVERY_DIR) / delivery.folder / delivery.bundle_name) as bundle:
        assert sorted(bundle.namelist()) == sorted([path.name, "report.json", "lineage.json"])
        assert bundle.read(path.name) == data
        assert json.loads(bundle.read("report.json"))["files"][0]["sha256"] == item.version.blob_id
    assert AuditEvent.objects.filter(kind="delivery.delivered", object_id=delivery.pk).exists()


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def test_the_impact_of_a_lora_reaches_every_version_and_delivery_made_from_it(people, master, run_jobs, client):
    """ "Which deliveries inherit this LoRA?": through the master to its rendition variants,
    counted per brief and client."""
    from tests.factories import api_as

    with run_jobs():
        delivery = delivery_create(
            version=master,
            presets=[small_preset()],
            created_by=people["producer"],
            override_reason="tiny random model: no brand colours expected",
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    lora = master.generated_by.derivation.used.get(role="lora").model_weights
    variant = delivery.items.get().version
    body = api_as(people["producer"]).get(f"/api/model-weights/{lora.pk}/impact/").json()
    assert {row["id"] for row in body["versions"]} == {master.pk, variant.pk} and body["versions_total"] == 2
    assert [(d["id"], d["version"], d["files"]) for d in body["deliveries"]] == [(delivery.pk, master.pk, 1)]
    [brief] = body["briefs"]
    assert (brief["brief"], brief["versions"], brief["deliveries"]) == (people["brief"].pk, 2, 1)
    assert body["clients"][0]["name"] == "Aurora Soda Co." and body["deliveries_total"] == 1
    prompt = master.generated_by.derivation.used.get(role="prompt").prompt
    assert api_as(people["producer"]).get(f"/api/prompts/{prompt.pk}/impact/").json()["versions_total"] == 2
    # The recipe is the studio's: a client reads a prompt's impact only where the studio shares the lineage with it.
    assert api_as(people["client"]).get(f"/api/prompts/{prompt.pk}/impact/").status_code == 404
    Client.objects.filter(pk=people["brief"].campaign.client_id).update(shares_lineage=True)
    assert api_as(people["client"]).get(f"/api/prompts/{prompt.pk}/impact/").json()["versions_total"] == 2
    assert api_as(people["client"]).get(f"/api/model-weights/{lora.pk}/impact/").status_code == 404

    client.force_login(people["producer"])
    page = client.get(f"/admin/assets/modelweights/{lora.pk}/change/").content.decode()
    assert "2</b> version(s)" in page and f"delivery {delivery.pk}" in page and "Citrus Wave launch" in page


def test_an_unapproved_or_changed_version_cannot_be_delivered(people, generated, media_root):
    with pytest.raises(ApplicationError, match="no final .client. approval"):
        delivery_create(version=generated, presets=[small_preset()], created_by=people["producer"])
    approve(generated, producer=people["producer"], client_user=people["client"])
    blob_path = media_root / "blobs" / generated.blob.storage_name
    blob_path.chmod(0o644)
    blob_path.write_bytes(blob_path.read_bytes() + b"tampered")
    with pytest.raises(ApplicationError, match="no longer match what was approved"):
        delivery_create(version=generated, presets=[small_preset()], created_by=people["producer"])
    assert not Delivery.objects.exists()


def test_failed_qc_blocks_until_a_producer_overrides_with_a_reason(people, master, run_jobs):
    preset = small_preset(background_colour="#000000", min_delta_e=100.0)
    with run_jobs():
        delivery = delivery_create(version=master, presets=[preset], created_by=people["producer"])
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.BLOCKED and "background_contrast" in delivery.error
    [fact] = delivery.qc
    assert {c["check"] for c in fact["checks"]} == {"resolution", "background_contrast", "brand_palette", "rights"}
    assert not DeliveryItem.objects.exists()
    with pytest.raises(ApplicationError, match="only a producer"):
        delivery_override(delivery=delivery, reason="client asked", user=people["client"])
    with pytest.raises(ApplicationError, match="reason"):
        delivery_override(delivery=delivery, reason="  ", user=people["producer"])
    with run_jobs():
        delivery_override(delivery=delivery, reason="dark page section approved by the client", user=people["producer"])
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED and delivery.overridden_by == people["producer"]
    event = AuditEvent.objects.get(kind="delivery.qc_overridden", object_id=delivery.pk)
    assert event.payload["reason"] == "dark page section approved by the client"
    assert event.payload["failed"][0]["checks"] == ["background_contrast", "brand_palette"]


def test_an_outpaint_preset_blocks_a_crop_that_would_cut_the_master(people, master, run_jobs):
    banner = small_preset(slug="wide-outpaint", width=48, height=24, crop_rule=ChannelPreset.CropRule.OUTPAINT)
    square = small_preset(slug="square-outpaint", width=32, height=32, crop_rule=ChannelPreset.CropRule.OUTPAINT)
    with run_jobs():
        delivery = delivery_create(version=master, presets=[banner, square], created_by=people["producer"])
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.BLOCKED and "wide-outpaint: outpaint" in delivery.error
    checks = {fact["preset"]: {c["check"]: c for c in fact["checks"]} for fact in delivery.qc}
    assert (
        checks["wide-outpaint"]["outpaint"]["value"] == 0.5
        and "target_aspect 2:1" in checks["wide-outpaint"]["outpaint"]["detail"]
    )
    assert checks["square-outpaint"]["outpaint"]["passed"]
    with run_jobs():
        delivery_override(delivery=delivery, reason="client accepts a centre crop", user=people["producer"])
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    # What the lineage records is what was done: a crop around the focal point, not an outpaint.
    wide = delivery.items.get(preset=banner).version.generated_by.derivation
    assert wide.params["crop_rule"] == "focal" and wide.params["crop"] == [0, 16, 64, 48]


def _foreign_key(settings, folder: Path) -> None:
    from delivery.keys import dev_ca_create

    # A key that does not belong to the configured certificate: c2pa refuses to sign with it.
    settings.SEED_C2PA_KEY = dev_ca_create(folder=folder)["key"]


def _not_a_certificate(settings, folder: Path) -> None:
    folder.mkdir()
    (folder / "chain.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    )
    settings.SEED_C2PA_CERT = folder / "chain.pem"


@pytest.mark.parametrize("misconfigure", [_foreign_key, _not_a_certificate])
def test_a_failed_signing_leaves_no_partial_file_and_no_rows(
    people, master, run_jobs, settings, tmp_path, misconfigure
):
    misconfigure(settings, tmp_path / "other")
    versions_before = Version.objects.count()
    blobs_before = _tree(Path(settings.STORAGES["blobs"]["OPTIONS"]["location"]))
    with run_jobs():
        delivery = delivery_create(
            version=master, presets=[small_preset()], created_by=people["producer"], override_reason="signing test"
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.FAILED and "sign" in delivery.error.lower()
    assert _tree(Path(settings.SEED_DELIVERY_DIR)) == {}
    assert Version.objects.count() == versions_before and not DeliveryItem.objects.exists()
    assert _tree(Path(settings.STORAGES["blobs"]["OPTIONS"]["location"])) == blobs_before
    assert not Derivation.objects.filter(op="rendition").exists()


def test_all_seven_presets_named_by_template_without_collisions(people, master, run_jobs):
    twin = small_preset(slug="twin-a")
    twin_b = small_preset(slug="twin-b")
    presets = list(
        ChannelPreset.objects.filter(
            slug__in=["square", "vertical", "widescreen", "hero", "social-4x5", "product-card", "presentation"]
        )
    ) + [twin, twin_b]
    with run_jobs():
        delivery = delivery_create(
            version=master,
            presets=presets,
            created_by=people["producer"],
            override_reason="tiny master: every slot needs an upscale",
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    names = [item.file_name for item in delivery.items.all()]
    assert len(set(names)) == 9 and all(name.endswith(("_42.jpg", "_42_2.jpg")) for name in names)
    twins = sorted(delivery.items.filter(preset__in=[twin, twin_b]).values_list("file_name", flat=True))
    assert twins[1] == twins[0].replace("_42.jpg", "_42_2.jpg")
    resolution = {item.preset.slug: item.qc["checks"][0] for item in delivery.items.all()}
    assert resolution["hero"]["passed"] is False and resolution["hero"]["value"] > 1
    slate = delivery.items.get(preset__slug="presentation")
    assert (slate.width, slate.height) == (1920, 1080)
    assert delivery.progress_step == delivery.progress_total == 9


def test_a_master_in_the_brand_palette_passes_qc_and_delivers_with_no_override(people, run_jobs):
    import io

    from django.core.files.base import ContentFile
    from PIL import Image, ImageDraw

    from assets.services.versions import version_import

    # An illustration painted in the brand's own colours: every check has something real to pass.
    canvas = Image.new("RGB", (192, 192), "#FE2C54")
    ImageDraw.Draw(canvas).rectangle([96, 0, 191, 191], fill="#00E0FF")
    ImageDraw.Draw(canvas).ellipse([64, 64, 128, 128], fill="#FFD500")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    master = version_import(
        brief=people["brief"], source=ContentFile(buffer.getvalue(), name="brand.png"), label="brand art"
    )
    approve(master, producer=people["producer"], client_user=people["client"])
    preset = small_preset(slug="card-on-black", width=96, height=96, background_colour="#000000")
    with run_jobs():
        delivery = delivery_create(version=master, presets=[preset], created_by=people["producer"])
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    assert delivery.override_reason == "" and delivery.overridden_by is None
    [fact] = delivery.qc
    assert fact["passed"] and {c["check"]: c["passed"] for c in fact["checks"]} == {
        "resolution": True,
        "background_contrast": True,
        "brand_palette": True,
        "rights": True,
    }
    assert fact["nearest_brand_colour"] in ("#FE2C54", "#00E0FF") and fact["nearest_brand_delta_e"] < 1
    item = delivery.items.get()
    assert item.qc == fact and item.manifest_state == "trusted"
    assert not AuditEvent.objects.filter(kind="delivery.qc_overridden").exists()
