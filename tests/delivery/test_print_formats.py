"""Channel presets in every format Seed delivers, print included: TIFF (LZW), CMYK through the printer's profile,
pixel density for the print size, and a trusted C2PA manifest on every file."""

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageCms

from assets.errors import ApplicationError
from delivery.models import ChannelPreset, Delivery
from delivery.provenance import manifest_read
from delivery.sample_icc import sample_cmyk_profile
from delivery.selectors import file_verify
from delivery.services.deliveries import delivery_create
from delivery.services.presets import preset_print_profile_set
from tests.factories import api_as

PRINT = {"section": "print", "width": 96, "height": 96, "print_width_mm": 20.32}  # 96 px over 0.8 in: 120 ppi


def _preset(slug, **fields):
    preset, _ = ChannelPreset.objects.update_or_create(
        slug=slug, defaults={"name": slug, "min_ppi": 100, **PRINT, **fields}
    )
    return preset


def _files(delivery: Delivery) -> dict[str, bytes]:
    folder = Path(settings.SEED_DELIVERY_DIR) / delivery.folder
    return {
        item.preset.slug: (folder / item.file_name).read_bytes() for item in delivery.items.select_related("preset")
    }


def test_every_format_is_signed_and_cmyk_print_files_carry_their_profile_and_size(people, master, run_jobs):
    profile = sample_cmyk_profile()
    cmyk_tiff = _preset("print-cmyk-tiff", format="TIFF", colour_profile="cmyk", rendering_intent="perceptual")
    preset_print_profile_set(preset=cmyk_tiff, source=ContentFile(profile, name="press.icc"))
    cmyk_jpeg = _preset("print-cmyk-jpeg", format="JPEG", colour_profile="cmyk", print_profile=cmyk_tiff.print_profile)
    presets = [
        cmyk_tiff,
        cmyk_jpeg,
        _preset("print-rgb-tiff", format="TIFF"),
        _preset("web-png", format="PNG"),
        _preset("web-webp", format="WEBP"),
        _preset("web-avif", format="AVIF"),
    ]
    with run_jobs():
        delivery = delivery_create(
            version=master,
            presets=presets,
            created_by=people["producer"],
            override_reason="tiny random model: no brand colours expected",
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    files = _files(delivery)
    media = {
        "print-cmyk-tiff": "image/tiff",
        "print-cmyk-jpeg": "image/jpeg",
        "print-rgb-tiff": "image/tiff",
        "web-png": "image/png",
        "web-webp": "image/webp",
        "web-avif": "image/avif",
    }
    for slug, data in files.items():
        report = manifest_read(data=data, media_type=media[slug])
        assert report.state == "trusted", (slug, report.codes)
        assert report.lineage["preset"] == slug
    assert {item.file_name.rsplit(".", 1)[1] for item in delivery.items.all()} == {"tif", "jpg", "png", "webp", "avif"}

    with Image.open(io.BytesIO(files["print-cmyk-tiff"])) as tiff:
        assert tiff.format == "TIFF" and tiff.mode == "CMYK" and tiff.info["compression"] == "tiff_lzw"
        assert tiff.info["icc_profile"] == profile and round(tiff.info["dpi"][0]) == 120
        assert "Aurora Soda Co." in tiff.tag_v2[33432] and b"Steps: 4" in tiff.tag_v2[700]
    with Image.open(io.BytesIO(files["print-cmyk-jpeg"])) as jpeg:
        assert jpeg.mode == "CMYK" and jpeg.info["icc_profile"] == profile and round(jpeg.info["dpi"][0]) == 120
        # Back through the same profile, the CMYK file shows what the RGB master showed.
        shown = ImageCms.profileToProfile(
            jpeg,
            ImageCms.ImageCmsProfile(io.BytesIO(profile)),
            ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
            outputMode="RGB",
        )
    with Image.open(io.BytesIO(files["web-png"])) as png:
        reference = png.convert("RGB")
    difference = [
        abs(a - b) for a, b in zip(shown.resize((8, 8)).tobytes(), reference.resize((8, 8)).tobytes(), strict=True)
    ]
    assert sum(difference) / len(difference) < 40
    with Image.open(io.BytesIO(files["print-rgb-tiff"])) as rgb_tiff:
        assert rgb_tiff.mode == "RGB" and "icc_profile" in rgb_tiff.info

    verified = file_verify(data=files["print-cmyk-tiff"], name="copy.tif")
    assert (verified.manifest, verified.match, verified.preset) == ("trusted", "exact", "print-cmyk-tiff")
    producer = api_as(people["producer"])
    with run_jobs():
        response = producer.post(
            "/api/deliveries/",
            {"version": master.pk, "presets": ["print-cmyk-tiff"], "override_reason": "again"},
            format="json",
        )
    assert response.status_code == 201
    assert Delivery.objects.get(pk=response.json()["id"]).state == Delivery.State.SUCCEEDED


def test_a_cmyk_preset_needs_a_printer_profile_and_a_format_that_holds_cmyk(people, master):
    without = _preset("print-no-profile", format="TIFF", colour_profile="cmyk")
    with pytest.raises(ApplicationError, match="no print profile"):
        delivery_create(version=master, presets=[without], created_by=people["producer"])
    png = _preset("print-cmyk-png", format="PNG", colour_profile="cmyk")
    with pytest.raises(ApplicationError, match="CMYK is written as JPEG or TIFF"):
        delivery_create(version=master, presets=[png], created_by=people["producer"])
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    with pytest.raises(ApplicationError, match="CMYK output"):
        preset_print_profile_set(preset=without, source=ContentFile(srgb, name="srgb.icc"))
    with pytest.raises(ApplicationError, match="could not be read"):
        preset_print_profile_set(preset=without, source=ContentFile(b"not a profile", name="junk.icc"))
    without.refresh_from_db()
    assert without.print_profile is None and not Delivery.objects.exists()


def test_the_admin_takes_the_printers_profile_with_the_preset(people, client):
    from django.contrib.auth import get_user_model

    admin_user = get_user_model().objects.create_superuser("root", "root@example.test", "root-pass-123")
    client.force_login(admin_user)
    form = {
        "slug": "press",
        "name": "Press",
        "width": 2480,
        "height": 3508,
        "format": "TIFF",
        "quality": 90,
        "colour_profile": "cmyk",
        "rendering_intent": "relative",
        "crop_rule": "focal",
        "kind": "image",
        "section": "print",
        "min_ppi": 300,
        "print_width_mm": 210,
        "position": 9,
        "active": "on",
        "recipe_exposure": "full",  # a browser posts the select's default
    }
    refused = client.post("/admin/delivery/channelpreset/add/", form)
    assert refused.status_code == 200 and b"CMYK needs the print profile" in refused.content
    made = client.post(
        "/admin/delivery/channelpreset/add/",
        {**form, "print_profile_file": ContentFile(sample_cmyk_profile(), name="press.icc")},
    )
    assert made.status_code == 302, made.content[:2000]
    preset = ChannelPreset.objects.get(slug="press")
    assert preset.print_profile.media_type == "application/vnd.iccprofile" and round(preset.dpi) == 300


def test_a_cut_out_keeps_its_transparency_where_the_format_carries_it(people, generated, tiny, run_jobs):
    from generation.services.finishing import matte_create
    from tests.delivery.conftest import approve

    with run_jobs():
        matte = matte_create(
            version=generated, matting=tiny["matting"], grow=0, feather=0.0, created_by=people["producer"]
        )
    matte.refresh_from_db()
    cut = matte.generated.get().version
    approve(cut, producer=people["producer"], client_user=people["client"])
    slot = {"section": "web", "width": cut.width, "height": cut.height}
    presets = [
        _preset("cut-png", format="PNG", **slot),
        _preset("cut-webp", format="WEBP", **slot),
        _preset("cut-jpeg", format="JPEG", **slot),
        _preset("cut-cmyk", format="TIFF", colour_profile="cmyk", **slot),
    ]
    preset_print_profile_set(preset=presets[-1], source=ContentFile(sample_cmyk_profile(), name="press.icc"))
    with run_jobs():
        delivery = delivery_create(
            version=cut,
            presets=presets,
            created_by=people["producer"],
            override_reason="tiny random model: no brand colours expected",
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    files = _files(delivery)
    from assets.services.blobs import blob_open

    with blob_open(blob=cut.blob) as handle, Image.open(handle) as master:
        alpha = master.getchannel("A")
        clear = min(((x, y) for y in range(master.height) for x in range(master.width)), key=alpha.getpixel)
        assert alpha.getpixel(clear) < 8, "the matte cleared some background"
    for slug in ("cut-png", "cut-webp"):
        with Image.open(io.BytesIO(files[slug])) as image:
            assert image.mode == "RGBA", slug
            assert image.getchannel("A").getpixel(clear) < 8, slug
    with Image.open(io.BytesIO(files["cut-jpeg"])) as jpeg:
        assert jpeg.mode == "RGB" and min(jpeg.getpixel(clear)) > 235  # the cleared background shows as white
    with Image.open(io.BytesIO(files["cut-cmyk"])) as tiff:
        assert tiff.mode == "CMYK" and max(tiff.getpixel(clear)) < 25  # white paper: almost no ink
