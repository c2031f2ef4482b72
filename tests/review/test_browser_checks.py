"""The machine-read checks in the review workspace, in Chromium: they arrive while the page is open, the loupe jumps to
the softest region, the sharpness map lies over the image, the copy's reading shows, and a reviewer overrules a
verdict with the keyboard alone; at a phone's width too, axe clean. Screenshots go to .test-artifacts/screenshots/."""

import io
import threading

import numpy as np
from django.core.files.base import ContentFile
from django.db import connections
from django_q.conf import Conf
from PIL import Image, ImageFilter

from assets.models import Brief, VersionCheck
from assets.services.machine_checks import machine_checks_run
from assets.services.versions import version_import
from generation.operations.text_overlay import text_overlay
from review.services.curation import checklist_ensure
from review.services.rounds import round_open
from tests.review.browser import (
    ARTIFACTS,
    BROWSER_MARKS,
    admin_page,
    browser_password,
    serious_accessibility_violations,
)

pytestmark = BROWSER_MARKS


def _poster() -> bytes:
    """A sale poster with a soft left half (the copy set on the sharp right), 256 px square."""
    blocks = np.random.default_rng(5).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    image = Image.fromarray(blocks).resize((256, 256), Image.Resampling.NEAREST)
    image.paste(image.crop((0, 0, 128, 256)).filter(ImageFilter.GaussianBlur(3)), (0, 0))
    image = text_overlay(image, text="SALE 50%", font_data=None, size=30, colour="#FFFFFF", position="bottom")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _measured_in_a_thread(version_id: int) -> None:
    """What the worker does, from a thread of its own (Playwright holds this one)."""

    def work():
        try:
            machine_checks_run(version_id=version_id)
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()


def test_a_reviewer_reads_and_overrules_the_checks_in_the_workspace(cast, live_server, monkeypatch):
    from playwright.sync_api import sync_playwright

    bob, brief = cast["bob"], cast["brief_a"]
    Brief.objects.filter(pk=brief.pk).update(required_copy=["SALE 50%"])
    checklist_ensure(brief=brief)
    version = version_import(brief=brief, source=ContentFile(_poster(), name="poster.png"), label="poster")
    monkeypatch.setattr(Conf, "SYNC", False)  # the checks wait on the broker: the page must poll for them
    review_round = round_open(brief=brief, versions=[version], stage="internal", opened_by=cast["alice"])
    password = browser_password(bob)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=bob, password=password)
        page.goto(f"{live_server.url}/admin/review/reviewround/{review_round.pk}/workspace/")
        page.wait_for_selector(".ws-checks-status:has-text('measuring on the worker')")
        _measured_in_a_thread(version.pk)
        # The page keeps asking until the worker has finished: every check in, nothing left measuring.
        page.wait_for_selector(".ws-checks-status:not(:has-text('measuring'))", timeout=15_000)
        copy = page.locator(".ws-check[data-kind=copy]")
        assert "Read: “SALE" in copy.inner_text() and "Pass" in copy.inner_text()
        assert page.locator(".ws-check[data-kind=sharpness][data-verdict=warn]").count() == 1

        # The loupe's jump: the softest region fills the pane, on the soft left half.
        page.click(".ws-check[data-kind=sharpness] [data-act=region] >> nth=0")
        transform = page.eval_on_selector(".ws-current .ws-canvas", "node => node.style.transform")
        scale = float(transform.split("scale(")[1].rstrip(")"))
        assert scale > 1.5
        page.click(".ws-check[data-kind=sharpness] [data-act=map]")
        page.wait_for_selector(".ws-map-img:not([hidden])")
        page.screenshot(path=str(ARTIFACTS / "checks-soft-region-with-map.png"))

        # Overrule by keyboard alone: open the form, pick "Pass", say why, send.
        page.focus(".ws-check[data-kind=sharpness] summary")
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.type("shallow focus on the left is the brief's look")
        page.keyboard.press("Enter")
        page.wait_for_selector(".ws-check[data-kind=sharpness][data-verdict=pass] .ws-overruled")
        # Beside the checklist: the machine's word on each item that a check speaks to.
        assert "machine:" not in page.locator(".ws-checklist li", has_text="Eye-line").inner_text()
        assert "machine:" in page.locator(".ws-checklist li", has_text="Brand colour").inner_text()
        assert serious_accessibility_violations(page) == []

        page.set_viewport_size({"width": 390, "height": 844})
        page.locator(".ws-checks").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "checks-on-a-phone.png"), full_page=True)
        assert serious_accessibility_violations(page) == []
        browser.close()

    check = VersionCheck.objects.get(version=version, key="sharpness")
    assert (check.verdict, check.final_verdict, check.overruled_by) == ("warn", "pass", bob)
    assert check.overrule_reason == "shallow focus on the left is the brief's look"
