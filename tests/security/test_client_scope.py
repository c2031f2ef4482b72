"""Client scope fails closed: seeing every client is an explicit studio role, never the absence of memberships.

A client reviewer is staff (to use the admin); when their last membership goes, or their client is
deleted, they must see nothing, in the API, the admin and through the rounds behind share links.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import timezone

from assets.access import briefs_visible_to, client_scope, is_client_user
from assets.errors import ApplicationError
from assets.models import Client, ClientMembership
from review.roles import PRODUCER
from review.services.rounds import decision_record, round_open
from review.services.share_links import share_link_create
from tests.factories import api_as, member

pytestmark = pytest.mark.django_db


def _sees_nothing(user, cast, review_round) -> None:
    assert client_scope(user=user) == set() and is_client_user(user=user)
    assert not briefs_visible_to(user=user).exists()
    api = api_as(user)
    assert api.get("/api/briefs/").json()["results"] == []
    assert api.get("/api/versions/").json()["results"] == []
    assert api.get("/api/rounds/").json()["results"] == []
    for url in (
        f"/api/briefs/{cast['brief_a'].pk}/",
        f"/api/versions/{cast['version_a'].pk}/",
        f"/api/rounds/{review_round.pk}/",
        f"/api/versions/{cast['version_b'].pk}/lineage/",
    ):
        assert api.get(url).status_code == 404, url
    response = api.post(
        f"/api/rounds/{review_round.pk}/share-links/",
        {"expires": (timezone.now() + timedelta(days=2)).isoformat()},
        format="json",
    )
    assert response.status_code in (403, 404), response.content
    admin = WebClient()
    admin.force_login(user)
    for url in (
        reverse("admin:assets_brief_change", args=[cast["brief_a"].pk]),
        reverse("admin:assets_version_change", args=[cast["version_b"].pk]),
        reverse("admin:review_reviewround_change", args=[review_round.pk]),
        reverse("blob-image", args=[cast["version_a"].blob_id]),
    ):
        assert admin.get(url).status_code in (403, 404), url
    listing = admin.get(reverse("admin:assets_version_changelist"))
    assert "A master" not in listing.content.decode() and "B master" not in listing.content.decode()
    with pytest.raises(ApplicationError, match="cannot see this client"):
        decision_record(review_round=review_round, version=cast["version_a"], verdict="approve", reviewer=user)


@pytest.fixture
def aurora_round(cast):
    return round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )


def test_removing_the_last_membership_leaves_a_client_reviewer_seeing_nothing(cast, aurora_round):
    dana = cast["dana"]
    assert client_scope(user=dana) == {cast["brief_a"].campaign.client_id}
    ClientMembership.objects.filter(user=dana).delete()
    _sees_nothing(get_user_model().objects.get(pk=dana.pk), cast, aurora_round)


def test_deleting_the_client_leaves_its_reviewers_seeing_nothing(cast, aurora_round):
    ghost = Client.objects.create(name="Ghost Ltd")
    former = member("erin", "Client reviewer", ghost)
    assert client_scope(user=former) == {ghost.pk}
    ghost.delete()
    _sees_nothing(get_user_model().objects.get(pk=former.pk), cast, aurora_round)


def test_staff_without_a_studio_role_sees_nothing(cast, aurora_round):
    _sees_nothing(
        get_user_model().objects.create_user("frank", password="frank-pass-123", is_staff=True), cast, aurora_round
    )


def test_a_studio_user_who_is_also_a_client_member_is_held_to_the_membership(cast, aurora_round):
    both = member("gina", PRODUCER, cast["brief_b"].campaign.client)
    assert client_scope(user=both) == {cast["brief_b"].campaign.client_id} and not is_client_user(user=both)
    api = api_as(both)
    assert [b["title"] for b in api.get("/api/briefs/").json()["results"]] == ["Borealis hero"]
    assert api.get(f"/api/rounds/{aurora_round.pk}/").status_code == 404
    refused = api.post("/api/jobs/", {"brief": cast["brief_a"].pk, "prompt": "x"}, format="json")
    assert refused.status_code == 400 and "brief" in refused.json()["extra"]["fields"], refused.content
    ClientMembership.objects.filter(user=both).delete()
    studio = get_user_model().objects.get(pk=both.pk)
    assert client_scope(user=studio) is None and not is_client_user(user=studio)
    assert api_as(studio).get(f"/api/rounds/{aurora_round.pk}/").status_code == 200


def test_a_share_page_shows_its_own_round_only_whoever_is_signed_in(cast, aurora_round):
    link, token = share_link_create(
        review_round=aurora_round, expires=timezone.now() + timedelta(days=2), created_by=cast["alice"]
    )
    ClientMembership.objects.filter(user=cast["dana"]).delete()
    browser = WebClient()
    browser.force_login(get_user_model().objects.get(pk=cast["dana"].pk))
    page = browser.get(reverse("share-page", args=[token]))
    assert page.status_code == 200 and "Aurora" in page.content.decode()
    assert browser.get(reverse("share-image", args=[token, cast["version_b"].pk])).status_code == 404
    assert browser.get(reverse("share-image", args=[token, cast["version_a"].pk])).status_code == 200
    assert browser.get(reverse("admin:review_reviewround_change", args=[aurora_round.pk])).status_code in (403, 404)
