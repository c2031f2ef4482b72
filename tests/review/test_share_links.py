import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import AuditEvent
from review.models import Decision, Note, ShareLink
from review.services.rounds import round_open
from review.services.share_links import share_link_create, share_link_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_round(cast):
    return round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )


def _link(client_round, cast, **kwargs):
    kwargs.setdefault("expires", timezone.localdate() + dt.timedelta(days=3))
    return share_link_create(review_round=client_round, created_by=cast["alice"], **kwargs)


def test_only_the_token_hash_is_stored_and_a_date_means_end_of_day(client_round, cast):
    link, token = _link(client_round, cast, expires=dt.date(2099, 5, 1))
    assert token not in str(ShareLink.objects.filter(pk=link.pk).values().get())
    local = timezone.localtime(link.expires_at)
    assert (local.date(), local.hour, local.minute) == (dt.date(2099, 5, 1), 23, 59)


def _post(browser, name: str, token: str, body: dict):
    return browser.post(reverse(name, args=[token]), json.dumps(body), content_type="application/json")


def test_guest_works_the_round_in_the_workspace_with_notes_and_a_decision(client_round, cast):
    _, token = _link(client_round, cast)
    browser = Client()
    page = browser.get(reverse("share-page", args=[token]))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("share-image", args=[token, cast["version_a"].pk]) in html and 'id="ws-guest-name"' in html
    assert reverse("share-notes", args=[token]) in html and "/api/" not in html  # every address is the link's own
    assert browser.get(reverse("share-image", args=[token, cast["version_a"].pk])).status_code == 200
    assert browser.get(reverse("share-image", args=[token, cast["version_b"].pk])).status_code == 404

    nameless = _post(browser, "share-notes", token, {"version": cast["version_a"].pk, "text": "logo smaller"})
    assert nameless.status_code == 400 and "your name" in nameless.json()["message"]
    shape = {"type": "rect", "points": [[0.1, 0.2], [0.4, 0.45]]}
    note = _post(
        browser,
        "share-notes",
        token,
        {"version": cast["version_a"].pk, "text": "logo smaller", "markup": [shape], "guest_name": "Erin"},
    )
    assert note.status_code == 201 and note.json()["author"] == "Erin (share link)"
    bad = _post(
        browser,
        "share-notes",
        token,
        {"version": cast["version_a"].pk, "text": "x", "markup": [{"type": "rect", "points": [[0, 0], [2, 2]]}]},
    )
    assert bad.status_code == 400 and Note.objects.count() == 1
    elsewhere = _post(browser, "share-notes", token, {"version": cast["version_b"].pk, "text": "x"})
    assert elsewhere.status_code == 404
    reply = browser.post(
        reverse("share-note-replies", args=[token, note.json()["id"]]),
        json.dumps({"text": "and bluer"}),
        content_type="application/json",
    )
    assert reply.status_code == 201 and reply.json()["author"] == "Erin (share link)"  # the name is remembered
    studio_note = Note.objects.create(
        review_round=client_round,
        version=cast["version_a"],
        text="internal: check rights",
        author=cast["alice"],
        sha256=cast["version_a"].blob_id,
        internal=True,
    )
    listed = browser.get(reverse("share-notes", args=[token])).json()
    assert [n["text"] for n in listed] == ["logo smaller"] and listed[0]["replies"][0]["text"] == "and bluer"
    assert studio_note.pk not in [n["id"] for n in listed]
    open_notes = browser.get(reverse("share-open-notes", args=[token, cast["version_a"].pk])).json()
    assert [n["text"] for n in open_notes] == ["logo smaller"]

    decided = _post(
        browser,
        "share-decisions",
        token,
        {"version": cast["version_a"].pk, "verdict": "changes_requested", "comment": "logo smaller"},
    )
    assert decided.status_code == 201
    decision = Decision.objects.get()
    assert (decision.guest_name, decision.verdict, decision.sha256) == (
        "Erin",
        "changes_requested",
        cast["version_a"].blob_id,
    )
    assert (
        _post(browser, "share-decisions", token, {"version": cast["version_a"].pk, "verdict": "maybe"}).status_code
        == 400
    )
    assert (
        browser.post(reverse("share-decisions", args=[token]), "not json", content_type="application/json").status_code
        == 400
    )
    kinds = list(AuditEvent.objects.values_list("kind", flat=True))
    assert kinds.count("share_link.used") == 1 and "decision" in kinds and "note.added" in kinds


