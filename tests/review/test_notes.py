"""Threads with markup: validated shapes bound to bytes, replies and mentions, resolve/reopen, notes that travel
forward to descendants, the open-note rule on approval, and full-resolution images with ETag and byte ranges."""

from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone

from assets.errors import ApplicationError
from review.admin import ReviewRoundAdmin
from review.markup import markup_bounds, markup_clean, markup_svg
from review.models import Decision, Note, Notification, ReviewPolicy, ReviewRound
from review.selectors import notes_open_on, open_notes_by_version
from review.services.notes import note_add, note_resolve
from review.services.rounds import decision_record, round_open
from review.services.share_links import share_link_create
from tests.factories import api_as, derive

V = Decision.Verdict
ARROW = {"type": "arrow", "points": [[0.1, 0.1], [0.5, 0.5]], "colour": "#00e0ff"}
FREEHAND = {"type": "freehand", "points": [[0.2, 0.2], [0.25, 0.3], [0.3, 0.28]]}


@pytest.mark.parametrize(
    "shapes, message",
    [
        ("circle", "list of shapes"),
        ([{"type": "star", "points": [[0, 0]]}], "type must be one of"),
        ([{"type": "rect", "points": [[0.1, 0.1]]}], "takes 2 point"),
        ([{"type": "pin", "points": [[1.2, 0.5]]}], "outside the image"),
        ([{"type": "pin", "points": [[True, 0.5]]}], "two numbers"),
        ([{"type": "text", "points": [[0.5, 0.5]], "text": ""}], "needs 1 to 200 characters"),
        ([{"type": "pin", "points": [[0.5, 0.5]], "colour": "red"}], "#RRGGBB"),
        ([{"type": "pin", "points": [[0.5, 0.5]]}] * 51, "at most 50 shapes"),
        ([{"type": "freehand", "points": [[0.5, 0.5]] * 1000}] * 5, "more than 4000 points"),
    ],
)
def test_markup_is_refused_with_the_reason(shapes, message):
    with pytest.raises(ApplicationError, match=message):
        markup_clean(shapes)


def test_markup_is_stored_normalised_and_drawn_as_svg():
    shapes = markup_clean(
        [
            ARROW,
            FREEHAND,
            {"type": "ellipse", "points": [[0.6, 0.6], [0.9, 0.8]]},
            {"type": "text", "points": [[0.1, 0.9]], "text": "<hand>"},
        ]
    )
    assert shapes[0]["colour"] == "#00E0FF" and shapes[1]["colour"] == "#FF2C54"
    assert markup_bounds(shapes) == pytest.approx((0.2, 0.2, 0.7, 0.6))
    svg = markup_svg(shapes, width=1000, height=500, greyed=True)
    assert 'viewBox="0 0 1000 500"' in svg and "<polyline" in svg and "<ellipse" in svg and "&lt;hand&gt;" in svg
    assert "#9A9AA0" in svg and "#00E0FF" not in svg


def test_threads_replies_mentions_and_resolve(cast, run_jobs):
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=[cast["bob"]],
    )
    with run_jobs():
        note = note_add(
            review_round=review_round,
            version=cast["version_a"],
            text="The hand looks wrong @alice @dana @nobody",
            markup=[ARROW, FREEHAND],
            author=cast["bob"],
            internal=True,
        )
    assert note.sha256 == cast["version_a"].blob_id and len(note.markup) == 2
    assert [user.username for user in note.mentions.all()] == ["alice"]  # dana is a client user; nobody does not exist
    assert Notification.objects.get(kind="mention").email == "alice@example.test"
    with run_jobs():
        reply = note_add(
            review_round=review_round,
            version=cast["version_a"],
            text="Agreed, regenerating",
            author=cast["alice"],
            parent=note,
        )
    assert reply.parent == note and reply.internal
    assert Notification.objects.get(kind="reply").email == "bob@example.test"
    with pytest.raises(ApplicationError, match="cannot see this round"):
        note_add(review_round=review_round, version=cast["version_a"], text="hi", author=cast["dana"])
    note_resolve(note=reply, user=cast["alice"])
    assert Note.objects.get(pk=note.pk).resolved_by == cast["alice"]
    with pytest.raises(ApplicationError, match="already resolved"):
        note_resolve(note=note, user=cast["bob"])
    note_resolve(note=note, user=cast["bob"], resolved=False)
    assert Note.objects.get(pk=note.pk).resolved_at is None


