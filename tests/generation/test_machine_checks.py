"""The generation side's machine-read checks on real versions: the sharpness map finds a blurred quadrant, the halo
check tells a fringed cut-out from a clean one, and OCR reads the brief's copy back (and fails a misspelling)."""

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw, ImageFilter

from assets.services.versions import version_import
from generation.copy_check import copy_check
from generation.machine_checks import halo_check, sharpness_check
from generation.operations.text_overlay import text_overlay
from tests.factories import make_brief

pytestmark = pytest.mark.django_db


def _version(brief, image: Image.Image, name: str):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return version_import(brief=brief, source=ContentFile(buffer.getvalue(), name=name), label=name)


def _texture(size=256) -> Image.Image:
    """Random colour blocks: edges everywhere, as detail is in a sharp photograph."""
    blocks = np.random.default_rng(7).integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    return Image.fromarray(blocks).resize((size, size), Image.Resampling.NEAREST)


def _cutout(*, fringe: bool) -> Image.Image:
    image = Image.new("RGBA", (128, 128), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 20, 108, 108), fill=(150, 30, 40, 255))
    if fringe:  # what a matte leaves of a white studio backdrop along the subject's edge
        draw.ellipse((20, 20, 108, 108), outline=(250, 250, 250, 255), width=2)
    return image


def test_the_sharpness_map_marks_a_blurred_quadrant_as_the_softest():
    brief = make_brief()
    image = _texture()
    image.paste(image.crop((0, 0, 128, 128)).filter(ImageFilter.GaussianBlur(3)), (0, 0))
    (finding,) = sharpness_check(_version(brief, image, "blurred.png"))
    assert finding.verdict == "warn" and "soft details" in finding.detail
    softest = finding.measure["softest"]
    assert len(softest) == 3
    assert all(box["x"] + box["w"] <= 0.5 and box["y"] + box["h"] <= 0.5 for box in softest)
    assert 0.15 <= finding.measure["soft_share"] <= 0.3
    heat = Image.open(io.BytesIO(finding.artefact))
    assert heat.mode == "RGBA" and heat.width == heat.height
    # Red where it is soft, clear where it is sharp.
    assert heat.getpixel((heat.width // 8, heat.height // 8))[3] > 0
    assert heat.getpixel((heat.width * 7 // 8, heat.height * 7 // 8))[3] == 0

    (sharp,) = sharpness_check(_version(brief, _texture(), "sharp.png"))
    assert sharp.verdict == "pass" and sharp.measure["softest"] == []
    (flat,) = sharpness_check(_version(brief, Image.new("RGB", (64, 64), (200, 30, 30)), "flat.png"))
    assert flat.verdict == "unknown"


def test_the_halo_check_tells_a_fringed_cutout_from_a_clean_one():
    brief = make_brief()
    (fringed,) = halo_check(_version(brief, _cutout(fringe=True), "fringed.png"))
    (clean,) = halo_check(_version(brief, _cutout(fringe=False), "clean.png"))
    assert fringed.verdict == "warn" and "bright halo" in fringed.detail
    assert fringed.measure["brightness_halo"] > 100 and fringed.measure["fringe_share"] > 0.8
    assert clean.verdict == "pass" and clean.measure["fringe_share"] < 0.05
    # An image without transparency is no cut-out: nothing to say.
    assert halo_check(_version(brief, _texture(64), "opaque.png")) == []


def _poster(text: str) -> Image.Image:
    """Copy set by the text overlay operation itself (its TrueType font), over a colourful texture."""
    return text_overlay(_texture(256), text=text, font_data=None, size=36, colour="#FFFFFF", position="center")


def test_ocr_reads_the_required_copy_back_and_fails_a_misspelling(socket_refused):
    brief = make_brief(required_copy=["SALE 50%", "CITRUS WAVE"])
    right = copy_check(_version(brief, _poster("SALE 50%"), "right.png"))
    wrong = copy_check(_version(brief, _poster("SAEL 50%"), "wrong.png"))
    by_key = {finding.key: finding for finding in right}
    assert set(by_key) == {"copy:SALE 50%", "copy:CITRUS WAVE"}
    sale = by_key["copy:SALE 50%"]
    assert sale.verdict == "pass" and sale.measure["similarity"] == 1.0 and sale.measure["confidence"] > 0.8
    assert "50%" in sale.measure["read"] and "reads" in sale.detail
    x, y, w, h = sale.measure["box"]
    assert 0 < x < 0.5 and 0.3 < y < 0.6 and w > 0.3 and h < 0.4  # where the overlay set it: the middle
    assert by_key["copy:CITRUS WAVE"].verdict == "fail"
    misspelt = {finding.key: finding for finding in wrong}["copy:SALE 50%"]
    assert misspelt.verdict == "fail" and misspelt.measure["similarity"] < 1
    assert "SAEL" in misspelt.measure["read"].upper() and "closest reading" in misspelt.detail


@pytest.fixture
def socket_refused(monkeypatch):
    """The OCR's models ship in its wheel: reading must not reach for the network."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("the OCR tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
