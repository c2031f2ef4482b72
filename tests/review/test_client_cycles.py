"""Approval-cycle statistics seen by a client reviewer: only the client's own rounds, the studio's people as "Studio",
other guests as "Guest"; the studio still sees every round, name and address."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from review.models import ReviewPolicy, RoundReviewer
from review.services.rounds import round_close, round_open
from tests.factories import api_as

GUEST = "gina@client.example"


@pytest.fixture
def rounds(cast):
    """An internal round (bob), then an open client round waiting on dana, bob, another guest and dana's own address."""
    brief = cast["brief_a"]
    ReviewPolicy.objects.create(brief=brief, automate_stages=False)
    internal = round_open(
        brief=brief, versions=[cast["version_a"]], stage="internal", opened_by=cast["alice"], reviewers=[cast["bob"]]
    )
    round_close(review_round=internal, closed_by=cast["alice"])
    client = round_open(
        brief=brief,
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"], cast["bob"]],
        guests=[GUEST, cast["dana"].email],
    )
    RoundReviewer.objects.filter(review_round=client).update(invited_at=timezone.now() - dt.timedelta(hours=30))
    return {"internal": internal, "client": client}


def _routes(brief) -> list[str]:
    return [
        f"/api/briefs/{brief.pk}/cycles/",
        f"/api/briefs/{brief.pk}/cycles/?as=csv",
        f"/api/briefs/{brief.pk}/cycle-stats/",
        f"/api/clients/{brief.campaign.client_id}/cycles/",
    ]


def test_a_client_reviewer_sees_only_client_rounds_without_studio_names_or_other_guests(cast, rounds):
    dana = api_as(cast["dana"])
    for route in _routes(cast["brief_a"]):
        response = dana.get(route)
        assert response.status_code == 200, route
        text = response.content.decode()
        assert "internal" not in text and "alice" not in text and "bob" not in text and GUEST not in text, route
        assert "Studio" in text and "Guest" in text and cast["dana"].email in text, route

    body = dana.get(f"/api/briefs/{cast['brief_a'].pk}/cycles/").json()
    [brief] = body["briefs"]
    assert [(r["round"], r["stage"]) for r in brief["rounds"]] == [(rounds["client"].pk, "client")]
    assert sorted(brief["rounds"][0]["waiting_on"]) == sorted(["dana", "Studio", "Guest", cast["dana"].email])
    assert set(body["waiting_hours"]) == {"dana", "Studio", "Guest", cast["dana"].email}
    assert body["bottleneck"]["reviewer"] in {"dana", "Studio", "Guest", cast["dana"].email}
    stats = dana.get(f"/api/briefs/{cast['brief_a'].pk}/cycle-stats/").json()
    assert stats["cycles"] == 1 and [r["stage"] for r in stats["rounds"]] == ["client"]


def test_the_studio_still_sees_every_round_name_and_address(cast, rounds):
    alice = api_as(cast["alice"])
    for route in _routes(cast["brief_a"]):
        text = alice.get(route).content.decode()
        assert "bob" in text and GUEST in text, route
    stats = alice.get(f"/api/briefs/{cast['brief_a'].pk}/cycle-stats/").json()
    assert [r["stage"] for r in stats["rounds"]] == ["internal", "client"]
    assert set(stats["waiting_hours"]) == {"bob", "dana", GUEST, cast["dana"].email}


def test_the_brief_page_panel_follows_who_looks(cast, rounds):
    page = reverse("admin:assets_brief_change", args=[cast["brief_a"].pk])
    seen = {}
    for name in ("alice", "dana"):
        browser = Client()
        browser.force_login(cast[name])
        response = browser.get(page)
        assert response.status_code == 200, name
        html = response.content.decode()
        seen[name] = html[html.lower().index("approval cycles") :]
    assert "round 1 (internal)" in seen["alice"] and "bob" in seen["alice"] and GUEST in seen["alice"]
    assert "round 1 (internal)" not in seen["dana"] and "round 2 (client" in seen["dana"]
    assert "bob" not in seen["dana"] and GUEST not in seen["dana"] and "Studio" in seen["dana"]


def test_a_client_reviewer_of_another_client_sees_none_of_it(cast, rounds):
    charlie = api_as(cast["charlie"])
    assert charlie.get(f"/api/briefs/{cast['brief_a'].pk}/cycles/").status_code == 404
    assert charlie.get(f"/api/clients/{cast['brief_a'].campaign.client_id}/cycles/").status_code == 404
