"""The review workspace in Chromium: keyboard triage, markup that survives a reload, compare, threads.

Screenshots land in .test-artifacts/screenshots/ (SEED_TEST_ARTIFACTS to move them) for a person to look at.
"""

from assets.models import Version
from review.models import Note, Rating, ReviewPolicy
from review.services.rounds import decision_record, round_open
from tests.factories import derive
from tests.review.browser import (
    ARTIFACTS,
    BROWSER_MARKS,
    admin_page,
    browser_password,
    serious_accessibility_violations,
)

pytestmark = BROWSER_MARKS


def test_reviewer_works_a_round_in_the_workspace(cast, live_server):
    from playwright.sync_api import sync_playwright

    bob = cast["bob"]
    password = browser_password(bob)
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    first = round_open(
        brief=cast["brief_a"], versions=[cast["version_a"]], stage="internal", opened_by=cast["alice"], reviewers=[bob]
    )
    decision_record(
        review_round=first, version=cast["version_a"], verdict="changes_requested", reviewer=bob, comment="warmer"
    )
    fixed = derive(brief=cast["brief_a"], parents=[cast["version_a"]], blob=cast["version_a2"].blob, size=(32, 32))
    second = round_open(
        brief=cast["brief_a"],
        versions=[fixed, cast["version_a2"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=[bob],
    )
    sibling = derive(brief=cast["brief_a"], parents=[cast["version_a"]], blob=cast["version_a2"].blob, size=(32, 32))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=bob, password=password)
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
        # Or any version of the brief the reviewer picks: side by side, the recipe diff against that one.
        page.select_option("[data-act=compare-mode]", "side")
        page.select_option("[data-act=compare-with]", str(sibling.pk))
        page.wait_for_selector(f".ws-before .ws-caption:has-text('compared with: v{sibling.pk}')")
        page.wait_for_selector(f".ws-diff caption:has-text('against v{sibling.pk}')")
        page.select_option("[data-act=compare-with]", "")

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
    assert (
        Version.objects.get(pk=fixed.pk).triage == "keep"
        and Version.objects.get(pk=cast["version_a2"].pk).triage == "reject"
    )
    note = Note.objects.get(parent__isnull=True)
    assert [shape["type"] for shape in note.markup] == ["arrow", "freehand"] and note.sha256 == fixed.blob_id
    assert note.resolved_by == bob and note.replies.get().text == "Agreed, regenerating it"
    assert [user.username for user in note.mentions.all()] == ["alice"]
    assert all(0 <= v <= 1 for shape in note.markup for point in shape["points"] for v in point)
    assert (ARTIFACTS / "workspace-compare-wipe.png").stat().st_size > 10_000


def test_eighteen_versions_are_triaged_by_keyboard_alone(cast, live_server):
    """Stars and triage for a whole round without touching the mouse, then an accessibility scan of the workspace."""
    from playwright.sync_api import sync_playwright

    bob = cast["bob"]
    password = browser_password(bob)
    versions = [
        derive(brief=cast["brief_a"], parents=[cast["version_a"]], blob=cast["version_a"].blob, size=(32, 32))
        for _ in range(18)
    ]
    review_round = round_open(
        brief=cast["brief_a"], versions=versions, stage="internal", opened_by=cast["alice"], reviewers=[bob]
    )
    keys = {"p": "keep", "x": "reject", "r": "regenerate", "m": "maybe_later"}
    plan = [(1 + index % 5, "pxrm"[index % 4]) for index in range(len(versions))]

    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=bob, password=password)
        page.goto(f"{live_server.url}/admin/review/reviewround/{review_round.pk}/workspace/")
        page.wait_for_selector(".ws-strip button[data-index='0'][aria-current=true]")
        for index, (stars, key) in enumerate(plan):
            with page.expect_response(lambda response: response.url.endswith("/rating/") and response.ok):
                page.keyboard.press(str(stars))
            with page.expect_response(lambda response: "triage" in response.url and response.ok):
                page.keyboard.press(key)
            if index + 1 < len(plan):
                page.keyboard.press("ArrowRight")
                page.wait_for_selector(f".ws-strip button[data-index='{index + 1}'][aria-current=true]")
        page.keyboard.press("?")
        page.wait_for_selector(".ws-help[open]")
        page.screenshot(path=str(ARTIFACTS / "workspace-keyboard-map.png"))
        page.keyboard.press("Escape")
        assert serious_accessibility_violations(page) == []
        browser.close()

    stars = dict(Rating.objects.filter(reviewer=bob).values_list("version_id", "stars"))
    triage = dict(Version.objects.filter(pk__in=[v.pk for v in versions]).values_list("pk", "triage"))
    assert [(stars[v.pk], triage[v.pk]) for v in versions] == [(s, keys[k]) for s, k in plan]


