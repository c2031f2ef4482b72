"""A reviewer signs off in the admin through a real headless Chromium."""

from django.contrib.auth import get_user_model

from assets.models import AuditEvent
from review.models import Approval, Decision
from review.services.rounds import round_open
from tests.review.browser import (
    ARTIFACTS,
    BROWSER_MARKS,
    admin_page,
    browser_password,
    chromium_launch,
    serious_accessibility_violations,
)

pytestmark = BROWSER_MARKS


def test_reviewer_approves_a_version_in_the_admin(cast, live_server):
    from playwright.sync_api import sync_playwright

    dana = cast["dana"]
    password = browser_password(dana)
    review_round = round_open(
        brief=cast["brief_a"], versions=[cast["version_a"]], stage="client", opened_by=cast["alice"], reviewers=[dana]
    )
    item = review_round.items.get()

    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=dana, password=password)
        page.goto(f"{live_server.url}/admin/review/roundversion/?review_round__id__exact={review_round.pk}")
        page.check(f"input[name=_selected_action][value='{item.pk}']")
        page.select_option("select[name=action]", "approve")
        page.click("button[name=index]")
        page.fill("#id_comment", "Approved from the browser")
        page.click("input[type=submit][value=Approve]")
        page.wait_for_url("**/admin/review/roundversion/**")
        body = page.content()
        browser.close()

    assert "recorded for 1 version" in body
    decision = Decision.objects.get()
    assert (decision.reviewer_id, decision.verdict, decision.comment) == (
        dana.pk,
        "approve",
        "Approved from the browser",
    )
    approval = Approval.objects.get(version=cast["version_a"])
    assert approval.final and approval.sha256 == cast["version_a"].blob_id
    event = AuditEvent.objects.get(kind="decision")
    assert event.actor_id == dana.pk and event.payload["sha256"] == cast["version_a"].blob_id
    assert get_user_model().objects.get(pk=dana.pk).decisions.count() == 1


def test_a_guest_follows_the_emailed_link_and_approves_on_a_phone(cast, live_server, settings):
    """The client round opens by itself after the internal approval; the guest's invitation goes through a real SMTP
    server, and the link in it is followed in Chromium at phone width."""
    import re

    from playwright.sync_api import sync_playwright

    from review.models import ReviewPolicy, ReviewRound, RoundReviewer
    from review.services.rounds import decision_record
    from tests.review.notify_servers import SmtpServer

    smtp = SmtpServer()
    smtp.controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.SEED_BASE_URL = live_server.url
    try:
        ReviewPolicy.objects.create(brief=cast["brief_a"], guest_emails=["gina@client.example"])
        internal = round_open(
            brief=cast["brief_a"],
            versions=[cast["version_a"]],
            stage="internal",
            opened_by=cast["alice"],
            reviewers=[cast["bob"]],
        )
        decision_record(review_round=internal, version=cast["version_a"], verdict="approve", reviewer=cast["bob"])
        [invitation] = smtp.to("gina@client.example")
    finally:
        smtp.controller.stop()
    link = re.search(
        r"http://\S+/review/s/[\w-]+/", invitation.get_body(preferencelist=("plain",)).get_content()
    ).group(0)

    with sync_playwright() as playwright:
        browser = chromium_launch(playwright)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.goto(link)
        page.wait_for_selector(".ws-strip button[aria-current=true]")
        assert serious_accessibility_violations(page) == []
        page.click(".ws-approve")
        page.wait_for_selector(".ws-status:has-text('give your name')")  # nothing is recorded without it
        page.fill("#ws-guest-name", "Gina")
        page.click(".ws-approve")
        page.wait_for_selector(".ws-status:has-text('approve: recorded')")
        page.screenshot(path=str(ARTIFACTS / "guest-workspace-on-a-phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.wait_for_selector(".ws-strip button[aria-current=true]")
        page.screenshot(path=str(ARTIFACTS / "guest-workspace-at-desk-width.png"))
        browser.close()

    client_round = ReviewRound.objects.get(previous=internal)
    guest = RoundReviewer.objects.get(review_round=client_round, guest_email="gina@client.example")
    assert guest.first_viewed_at is not None
    decision = Decision.objects.get(review_round=client_round, share_link=guest.share_link)
    assert (decision.verdict, decision.guest_name) == ("approve", "Gina")
