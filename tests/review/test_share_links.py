import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assets.errors import ApplicationError
from review.models import AuditEvent, Decision, ShareLink
from review.services.rounds import round_open
from review.services.share_links import share_link_create, share_link_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_round(cast):
    return round_open(brief=cast["brief_a"], versions=[cast["version_a"]], stage="client", opened_by=cast["alice"],
                      reviewers=[cast["dana"]])


def _link(client_round, cast, **kwargs):
    kwargs.setdefault("expires", timezone.localdate() + dt.timedelta(days=3))
    return share_link_create(review_round=client_round, created_by=cast["alice"], **kwargs)


def test_only_the_token_hash_is_stored_and_a_date_means_end_of_day(client_round, cast):
    link, token = _link(client_round, cast, expires=dt.date(2099, 5, 1))
    assert token not in str(ShareLink.objects.filter(pk=link.pk).values().get())
    local = timezone.localtime(link.expires_at)
    assert (local.date(), local.hour, local.minute) == (dt.date(2099, 5, 1), 23, 59)


def test_guest_sees_the_round_and_decides_with_a_pin(client_round, cast):
    _, token = _link(client_round, cast)
    browser = Client()
    page = browser.get(reverse("share-page", args=[token]))
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("share-image", args=[token, cast["version_a"].pk]) in html
    assert browser.get(reverse("share-image", args=[token, cast["version_a"].pk])).status_code == 200
    assert browser.get(reverse("share-image", args=[token, cast["version_b"].pk])).status_code == 404
    posted = browser.post(reverse("share-page", args=[token]), {
        "version": cast["version_a"].pk, "guest_name": "Erin", "verdict": "changes_requested", "comment": "logo smaller",
        "pin_x": "0.1", "pin_y": "0.2", "pin_w": "0.3", "pin_h": "0.25"})
    assert posted.status_code == 302
    decision = Decision.objects.get()
    assert (decision.guest_name, decision.verdict, decision.sha256) == ("Erin", "changes_requested", cast["version_a"].blob_id)
    pin = decision.pins.get()
    assert (pin.x, pin.y, pin.w, pin.h) == (0.1, 0.2, 0.3, 0.25)
    assert "logo smaller" in browser.get(reverse("share-page", args=[token])).content.decode()
    kinds = list(AuditEvent.objects.values_list("kind", flat=True))
    assert kinds.count("share_link.used") == 2 and "decision" in kinds


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
    refused = browser.post(reverse("share-page", args=[token]), {"version": cast["version_a"].pk, "guest_name": "x",
                                                                "verdict": "approve"})
    assert refused.status_code == expected
    assert not Decision.objects.exists()


def test_view_only_links_cannot_decide_and_internal_rounds_have_no_links(client_round, cast):
    _, token = _link(client_round, cast, can_decide=False)
    Client().post(reverse("share-page", args=[token]), {"version": cast["version_a"].pk, "guest_name": "x", "verdict": "approve"})
    assert not Decision.objects.exists()
    internal = round_open(brief=cast["brief_b"], versions=[cast["version_b"]], stage="internal", opened_by=cast["alice"])
    with pytest.raises(ApplicationError, match="client rounds only"):
        share_link_create(review_round=internal, expires=timezone.localdate() + dt.timedelta(days=1), created_by=cast["alice"])
    with pytest.raises(ApplicationError, match="in the past"):
        share_link_create(review_round=client_round, expires=timezone.now() - dt.timedelta(hours=1), created_by=cast["alice"])


def test_tokens_never_reach_the_request_log(client_round, cast, caplog):
    link, token = _link(client_round, cast)
    share_link_revoke(link=link, revoked_by=cast["alice"])
    with caplog.at_level("WARNING", logger="django.request"):
        Client().get(reverse("share-page", args=[token]))
        Client().get(reverse("share-page", args=["y" * 43]))
    assert token not in caplog.text and "y" * 43 not in caplog.text