def test_open_notes_travel_forward_and_stand_against_a_plain_approval(cast):
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    first = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=[cast["bob"]],
    )
    note = note_add(
        review_round=first,
        version=cast["version_a"],
        text="fix the label",
        author=cast["bob"],
        markup=[{"type": "rect", "points": [[0.1, 0.1], [0.3, 0.3]]}],
    )
    with pytest.raises(ApplicationError, match="still open: resolve them, or approve with changes"):
        decision_record(review_round=first, version=cast["version_a"], verdict=V.APPROVE, reviewer=cast["bob"])
    decision_record(
        review_round=first,
        version=cast["version_a"],
        verdict=V.CHANGES_REQUESTED,
        reviewer=cast["bob"],
        comment="see my note",
    )
    fixed = derive(brief=cast["brief_a"], parents=[cast["version_a"]], blob=cast["version_a2"].blob)
    second = round_open(
        brief=cast["brief_a"], versions=[fixed], stage="internal", opened_by=cast["alice"], reviewers=[cast["bob"]]
    )
    assert list(notes_open_on(version=fixed)) == [note]
    internal = note_add(
        review_round=second, version=fixed, text="studio only: check the licence", author=cast["alice"], internal=True
    )
    assert open_notes_by_version(review_round=second) == {fixed.pk: [note, internal]}
    assert open_notes_by_version(review_round=second, for_client=True) == {fixed.pk: [note]}
    board = str(ReviewRoundAdmin(ReviewRound, admin.site).board(second, for_client=False))
    assert f"from v{cast['version_a'].pk} · open — bob: fix the label" in board and "studio only" in board
    assert "studio only" not in str(ReviewRoundAdmin(ReviewRound, admin.site).board(second, for_client=True))
    Note.objects.filter(pk=internal.pk).update(resolved_at=timezone.now(), resolved_by=cast["alice"])
    body = api_as(cast["bob"]).get(f"/api/versions/{fixed.pk}/open-notes/").json()
    assert body[0]["text"] == "fix the label" and body[0]["markup"][0]["type"] == "rect"
    with pytest.raises(ApplicationError, match="still open"):
        decision_record(review_round=second, version=fixed, verdict=V.APPROVE, reviewer=cast["bob"])
    decision_record(review_round=second, version=fixed, verdict=V.APPROVE_WITH_CHANGES, reviewer=cast["bob"])
    second.refresh_from_db()
    assert second.status == "closed" and second.approvals.get().version == fixed


def test_notes_through_the_api_are_scoped_and_validated(cast):
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    dana, alice, charlie = api_as(cast["dana"]), api_as(cast["alice"]), api_as(cast["charlie"])
    created = dana.post(
        f"/api/rounds/{review_round.pk}/notes/",
        {"version": cast["version_a"].pk, "text": "warmer, please", "markup": [ARROW]},
        format="json",
    )
    assert created.status_code == 201, created.content
    note_id = created.json()["id"]
    internal = alice.post(
        f"/api/rounds/{review_round.pk}/notes/",
        {"version": cast["version_a"].pk, "text": "client is picky", "internal": True},
        format="json",
    ).json()
    bad = dana.post(
        f"/api/rounds/{review_round.pk}/notes/",
        {"version": cast["version_a"].pk, "text": "x", "markup": [{"type": "pin", "points": [[2, 2]]}]},
        format="json",
    )
    assert bad.status_code == 400 and "outside the image" in bad.json()["message"]
    reply = alice.post(f"/api/notes/{note_id}/replies/", {"text": "on it"}, format="json")
    assert reply.status_code == 201 and reply.json()["parent"] == note_id
    seen_by_dana = [n["id"] for n in dana.get(f"/api/rounds/{review_round.pk}/notes/").json()]
    assert seen_by_dana == [note_id] and internal["id"] not in seen_by_dana
    assert dana.get(f"/api/notes/{internal['id']}/").status_code == 404
    assert charlie.get(f"/api/notes/{note_id}/").status_code == 404
    assert charlie.post(f"/api/notes/{note_id}/resolve/").status_code == 404
    resolved = dana.post(f"/api/notes/{note_id}/resolve/").json()
    assert resolved["resolved_by"] == "dana" and [r["text"] for r in resolved["replies"]] == ["on it"]


