"""Charlie reviews for Borealis; nothing of Aurora's may exist for him, in the admin or the API."""

import pytest
from django.test import Client
from django.urls import reverse

from review.services.rounds import round_close, round_open
from tests.factories import api_as

pytestmark = pytest.mark.django_db


@pytest.fixture
def rounds(cast):
    return {
        "a": round_open(
            brief=cast["brief_a"],
            versions=[cast["version_a"]],
            stage="client",
            opened_by=cast["alice"],
            reviewers=[cast["dana"]],
        ),
        "b": round_open(
            brief=cast["brief_b"],
            versions=[cast["version_b"]],
            stage="client",
            opened_by=cast["alice"],
            reviewers=[cast["charlie"], cast["alice"]],
        ),
    }


def _admin(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_client_reviewer_gets_404_for_another_clients_objects_in_the_admin(cast, rounds):
    charlie = _admin(cast["charlie"])
    for url in (
        reverse("admin:assets_brief_change", args=[cast["brief_a"].pk]),
        reverse("admin:assets_version_change", args=[cast["version_a"].pk]),
        reverse("admin:review_reviewround_change", args=[rounds["a"].pk]),
        reverse("blob-thumbnail", args=[cast["version_a"].blob_id, 96]),
        reverse("blob-image", args=[cast["version_a"].blob_id]),
    ):
        assert charlie.get(url).status_code == 404, url
    assert charlie.get(reverse("admin:assets_version_change", args=[cast["version_b"].pk])).status_code == 200
    assert charlie.get(reverse("admin:review_reviewround_change", args=[rounds["b"].pk])).status_code == 200
    listing = charlie.get(reverse("admin:assets_brief_changelist")).content.decode()
    assert "Borealis hero" in listing and "Aurora hero" not in listing


def test_client_reviewer_gets_404_for_another_clients_objects_in_the_api(cast, rounds):
    charlie = api_as(cast["charlie"])
    for url in (
        f"/api/briefs/{cast['brief_a'].pk}/",
        f"/api/versions/{cast['version_a'].pk}/",
        f"/api/versions/{cast['version_a'].pk}/lineage/",
        f"/api/rounds/{rounds['a'].pk}/",
        f"/api/rounds/{rounds['a'].pk}/decisions/",
        f"/api/briefs/{cast['brief_a'].pk}/cycle-stats/",
        f"/api/versions/{cast['version_b'].pk}/diff/{cast['version_a'].pk}/",
    ):
        assert charlie.get(url).status_code == 404, url
    assert [b["title"] for b in charlie.get("/api/briefs/").json()["results"]] == ["Borealis hero"]
    assert [v["id"] for v in charlie.get("/api/versions/").json()["results"]] == [cast["version_b"].pk]
    assert [r["id"] for r in charlie.get("/api/rounds/").json()["results"]] == [rounds["b"].pk]
    response = charlie.post(
        f"/api/rounds/{rounds['a'].pk}/decisions/",
        {"version": cast["version_a"].pk, "verdict": "approve"},
        format="json",
    )
    assert response.status_code == 404


def test_client_reviewers_cannot_create_or_see_internal_things(cast, rounds):
    dana = api_as(cast["dana"])
    assert (
        dana.post("/api/briefs/", {"campaign": cast["brief_a"].campaign_id, "title": "x"}, format="json").status_code
        == 403
    )
    assert dana.get("/api/model-weights/").json()["results"] == []
    assert dana.get(f"/api/briefs/{cast['brief_a'].pk}/pool/").status_code == 403
    round_close(review_round=rounds["b"], closed_by=cast["alice"])
    internal = round_open(
        brief=cast["brief_b"], versions=[cast["version_b"]], stage="internal", opened_by=cast["alice"]
    )
    assert api_as(cast["charlie"]).get(f"/api/rounds/{internal.pk}/").status_code == 404
    assert (
        _admin(cast["charlie"]).get(reverse("admin:review_reviewround_change", args=[internal.pk])).status_code == 404
    )


def test_internal_comments_are_hidden_from_client_users(cast, rounds):
    from review.services.rounds import decision_record

    decision_record(
        review_round=rounds["b"],
        version=cast["version_b"],
        verdict="changes_requested",
        reviewer=cast["alice"],
        comment="internal: the client will hate the logo",
        internal=True,
    )
    client_view = api_as(cast["charlie"]).get(f"/api/rounds/{rounds['b'].pk}/decisions/").json()
    assert client_view == []
    staff_view = api_as(cast["alice"]).get(f"/api/rounds/{rounds['b'].pk}/decisions/").json()
    assert [d["comment"] for d in staff_view] == ["internal: the client will hate the logo"]


def test_anonymous_users_get_nothing(cast, rounds):
    from rest_framework.test import APIClient

    assert APIClient().get(f"/api/rounds/{rounds['a'].pk}/").status_code in (401, 403)
    assert Client().get(reverse("admin:review_reviewround_changelist")).status_code == 302
