"""Review templates in Chromium at phone width: the template's stages edited inline in the admin by keyboard, and a
guest's share page in a stage that locks full-resolution files."""

from review.models import ReviewPolicy, ReviewRound
from review.services.rounds import decision_record, round_open
from review.services.share_links import share_link_create
from review.services.templates import StageSpec, review_template_ensure
from tests.review.browser import (
    ARTIFACTS,
    BROWSER_MARKS,
    admin_page,
    browser_password,
    serious_accessibility_violations,
)

pytestmark = BROWSER_MARKS
PHONE = (390, 844)


def test_a_template_is_edited_by_keyboard_and_a_locked_stage_shows_previews_on_a_phone(cast, live_server):
    from playwright.sync_api import sync_playwright

    alice = cast["alice"]
    password = browser_password(alice)
    template = review_template_ensure(
        name="Phone check",
        stages=[
            StageSpec(step=1, name="Internal", deciders=[cast["bob"]], downloads=True),
            StageSpec(step=2, name="Client", audience="client", deciders=[cast["dana"]]),
        ],
    )
    ReviewPolicy.objects.create(brief=cast["brief_a"], template=template)
    internal = round_open(brief=cast["brief_a"], versions=[cast["version_a"]], stage="internal", opened_by=alice)
    decision_record(review_round=internal, version=cast["version_a"], verdict="approve", reviewer=cast["bob"])
    client_round = ReviewRound.objects.get(stage="client")
    _, token = share_link_create(review_round=client_round, expires=client_round.deadline, created_by=alice)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=alice, password=password, viewport=PHONE)
        page.goto(f"{live_server.url}/admin/review/reviewtemplate/{template.pk}/change/")
        page.focus("#id_name")
        for _ in range(120):  # Tab through the stages to the link that adds one
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.closest('.add-row') !== null"):
                break
        assert page.evaluate("document.activeElement.closest('.add-row') !== null")
        page.keyboard.press("Enter")
        page.fill("#id_stages-2-name", "Legal")
        page.fill("#id_stages-2-step", "4")
        page.screenshot(path=str(ARTIFACTS / "review-template-phone.png"), full_page=True)
        assert serious_accessibility_violations(page) == []
        page.click("input[name=_save]")
        errors = page.locator(".inline-group .errorlist").first.inner_text()
        page.screenshot(path=str(ARTIFACTS / "review-template-phone-error.png"), full_page=True)

        page.goto(f"{live_server.url}/review/s/{token}/")
        notice = page.inner_text(".ws-locked")
        page.screenshot(path=str(ARTIFACTS / "share-page-locked-stage-phone.png"), full_page=True)
        locked_axe = serious_accessibility_violations(page)
        refused = page.goto(f"{live_server.url}/review/s/{token}/full/{cast['version_a'].pk}/")
        refused_text = page.inner_text("body")
        browser.close()

    assert "steps must run 1, 2, 3… without a gap; this template has steps 1, 2, 4" in errors
    assert "The Client stage shows previews" in notice and locked_axe == []
    assert refused.status == 403 and "Full-resolution files are locked in this review stage" in refused_text