def test_full_resolution_with_etag_and_ranges_for_staff_and_guests(cast):
    version = cast["version_a"]
    size = version.blob.size
    staff = Client()
    staff.force_login(cast["alice"])
    url = f"/blobs/{version.blob_id}/"
    whole = staff.get(url)
    data = b"".join(whole.streaming_content)
    assert whole.status_code == 200 and whole["ETag"] == f'"{version.blob_id}"' and whole["Accept-Ranges"] == "bytes"
    assert staff.get(url, HTTP_IF_NONE_MATCH=f'"{version.blob_id}"').status_code == 304
    part = staff.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 10-19/{size}"
    assert b"".join(part.streaming_content) == data[10:20]
    tail = staff.get(url, HTTP_RANGE="bytes=-5")
    assert b"".join(tail.streaming_content) == data[-5:]
    assert staff.get(url, HTTP_RANGE=f"bytes={size}-").status_code == 416
    stale = staff.get(url, HTTP_RANGE="bytes=0-3", HTTP_IF_RANGE='"other"')
    assert stale.status_code == 200  # the validator does not match: the whole file, not a slice of other bytes

    review_round = round_open(
        brief=cast["brief_a"], versions=[version], stage="client", opened_by=cast["alice"], reviewers=[cast["dana"]]
    )
    from django.utils import timezone

    _, token = share_link_create(review_round=review_round, expires=timezone.localdate(), created_by=cast["alice"])
    guest = Client()
    shared = guest.get(f"/review/s/{token}/full/{version.pk}/", HTTP_RANGE="bytes=0-7")
    assert shared.status_code == 206 and b"".join(shared.streaming_content) == data[:8]
    assert shared["Referrer-Policy"] == "strict-origin"
    assert guest.get(f"/review/s/{token}/full/{cast['version_b'].pk}/").status_code == 404


def test_the_workspace_of_24_versions_renders_in_a_bounded_number_of_queries(cast, django_assert_max_num_queries):
    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    blob = cast["version_a"].blob
    before = [derive(brief=cast["brief_a"], blob=blob, size=(64, 64)) for _ in range(24)]
    first = round_open(
        brief=cast["brief_a"], versions=before, stage="internal", opened_by=cast["alice"], reviewers=[cast["bob"]]
    )
    for version in before[:12]:
        note_add(
            review_round=first,
            version=version,
            text="soften this",
            author=cast["bob"],
            markup=[{"type": "rect", "points": [[0.1, 0.1], [0.2, 0.2]]}],
        )
    after = [derive(brief=cast["brief_a"], parents=[version], blob=blob, size=(64, 64)) for version in before]
    from review.services.rounds import round_close

    round_close(review_round=first, closed_by=cast["alice"])
    second = round_open(
        brief=cast["brief_a"], versions=after, stage="internal", opened_by=cast["alice"], reviewers=[cast["bob"]]
    )
    bob = Client()
    bob.force_login(cast["bob"])
    with django_assert_max_num_queries(25):
        page = bob.get(f"/admin/review/reviewround/{second.pk}/workspace/")
    assert page.status_code == 200
    data = page.context["workspace"]
    assert len(data["versions"]) == 24
    assert [v["before"]["id"] for v in data["versions"]] == [v.pk for v in before]  # each one's own ancestor
    assert {other["id"] for other in data["others"]} >= {v.pk for v in before + after}  # anything else to compare with
    js, css = (finders.find(f"review/workspace.{kind}") for kind in ("js", "css"))
    weight = len(page.content) + Path(js).stat().st_size + Path(css).stat().st_size
    assert weight <= 150_000, f"the workspace page's own HTML, CSS and JS weigh {weight} bytes"


