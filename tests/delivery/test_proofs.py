"""Soft proofs through a print preset's profile, the slots a version will fill, and delivery's machine-read checks:
against LittleCMS called directly, the files a real delivery writes, and the checklist's records."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client
from PIL import Image, ImageCms

from assets import colour
from assets.models import VersionCheck
from assets.services.machine_checks import machine_checks_run
from assets.services.versions import version_import
from delivery.models import ChannelPreset, Delivery, FocalPoint
from delivery.sample_icc import sample_cmyk_profile
from delivery.selectors import slots_plan
from delivery.services.deliveries import delivery_create
from delivery.services.presets import preset_print_profile_set
from delivery.services.proofs import proof_ensure, slot_ensure
from generation.finishing_ops import cmyk_convert
from review.models import ReviewRound
from review.services.rounds import round_open
from review.workspace import workspace_data
from tests.delivery.conftest import approve

NEON_GREEN, TAN, WHITE = (0, 255, 0), (200, 150, 120), (255, 255, 255)


def _thirds(size=(192, 128)) -> bytes:
    """A neon green the press cannot print, a tan it can, and white paper: a third each, side by side."""
    width, height = size
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    for index, rgb in enumerate((NEON_GREEN, TAN, WHITE)):
        pixels[:, index * width // 3 : (index + 1) * width // 3] = rgb
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def press(people):
    """An A6 print preset in CMYK through the sample profile (its press cannot reach a screen's neon green)."""
    preset = ChannelPreset.objects.create(
        slug="print-a6",
        name="Print A6",
        width=1240,
        height=1748,
        format=ChannelPreset.Format.TIFF,
        colour_profile=ChannelPreset.Profile.CMYK,
        section="print",
        print_width_mm=105,
    )
    return preset_print_profile_set(preset=preset, source=ContentFile(sample_cmyk_profile(), name="press.icc"))


@pytest.fixture
def thirds(people):
    return version_import(brief=people["brief"], source=ContentFile(_thirds(), name="thirds.png"), label="thirds")


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _derived(name: str) -> Image.Image:
    with storages["derived"].open(name, "rb") as handle, Image.open(handle) as image:
        return image.convert("RGB")


def test_the_proof_is_the_press_conversion_seen_back_on_screen_with_the_gamut_it_cannot_reach(thirds, press):
    files = proof_ensure(version=thirds, preset=press, intent="relative", black_point=True, paper_white=False)
    proof, warning = _derived(files.proof), _derived(files.gamut)
    # The reference: the CMYK a delivery writes (delivery's own conversion), shown back through the profile.
    with Image.open(io.BytesIO(_thirds())) as master:
        cmyk = cmyk_convert(master, profile_data=sample_cmyk_profile(), intent="relative")
    reference = ImageCms.profileToProfile(
        cmyk,
        ImageCms.ImageCmsProfile(io.BytesIO(sample_cmyk_profile())),
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")),
        renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        outputMode="RGB",
    )
    points = [(x, y) for x in range(5, 192, 23) for y in range(3, 128, 31)]
    shown = np.array([proof.getpixel(p) for p in points]) / 255.0
    expected = np.array([reference.getpixel(p) for p in points]) / 255.0
    assert colour.delta_e2000(colour.srgb_to_lab(shown), colour.srgb_to_lab(expected)).max() < 1.5
    # The green third only is out of gamut, painted; the tan and the paper print as they show.
    assert files.out_of_gamut_percent == pytest.approx(100 / 3, abs=0.5)
    stripes = {(255, 0, 255), (0, 0, 0)}
    assert {warning.getpixel((x, 10)) for x in range(10, 18)} == stripes and proof.getpixel((10, 10)) not in stripes
    assert warning.getpixel((100, 60)) == proof.getpixel((100, 60)) not in stripes
    assert proof.getpixel((180, 60)) == WHITE
    # Paper white: the sheet's own tint shows where the screen had white; the gamut share is the press's, unchanged.
    paper = proof_ensure(version=thirds, preset=press, intent="relative", black_point=True, paper_white=True)
    assert _derived(paper.proof).getpixel((180, 60)) != WHITE
    assert paper.out_of_gamut_percent == files.out_of_gamut_percent


def test_a_proof_is_made_once_and_then_served_from_its_cache(people, thirds, press):
    client = _signed_in(people["producer"])
    address = f"/review/versions/{thirds.pk}/proof/?preset=print-a6&intent=relative&bpc=1&paper=0"
    first = client.get(address)
    assert first.status_code == 200 and b"33.33 %" in first.content
    stem = f"proofs/{thirds.blob_id[:2]}/{thirds.blob_id}-{press.print_profile_id}-relative-bpc-screen"
    storage = storages["derived"]
    made = Path(storage.path(f"{stem}.png")).stat().st_mtime_ns
    # Were it measured again, the page would say 33.33 %: it reads what the first request recorded.
    Path(storage.path(f"{stem}.json")).write_text(json.dumps({"out_of_gamut_percent": 12.5}))
    again = client.get(address)
    assert b"12.5 %" in again.content and b"33.33 %" not in again.content
    image = client.get(f"/review/versions/{thirds.pk}/proof/image/?preset=print-a6&intent=relative&bpc=1&paper=0")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert Path(storage.path(f"{stem}.png")).stat().st_mtime_ns == made
    assert client.get(address.replace("relative", "sideways")).status_code == 400
    assert client.get(address.replace("print-a6", "no-such-preset")).status_code == 404


def test_proofs_and_slots_are_for_studio_staff_only(people, thirds, press):
    pages = [
        f"/review/versions/{thirds.pk}/proof/",
        f"/review/versions/{thirds.pk}/proof/image/?layer=gamut",
        f"/review/versions/{thirds.pk}/slots/",
        f"/review/versions/{thirds.pk}/slots/square.png",
    ]
    staff, client_user, anonymous = _signed_in(people["producer"]), _signed_in(people["client"]), Client()
    for page in pages:
        assert staff.get(page).status_code == 200, page
        assert client_user.get(page).status_code == 404, page
        refused = anonymous.get(page)
        assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/"), page
    # The workspace links staff to both pages; a client's (and a guest's) data carries no such links.
    review_round = round_open(
        brief=thirds.brief, versions=[thirds], stage=ReviewRound.Stage.INTERNAL, opened_by=people["producer"]
    )
    [row] = workspace_data(review_round=review_round, user=people["producer"], for_client=False)["versions"]
    assert row["views"] == [
        {"label": "Soft proof", "url": f"/review/versions/{thirds.pk}/proof/"},
        {"label": "Slots", "url": f"/review/versions/{thirds.pk}/slots/"},
    ]
    [seen] = workspace_data(review_round=review_round, user=people["client"], for_client=True)["versions"]
    assert "views" not in seen


def test_a_slot_shows_the_pixels_the_delivery_writes(people, run_jobs):
    master = version_import(brief=people["brief"], source=ContentFile(_thirds(size=(320, 240)), name="m.png"))
    FocalPoint.objects.create(version=master, x=0.8, y=0.3)
    approve(master, producer=people["producer"], client_user=people["client"])
    preset = ChannelPreset.objects.create(
        slug="web-banner",
        name="Web banner",
        width=160,
        height=96,
        format=ChannelPreset.Format.PNG,
        section="web",
        ai_label_placement=ChannelPreset.LabelPlacement.BOTTOM_BAND,
    )
    with run_jobs():
        delivery = delivery_create(
            version=master, presets=[preset], created_by=people["producer"], override_reason="no brand colours here"
        )
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SUCCEEDED, delivery.error
    item = delivery.items.get()
    with Image.open(Path(settings.SEED_DELIVERY_DIR) / delivery.folder / item.file_name) as delivered:
        expected = np.asarray(delivered.convert("RGB"))
    slot = _derived(slot_ensure(version=master, preset=preset))
    assert expected.shape == (96, 160, 3) and np.array_equal(np.asarray(slot), expected)


def test_a_slot_larger_than_the_master_is_flagged_as_upscaled(people, thirds, press):
    plans = {slot.preset.slug: slot for slot in slots_plan(version=thirds)}
    assert set(plans) >= {"square", "hero", "print-a6"} and "presentation" not in plans
    hero = plans["hero"]  # 2560×1080 from a 192×128 master
    assert hero.upscaled and hero.source_per_output == pytest.approx(192 / 2560, rel=1e-3)
    # Portrait A6 from a landscape master: its 128 rows over 148 mm of height are what it holds.
    assert plans["print-a6"].ppi == pytest.approx(128 * 1240 / 1748 / (105 / 25.4), rel=1e-3)
    page = _signed_in(people["producer"]).get(f"/review/versions/{thirds.pk}/slots/")
    assert page.status_code == 200 and b"Upscaled 13.33" in page.content and b"Print at physical size" in page.content


def test_delivery_checks_are_recorded_once_under_keys_naming_what_they_depend_on(people, thirds, press):
    sha = press.print_profile_id
    recorded = {row.key: row for row in machine_checks_run(version_id=thirds.pk) if row.kind != "error"}
    ppi = recorded["print_ppi:print-a6:1240x1748@105mm:min300"]
    assert ppi.verdict == VersionCheck.Verdict.FAIL and ppi.measure["min_ppi"] == 300
    assert ppi.measure["ppi"] == pytest.approx(22.0, abs=0.1) and ppi.measure["print_width_mm"] == 105
    gamut = recorded[f"gamut:{sha}:relative"]
    assert gamut.measure["out_of_gamut_percent"] == pytest.approx(100 / 3, abs=0.5)
    assert gamut.verdict == VersionCheck.Verdict.FAIL and gamut.artefact.media_type == "image/png"
    within, least = settings.SEED_QC_PALETTE_DELTA_E, settings.SEED_QC_PALETTE_MIN_SHARE
    brand = recorded[f"brand_colours:FE2C54-00E0FF-FFD500:de{within:g}:min{least:g}"]
    assert brand.measure["in_palette_share"] == 0 and brand.verdict == VersionCheck.Verdict.FAIL
    count = VersionCheck.objects.filter(version=thirds).count()
    assert machine_checks_run(version_id=thirds.pk) == []
    assert VersionCheck.objects.filter(version=thirds).count() == count
