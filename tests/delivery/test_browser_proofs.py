"""The soft proof and slots pages in Chromium: the keys, a phone's width, axe; screenshots go to
.test-artifacts/screenshots/ (SEED_TEST_ARTIFACTS to move them) for a person to look at."""

import io

import numpy as np
from django.core.files.base import ContentFile
from PIL import Image

from assets.services.versions import version_import
from delivery.models import ChannelPreset
from delivery.sample_icc import sample_cmyk_profile
from delivery.services.presets import default_presets_ensure, preset_print_profile_set
from review.services.rounds import round_open
from tests.review.browser import (
    ARTIFACTS,
    BROWSER_MARKS,
    admin_page,
    browser_password,
    serious_accessibility_violations,
)

pytestmark = BROWSER_MARKS


def _picture() -> ContentFile:
    """A hue sweep over a grey ramp: saturated colours at the top (out of the press's gamut), calm ones below."""
    hue = np.linspace(0, 1, 256)[None, :].repeat(160, axis=0)
    saturation = np.linspace(1, 0.15, 160)[:, None].repeat(256, axis=1)
    hsv = np.stack([hue * 255, saturation * 255, np.full_like(hue, 235)], axis=-1).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(hsv, "HSV").convert("RGB").save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name="sweep.png")


def test_a_reviewer_proofs_and_sees_the_slots_by_keyboard_and_on_a_phone(cast, live_server, monkeypatch):
    from django_q.conf import Conf
    from playwright.sync_api import sync_playwright

    monkeypatch.setattr(Conf, "SYNC", False)  # the round's machine checks stay queued: not what this test is about

    default_presets_ensure()  # a transactional test starts without the presets migrations made
    preset = ChannelPreset.objects.create(
        slug="print-a5-cmyk",
        name="Print A5, CMYK",
        width=1748,
        height=2480,
        format=ChannelPreset.Format.TIFF,
        colour_profile=ChannelPreset.Profile.CMYK,
        section="print",
        print_width_mm=148,
        position=8,
    )
    preset_print_profile_set(preset=preset, source=ContentFile(sample_cmyk_profile(), name="press.icc"))
    version = version_import(brief=cast["brief_a"], source=_picture(), label="sweep")
    alice = cast["alice"]
    review_round = round_open(brief=cast["brief_a"], versions=[version], stage="internal", opened_by=alice)
    password = browser_password(alice)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=alice, password=password)
        page.goto(f"{live_server.url}/admin/review/reviewround/{review_round.pk}/workspace/")
        page.click(".ws-views a:has-text('Soft proof')")
        page.wait_for_url(f"**/review/versions/{version.pk}/proof/")
        page.wait_for_function("[...document.querySelectorAll('.pv-stage img')].every(i => i.complete)")
        assert "% of the pixels are out of gamut" in page.inner_text(".pv-share")
        page.keyboard.press("p")
        page.wait_for_selector(".pv-showing:has-text('Showing the proof')")
        page.keyboard.press("p")
        page.wait_for_selector(".pv-showing:has-text('Showing the screen')")
        page.keyboard.press("g")
        page.wait_for_function("document.querySelector('.pv-proof img').src.includes('layer=gamut')")
        page.keyboard.press("w")
        page.wait_for_selector(".pv-stage[data-mode=side]")
        page.keyboard.press("+")
        transforms = page.eval_on_selector_all(".pv-canvas", "nodes => nodes.map(n => n.style.transform)")
        assert len(set(transforms)) == 1 and "scale" in transforms[0]  # zoomed together
        page.screenshot(path=str(ARTIFACTS / "proof-desk.png"))
        assert serious_accessibility_violations(page) == []
        page.set_viewport_size({"width": 390, "height": 844})
        page.keyboard.press("0")
        page.screenshot(path=str(ARTIFACTS / "proof-phone.png"), full_page=True)
        assert serious_accessibility_violations(page) == []

        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server.url}/review/versions/{version.pk}/slots/")
        page.wait_for_selector("#slot-hero .sl-warn")
        page.locator("#sl-ppmm").fill("5")
        assert page.evaluate("localStorage.getItem('seed.screen.cssPxPerMm')") == "5"
        width = page.eval_on_selector(".sl-print img", "img => img.getBoundingClientRect().width")
        assert abs(width - 148 * 5) < 1
        page.wait_for_function("[...document.querySelectorAll('.sl-thumb img')].every(i => i.complete)")
        page.screenshot(path=str(ARTIFACTS / "slots-print.png"))
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / "slots-desk.png"))
        assert serious_accessibility_violations(page) == []
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "slots-phone.png"))
        assert serious_accessibility_violations(page) == []
        browser.close()
