"""The review workspace in Chromium: keyboard triage, markup that survives a reload, compare, threads.

Screenshots land in .test-artifacts/screenshots/ (SEED_TEST_ARTIFACTS to move them) for a person to look at.
"""

import os
from pathlib import Path

from django.conf import settings as django_settings

from assets.models import Version
from review.models import Note, Rating, ReviewPolicy
from review.services.rounds import decision_record, round_open
from tests.factories import derive
from tests.review.browser import BROWSER_MARKS, admin_sign_in, chromium_launch

ARTIFACTS = Path(os.environ.get("SEED_TEST_ARTIFACTS", django_settings.BASE_DIR / ".test-artifacts")) / "screenshots"
pytestmark = BROWSER_MARKS


def test_reviewer_works_a_round_in_the_workspace(cast, live_server):
    from playwright.sync_api import sync_playwright

    bob = cast["bob"]
    bob.set_password("bob-browser-pass")
    bob.save(update_fields=["password"])
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    first = round_open(brief=cast["brief_a"], versions=[cast["version_a"]], stage="internal", opened_by=cast["alice"],
                       reviewers=[bob])
    decision_record(review_round=first, version=cast["version_a"], verdict="changes_requested", reviewer=bob, comment="warmer")
    fixed = derive(brief=cast["brief_a"], parents=[cast["version_a"]], blob=cast["version_a2"].blob, size=(32, 32))
    second = round_open(brief=cast["brief_a"], versions=[fixed, cast["version_a2"]], stage="internal", opened_by=cast["alice"],
                        reviewers=[bob])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = chromium_launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        admin_sign_in(page, base_url=live_server.url, username="bob", password="bob-browser-pass")
        page.goto(f"{live_server.url}/admin/review/reviewround/{second.pk}/workspace/")
        page.wait_for_selector(".ws-strip button[aria-current=true]")

        # Keyboard only: four stars and keep on the first version, then the next one.
        page.keyboard.press("4")
        page.wait_for_selector(".ws-status:has-text('4 star(s)')")
        page.keyboard.press("p")
        page.wait_for_selector(".ws-status:has-text('triaged: keep')")

        # Mark up: an arrow and a freehand line, then a note carrying them.
        stage = page.locator(".ws-current").bounding_box()
        cx, cy = stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2
        page.click("[data-tool=arrow]")
        page.mouse.move(cx - 60, cy - 60)
        page.mouse.down()
        page.mouse.move(cx, cy, steps=5)
        page.mouse.up()
        page.click("[data-tool=freehand]")
        page.mouse.move(cx - 40, cy + 20)
        page.mouse.down()
        for step in range(8):
            page.mouse.move(cx - 40 + step * 10, cy + 20 + (step % 2) * 12)
        page.mouse.up()
        page.click("[data-tool=freehand]")
        page.fill("#ws-note-text", "The label edge is soft here @alice")
        page.click(".ws-note-form button[type=submit]")
        page.wait_for_selector(".ws-notes li")
        page.screenshot(path=str(ARTIFACTS / "workspace-markup.png"))

        page.reload()
        page.wait_for_selector(".ws-notes li")
        assert page.locator(".ws-draw line").count() == 1 and page.locator(".ws-draw polyline").count() == 1

        # Compare with the previous round: a wipe at 100 %.
        page.click("[data-zoom='1']")
        page.select_option("[data-act=compare-mode]", "wipe")
        page.keyboard.press("c")
        page.wait_for_selector(".ws-overlay-img:not([hidden])")
        assert "inset(0px 0px 0px 50%)" in page.eval_on_selector(".ws-overlay-img", "node => node.style.clipPath")
        page.screenshot(path=str(ARTIFACTS / "workspace-compare-wipe.png"))

        # Discuss: reply, then resolve.
        page.once("dialog", lambda dialog: dialog.accept("Agreed, regenerating it"))
        page.click(".ws-notes [data-act=reply]")
        page.wait_for_selector(".ws-notes li ol li")
        page.click(".ws-notes [data-act=resolve]")
        page.wait_for_selector(".ws-notes li.resolved")
        page.screenshot(path=str(ARTIFACTS / "workspace-thread.png"))

        page.keyboard.press("ArrowRight")
        page.wait_for_selector(".ws-strip button[data-index='1'][aria-current=true]")
        page.keyboard.press("x")
        page.wait_for_selector(".ws-status:has-text('triaged: reject')")
        browser.close()

    assert Rating.objects.get(version=fixed, reviewer=bob).stars == 4
    assert Version.objects.get(pk=fixed.pk).triage == "keep" and Version.objects.get(pk=cast["version_a2"].pk).triage == "reject"
    note = Note.objects.get(parent__isnull=True)
    assert [shape["type"] for shape in note.markup] == ["arrow", "freehand"] and note.sha256 == fixed.blob_id
    assert note.resolved_by == bob and note.replies.get().text == "Agreed, regenerating it"
    assert [user.username for user in note.mentions.all()] == ["alice"]
    assert all(0 <= v <= 1 for shape in note.markup for point in shape["points"] for v in point)
    assert (ARTIFACTS / "workspace-compare-wipe.png").stat().st_size > 10_000