def test_a_marked_region_is_fixed_on_the_worker_and_the_note_travels_into_the_next_round(tiny, cast, live_server):
    from playwright.sync_api import sync_playwright

    from assets.models import Derivation
    from generation.requests import GenerationRequest
    from generation.services.jobs import generation_job_create
    from review.services.curation import versions_triage
    from review.services.notes import note_add
    from review.services.rounds import round_close
    from tests.generation.conftest import FAST

    alice = cast["alice"]
    password = browser_password(alice)
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    # Tests run the broker synchronously: a task runs on the worker's path as its transaction commits.
    job = generation_job_create(
        request=GenerationRequest(
            brief=cast["brief_a"],
            op="txt2img",
            base_model=tiny["base"],
            prompt_text="a can on a roof",
            params={**FAST, "seed": 5, "batch_size": 1},
        ),
        created_by=alice,
    )
    version = job.batches.get().derivation.generated.get().version
    first = round_open(
        brief=cast["brief_a"], versions=[version], stage="internal", opened_by=alice, reviewers=[cast["bob"]]
    )
    note = note_add(
        review_round=first,
        version=version,
        text="a hand holding the can",
        author=cast["bob"],
        markup=[{"type": "ellipse", "points": [[0.25, 0.25], [0.75, 0.75]]}],
    )
    still_open = note_add(
        review_round=first,
        version=version,
        text="warmer sky",
        author=cast["bob"],
        markup=[{"type": "arrow", "points": [[0.1, 0.1], [0.3, 0.3]]}],
    )

    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=alice, password=password)
        page.goto(f"{live_server.url}/admin/review/reviewround/{first.pk}/workspace/")
        fix = page.locator(f".ws-notes li[data-note='{note.pk}'] [data-act=fix]")
        fix.wait_for()
        page.once("dialog", lambda dialog: dialog.accept("a hand holding the can, five fingers"))
        fix.click()
        page.wait_for_selector(f".ws-notes li[data-note='{note.pk}'] em:has-text('fix queued')")
        browser.close()

    # Playwright's sync API holds an event loop on this thread: the database is used between browser sessions.
    note.refresh_from_db()
    assert note.fixed_by.state == "succeeded", note.fixed_by.error
    fixed = note.fixed_by.generated.order_by("index").first().version
    versions_triage(versions=[fixed], triage="keep", actor=alice)
    round_close(review_round=first, closed_by=alice)
    second = round_open(
        brief=cast["brief_a"], versions=[version], stage="internal", opened_by=alice, reviewers=[cast["bob"]]
    )
    assert set(second.versions.all()) == {version, fixed}

    with sync_playwright() as playwright:
        browser, page = admin_page(playwright, base_url=live_server.url, user=alice, password=password)
        page.goto(f"{live_server.url}/admin/review/reviewround/{second.pk}/workspace/")
        page.locator(".ws-strip button", has_text=fixed.label or f"v{fixed.pk}").click()
        carried = page.locator(".ws-carried li")
        carried.first.wait_for()
        texts = carried.all_inner_texts()
        assert any("a hand holding the can" in text and "addressed, awaiting review" in text for text in texts)
        assert any("warmer sky" in text and "still open" in text for text in texts)
        assert page.locator(".ws-draw g.greyed").count() == 2  # both notes' markup, greyed on the fix
        page.screenshot(path=str(ARTIFACTS / "workspace-fixed-region-next-round.png"))
        browser.close()
    assert Derivation.objects.get(pk=note.fixed_by_id).used.filter(role="change_request").exists()
    assert still_open.resolved_at is None
