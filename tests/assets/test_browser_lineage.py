"""A long chain's lineage picture in Chromium: it scrolls and zooms, its labels never shrink below a readable size."""

from tests.factories import derive, make_brief
from tests.review.browser import ARTIFACTS, BROWSER_MARKS, admin_page, browser_password

pytestmark = BROWSER_MARKS

STEPS = [
    "txt2img",
    "img2img",
    "inpaint",
    "outpaint",
    "upscale",
    "lut",
    "grade",
    "sharpen",
    "denoise",
    "rendition",
]


def test_a_ten_step_chain_scrolls_and_stays_legible(cast, live_server):
    from playwright.sync_api import sync_playwright

    brief = make_brief(client_name="Chain Co")
    version = None
    for op in STEPS:
        version = derive(brief=brief, parents=[version] if version else [], op=op, size=(64, 64))
    alice = cast["alice"]
    password = browser_password(alice)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=alice, password=password)
        page.goto(f"{live_server.url}/admin/assets/version/{version.pk}/change/")
        pane = page.locator(".seed-lineage-pane")
        pane.wait_for()

        def label_height(op_label: str) -> float:
            return page.locator(".seed-lineage text", has_text=op_label).first.bounding_box()["height"]

        # At 100 % the chain is wider than the page: it scrolls, starting at this version (drawn rightmost).
        scroll = pane.evaluate("node => [node.scrollWidth, node.clientWidth, node.scrollLeft]")
        assert scroll[0] > scroll[1] * 2 and scroll[2] > 0
        assert label_height("Crop / rendition") >= 11
        page.screenshot(path=str(ARTIFACTS / "lineage-ten-steps.png"))

        # Fit would need a tenth of the size; it stops at a size that still reads.
        page.click(".seed-lineage-zoom [data-zoom=fit]")
        assert label_height("Crop / rendition") >= 9
        assert pane.evaluate("node => node.scrollWidth > node.clientWidth")
        page.click(".seed-lineage-zoom [data-zoom='2']")
        assert label_height("Crop / rendition") >= 22
        pane.evaluate("node => { node.scrollLeft = 0; }")
        assert page.locator(".seed-lineage text", has_text="Text to image").first.is_visible()
        browser.close()