def test_a_guest_compares_only_with_what_the_client_was_shown(cast):
    from review.services.rounds import round_close
    from tests.factories import derive

    first = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    round_close(review_round=first, closed_by=cast["alice"])
    fixed = derive(brief=cast["brief_a"], parents=[cast["version_a"]], blob=cast["version_a2"].blob, size=(32, 32))
    second = round_open(
        brief=cast["brief_a"], versions=[fixed], stage="client", opened_by=cast["alice"], reviewers=[cast["dana"]]
    )
    _, token = _link(second, cast)
    page = Client().get(reverse("share-page", args=[token])).content.decode()
    assert reverse("share-full-image", args=[token, cast["version_a"].pk]) in page
    assert Client().get(reverse("share-full-image", args=[token, cast["version_a"].pk])).status_code == 200
    assert Client().get(reverse("share-full-image", args=[token, cast["version_a2"].pk])).status_code == 404


@pytest.mark.parametrize("state", ["expired", "revoked", "unknown", "tampered"])
def test_expired_revoked_and_unknown_links_are_refused(client_round, cast, state):
    link, token = _link(client_round, cast)
    if state == "expired":
        ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    elif state == "revoked":
        share_link_revoke(link=link, revoked_by=cast["alice"])
    elif state == "unknown":
        token = "x" * 43
    else:
        token = token[:-1] + ("A" if token[-1] != "A" else "B")
    browser = Client()
    expected = 410 if state in ("expired", "revoked") else 404
    assert browser.get(reverse("share-page", args=[token])).status_code == expected
    assert browser.get(reverse("share-image", args=[token, cast["version_a"].pk])).status_code == expected
    refused = _post(
        browser, "share-decisions", token, {"version": cast["version_a"].pk, "guest_name": "x", "verdict": "approve"}
    )
    assert refused.status_code == expected and "message" in refused.json()
    assert not Decision.objects.exists()


def test_view_only_links_cannot_decide_and_internal_rounds_have_no_links(client_round, cast):
    _, token = _link(client_round, cast, can_decide=False)
    refused = _post(
        Client(), "share-decisions", token, {"version": cast["version_a"].pk, "guest_name": "x", "verdict": "approve"}
    )
    assert refused.status_code == 400 and refused.json()["message"] == "this link is view-only"
    assert not Decision.objects.exists()
    internal = round_open(
        brief=cast["brief_b"], versions=[cast["version_b"]], stage="internal", opened_by=cast["alice"]
    )
    with pytest.raises(ApplicationError, match="client rounds only"):
        share_link_create(
            review_round=internal, expires=timezone.localdate() + dt.timedelta(days=1), created_by=cast["alice"]
        )
    with pytest.raises(ApplicationError, match="in the past"):
        share_link_create(
            review_round=client_round, expires=timezone.now() - dt.timedelta(hours=1), created_by=cast["alice"]
        )


def test_tokens_never_reach_the_request_log(client_round, cast, caplog):
    link, token = _link(client_round, cast)
    share_link_revoke(link=link, revoked_by=cast["alice"])
    with caplog.at_level("WARNING", logger="django.request"):
        Client().get(reverse("share-page", args=[token]))
        Client().get(reverse("share-page", args=["y" * 43]))
    assert token not in caplog.text and "y" * 43 not in caplog.text


def test_a_link_the_audit_trail_names_is_revoked_never_deleted(client_round, cast, django_user_model):
    link, token = _link(client_round, cast)
    guest = Client()
    _post(guest, "share-notes", token, {"version": cast["version_a"].pk, "text": "fine", "guest_name": "Gus"})
    decided = _post(
        guest,
        "share-decisions",
        token,
        {"version": cast["version_a"].pk, "verdict": "changes_requested", "comment": "x"},
    )
    assert decided.status_code == 201, decided.content
    assert AuditEvent.objects.filter(share_link_id=link.pk).exists()
    admin_user = django_user_model.objects.create_superuser("root", "root@example.test", "root-pass-123")
    browser = Client()
    browser.force_login(admin_user)
    assert browser.get(reverse("admin:review_sharelink_delete", args=[link.pk])).status_code == 403
    assert ShareLink.objects.filter(pk=link.pk).exists()
