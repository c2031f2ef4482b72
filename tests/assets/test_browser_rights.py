"""The version page's rights and reproducibility panels, and a licence's page, in Chromium at desk and phone width."""

from datetime import date, timedelta

from assets.models import ModelWeights, ReproducibilityCheck, Used
from assets.services.licences import licence_save
from tests.factories import derive, make_brief
from tests.review.browser import ARTIFACTS, BROWSER_MARKS, admin_page, browser_password

pytestmark = BROWSER_MARKS


def test_rights_and_reproducibility_read_on_the_version_page(cast, live_server):
    from playwright.sync_api import sync_playwright

    brief = make_brief(client_name="Rights Co")
    lora = ModelWeights.objects.create(
        kind="lora", architecture="sd15", name="Grain LoRA", sha256="ab" * 32, size=1, format="safetensors"
    )
    photo = derive(brief=brief, size=(64, 64))
    made = derive(brief=brief, parents=[photo], op="img2img", size=(64, 64))
    Used.objects.create(derivation=made.generated_by.derivation, role=Used.Role.LORA, model_weights=lora, weight=0.8)
    licence_save(
        values={
            "name": "Agency photo",
            "commercial_use": True,
            "attribution": "Photo: Agency X",
            "expires_on": date.today() - timedelta(days=3),
            "versions": [photo],
        }
    )
    licence_save(
        values={
            "name": "CC BY-NC 4.0",
            "spdx_id": "CC-BY-NC-4.0",
            "commercial_use": False,
            "attribution": "Grain by Jo",
            "model_weights": [lora],
        }
    )
    ReproducibilityCheck.objects.create(
        version=made,
        verdict="perceptual_match",
        cause="environment",
        detail="cpu_capability: 'AVX2' → 'DEFAULT'",
        distance=2.0,
        environment_digest="0" * 64,
        trigger="environment",
        wall_seconds=1.2,
        fingerprint_diff=[{"field": "cpu_capability", "recorded": "AVX2", "current": "DEFAULT"}],
    )
    alice = cast["alice"]
    password = browser_password(alice)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=alice, password=password)
        page.goto(f"{live_server.url}/admin/assets/version/{made.pk}/change/")
        rights = page.locator(".field-rights_panel")
        rights.wait_for()
        text = rights.inner_text()
        assert "CC BY-NC 4.0" in text and "does not allow commercial use" in text and "expired on" in text
        assert rights.locator("strong").first.is_visible()
        repro = page.locator(".field-reproducibility_panel").inner_text()
        assert "Perceptual match" in repro and "cpu_capability: 'AVX2' → 'DEFAULT'" in repro
        rights.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "version-rights-desk.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(ARTIFACTS / "version-rights-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{live_server.url}/admin/assets/licence/?expiry=expired")
        assert "Agency photo" in page.inner_text("#result_list")
        page.screenshot(path=str(ARTIFACTS / "licences-expired.png"))
        browser.close()
