"""Production preparation in the admin, in Chromium: background removal from the version list, the mask it makes
with its download link, and image prompts on the job form (screenshots for a person to look at)."""

import io

from PIL import Image, ImageDraw

from assets.models import DerivedFile
from assets.services.versions import version_import
from tests.factories import make_brief
from tests.review.browser import ARTIFACTS, BROWSER_MARKS, admin_page, browser_password

pytestmark = BROWSER_MARKS


def _flat_graphic() -> io.BytesIO:
    image = Image.new("RGB", (96, 64), (255, 255, 255))
    ImageDraw.Draw(image).ellipse((12, 8, 60, 56), fill=(254, 44, 84))
    data = io.BytesIO()
    image.save(data, format="PNG")
    data.seek(0)
    data.name = "mark.png"
    return data


def test_removing_a_background_and_reading_its_mask_in_the_admin(tiny, cast, live_server):
    from playwright.sync_api import sync_playwright

    alice = cast["alice"]
    password = browser_password(alice)
    version = version_import(brief=make_brief(client_name="Cut Co"), source=_flat_graphic())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=alice, password=password)
        page.goto(f"{live_server.url}/admin/assets/version/?id={version.pk}")
        page.check(f"input[name=_selected_action][value='{version.pk}']")
        page.select_option("select[name=action]", "remove_background")
        page.click("button[name=index]")
        page.wait_for_selector("select[name=matting]")
        page.select_option("select[name=matting]", str(tiny["matting"].pk))
        page.fill("input[name=feather]", "1.5")
        page.screenshot(path=str(ARTIFACTS / "matte-action-form.png"), full_page=True)
        # Tests run tasks synchronously: the matte has run when the page comes back.
        page.click("input[type=submit].default")
        page.wait_for_selector(".messagelist")
        assert "queued for 1 item" in page.locator(".messagelist").inner_text()
        page.goto(f"{live_server.url}/admin/assets/derivedfile/")
        row = page.locator("#result_list tbody tr").first
        assert "Alpha mask" in row.inner_text() and "96x64" in row.inner_text()
        page.screenshot(path=str(ARTIFACTS / "derived-files-admin.png"), full_page=True)
        with page.expect_download() as download:
            row.locator("a", has_text="download").click()
        downloaded = download.value.suggested_filename
        page.goto(f"{live_server.url}/admin/generation/generationjob/add/")
        page.wait_for_selector("select[name=ip_adapter]")
        assert page.locator("select[name=ip_adapter] option", has_text="Tiny IP-Adapter").count() == 1
        page.locator("select[name=ip_adapter]").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "job-form-image-prompts.png"))
        browser.close()
    # The ORM is read outside Playwright's block: its event loop makes Django refuse synchronous queries there.
    mask = DerivedFile.objects.get(source=version)
    assert mask.derivation.params["feather"] == 1.5
    assert downloaded == f"mask-{mask.pk}-of-v{version.pk}.png"