def test_fix_this_region_inpaints_the_marked_area_and_the_kept_fix_joins_the_next_round(tiny, cast, run_jobs):
    import io
    import json

    from PIL import Image

    from assets.models import Used
    from assets.services.blobs import blob_open
    from generation.requests import GenerationRequest
    from generation.services.jobs import generation_job_create
    from review.selectors import note_state
    from review.services.curation import versions_triage
    from review.services.notes import note_fix
    from review.services.rounds import round_close
    from tests.generation.conftest import FAST

    ReviewPolicy.objects.create(brief=cast["brief_a"], automate_stages=False)
    with run_jobs():
        job = generation_job_create(
            request=GenerationRequest(
                brief=cast["brief_a"],
                op="txt2img",
                base_model=tiny["base"],
                prompt_text="a can on a roof",
                params={**FAST, "seed": 5, "batch_size": 1},
            ),
            created_by=cast["alice"],
        )
    version = job.batches.get().derivation.generated.get().version
    review_round = round_open(
        brief=cast["brief_a"], versions=[version], stage="internal", opened_by=cast["alice"], reviewers=[cast["bob"]]
    )
    pin_only = note_add(
        review_round=review_round,
        version=version,
        text="here",
        author=cast["bob"],
        markup=[{"type": "pin", "points": [[0.5, 0.5]]}],
    )
    with pytest.raises(ApplicationError, match="mark the region first"):
        note_fix(note=pin_only, user=cast["alice"])
    note = note_add(
        review_round=review_round,
        version=version,
        text="a hand holding the can",
        author=cast["bob"],
        markup=[{"type": "ellipse", "points": [[0.25, 0.25], [0.75, 0.75]]}],
    )
    with pytest.raises(ApplicationError, match="only studio staff"):
        note_fix(note=note, user=cast["dana"])
    with run_jobs():
        fixed = note_fix(note=note, user=cast["alice"], feather=2)
    derivation = fixed.fixed_by
    assert derivation.op == "inpaint" and derivation.state == "succeeded", derivation.error
    edges = {edge.role: edge for edge in derivation.used.select_related("blob", "model_weights", "version", "prompt")}
    assert edges[Used.Role.INIT_IMAGE].version == version and edges[Used.Role.BASE_MODEL].model_weights == tiny["base"]
    # An internal round's note stays internal: the repaint runs on the version's own prompt, not the note's words.
    assert edges[Used.Role.PROMPT].prompt.text == "a can on a roof"
    with blob_open(blob=edges[Used.Role.CHANGE_REQUEST].blob) as handle:
        request = json.loads(handle.read())
    assert (
        request["note"] == note.pk
        and request["sha256"] == version.blob_id
        and request["markup"][0]["type"] == "ellipse"
    )
    with blob_open(blob=edges[Used.Role.MASK].blob) as handle, Image.open(io.BytesIO(handle.read())) as mask:
        assert mask.size == (version.width, version.height)
        assert mask.getpixel((version.width // 2, version.height // 2)) == 255 and mask.getpixel((0, 0)) == 0
    assert note_state(fixed) == "fix queued"

    outputs = [edge.version for edge in derivation.generated.select_related("version")]
    assert len(outputs) == 2
    versions_triage(versions=[outputs[0]], triage="keep", actor=cast["alice"])
    assert note_state(fixed) == "addressed, awaiting review"
    round_close(review_round=review_round, closed_by=cast["alice"])
    following = round_open(
        brief=cast["brief_a"], versions=[version], stage="internal", opened_by=cast["alice"], reviewers=[cast["bob"]]
    )
    assert set(following.versions.all()) == {version, outputs[0]}


def test_the_contact_sheet_pdf_is_paginated_with_real_text_and_print_resolution_images(cast):
    import re
    import zlib

    from django.core.files.base import ContentFile
    from PIL import Image as PILImage

    from assets.services.versions import version_import
    from review.services.curation import rating_set
    from tests.factories import image_bytes

    versions = [
        version_import(
            brief=cast["brief_a"],
            label=f"look {n}",
            source=ContentFile(image_bytes(size=(1600, 1200), colour=(20 * n, 90, 200)), name=f"{n}.png"),
        )
        for n in range(7)
    ]
    review_round = round_open(
        brief=cast["brief_a"], versions=versions, stage="internal", opened_by=cast["alice"], reviewers=[cast["bob"]]
    )
    rating_set(version=versions[0], reviewer=cast["bob"], stars=4)
    note_add(review_round=review_round, version=versions[0], text="crop tighter", author=cast["bob"])
    alice = api_as(cast["alice"])
    response = alice.get(f"/api/rounds/{review_round.pk}/contact-sheet/?as=pdf&paper=Letter&per_page=6")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 2
    assert re.search(rb"/MediaBox \[0 0 612(\.0+)? 792(\.0+)?\]", pdf)  # Letter, in points
    text = b"".join(
        zlib.decompress(stream)
        for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
        if stream[:2] in (b"x\x9c", b"x\xda", b"x^")
    )
    # Text strings in PDF escape their parentheses.
    assert f"(v{versions[0].pk} ".encode() in text and b"4.0/5 stars" in text and rb"1 open note\(s\)" in text
    assert b"page 2 of 2" in text
    images = re.findall(rb"/Subtype /Image.*?/Width (\d+).*?/Height (\d+)", pdf, re.S)
    assert images and max(int(w) for w, _ in images) >= 600  # print resolution, not a thumbnail
    assert alice.get(f"/api/rounds/{review_round.pk}/contact-sheet/?as=pdf&per_page=5").status_code == 400
    assert alice.get(f"/api/rounds/{review_round.pk}/contact-sheet/?as=pdf&paper=A3").status_code == 400
    png = alice.get(f"/api/rounds/{review_round.pk}/contact-sheet/?as=png").content
    assert PILImage.open(__import__("io").BytesIO(png)).format == "PNG"


def test_note_states_come_with_the_notes_whatever_their_number(cast, django_assert_max_num_queries):
    from assets.models import Version

    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=[cast["bob"]],
    )
    for index in range(12):
        note = note_add(review_round=review_round, version=cast["version_a"], text=f"fix {index}", author=cast["bob"])
        fix = derive(brief=cast["brief_a"], parents=[cast["version_a"]], blob=cast["version_a2"].blob)
        Note.objects.filter(pk=note.pk).update(fixed_by=fix.generated_by.derivation)
        if index % 2:
            Version.objects.filter(pk=fix.pk).update(triage="keep")
    with django_assert_max_num_queries(12):
        body = api_as(cast["bob"]).get(f"/api/rounds/{review_round.pk}/notes/").json()
    assert [note["state"] for note in body] == ["fix queued", "addressed, awaiting review"] * 6


def test_a_notes_drawing_is_kept_as_a_mask_of_its_version(cast):
    from PIL import Image

    from assets.models import DerivedFile
    from assets.services.blobs import blob_open

    version = cast["version_a"]
    review_round = round_open(
        brief=cast["brief_a"], versions=[version], stage="internal", opened_by=cast["alice"], reviewers=[cast["bob"]]
    )
    note = note_add(
        review_round=review_round,
        version=version,
        text="cut the can out here",
        author=cast["bob"],
        markup=[{"type": "rect", "points": [[0.25, 0.25], [0.75, 0.75]]}],
    )
    pin = note_add(
        review_round=review_round,
        version=version,
        text="this",
        author=cast["bob"],
        markup=[{"type": "pin", "points": [[0.5, 0.5]]}],
    )
    refused = api_as(cast["alice"]).post(f"/api/notes/{pin.pk}/mask/", {}, format="json")
    assert refused.status_code == 400 and "mark the region first" in refused.content.decode()
    assert api_as(cast["bob"]).post(f"/api/notes/{note.pk}/mask/", {}, format="json").status_code in (400, 403)
    assert not DerivedFile.objects.exists()
    created = api_as(cast["alice"]).post(f"/api/notes/{note.pk}/mask/", {"feather": 0}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["source"], body["label"]) == ("mask", version.pk, f"drawn in note #{note.pk}")
    with blob_open(blob=DerivedFile.objects.get(pk=body["id"]).blob) as handle, Image.open(handle) as mask:
        assert mask.mode == "L" and mask.size == (version.width, version.height)
        assert mask.getpixel((version.width // 2, version.height // 2)) == 255 and mask.getpixel((0, 0)) == 0
