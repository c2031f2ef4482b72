import re

import pytest
from django.test import Client
from django.urls import reverse

from assets.models import AuditEvent
from review.models import Approval, Decision
from review.services.rounds import decision_record, round_close, round_open

pytestmark = pytest.mark.django_db


def _admin(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_round_page_shows_previews_previous_round_comments_pins_and_diff(cast):
    from review.services.rounds import PinInput

    first = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="internal",
        opened_by=cast["alice"],
        reviewers=[cast["bob"]],
    )
    decision_record(
        review_round=first,
        version=cast["version_a"],
        verdict="changes_requested",
        reviewer=cast["bob"],
        comment="warmer please",
        pins=[PinInput(x=0.25, y=0.5, w=0.1, h=0.1, note="here")],
    )
    second = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a2"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    html = _admin(cast["alice"]).get(reverse("admin:review_reviewround_change", args=[first.pk])).content.decode()
    assert "warmer please" in html and "left:25.0%" in html
    html = _admin(cast["alice"]).get(reverse("admin:review_reviewround_change", args=[second.pk])).content.decode()
    assert f"v{cast['version_a'].pk} (round 1)" in html
    assert reverse("blob-thumbnail", args=[cast["version_a"].blob_id, 256]) in html
    assert "import.source" in html and "a_master.png" in html and "a_alt.png" in html


def test_admin_actions_ask_for_a_comment_then_record_the_decision(cast):
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    item = review_round.items.get()
    dana = _admin(cast["dana"])
    url = reverse("admin:review_roundversion_changelist")
    listing = dana.get(url + f"?review_round__id__exact={review_round.pk}").content.decode()
    assert "Approve selected versions" in listing
    ask = dana.post(url, {"action": "approve", "_selected_action": [item.pk]})
    assert ask.status_code == 200 and "Comment (optional)" in ask.content.decode()
    assert not Decision.objects.exists()
    done = dana.post(url, {"action": "approve", "_selected_action": [item.pk], "confirm": "yes", "comment": "ship it"})
    assert done.status_code == 302
    decision = Decision.objects.get()
    assert (decision.reviewer, decision.verdict, decision.comment) == (cast["dana"], "approve", "ship it")
    assert Approval.objects.get().final


def test_decide_actions_need_the_permission(cast):
    from django.contrib.auth import get_user_model

    viewer = get_user_model().objects.create_user("viewer", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(
        Permission.objects.get(codename="view_roundversion"), Permission.objects.get(codename="view_reviewround")
    )
    review_round = round_open(
        brief=cast["brief_a"], versions=[cast["version_a"]], stage="client", opened_by=cast["alice"]
    )
    html = _admin(viewer).get(
        reverse("admin:review_roundversion_changelist") + f"?review_round__id__exact={review_round.pk}"
    )
    assert "Approve selected versions" not in html.content.decode()


def test_brief_page_charts_the_approval_cycles_and_versions_triage_in_bulk(cast):
    review_round = round_open(
        brief=cast["brief_a"], versions=[cast["version_a"]], stage="internal", opened_by=cast["alice"]
    )
    round_close(review_round=review_round, closed_by=cast["alice"])
    alice = _admin(cast["alice"])
    html = alice.get(reverse("admin:assets_brief_change", args=[cast["brief_a"].pk])).content.decode()
    chart = re.search(r"<svg[^>]*seed-cycles.*?</svg>", html, re.S).group(0)
    assert "round 1 (internal)" in chart and "GPU-seconds per phase" in chart
    response = alice.post(
        reverse("admin:assets_version_changelist"),
        {"action": "triage_maybe_later", "_selected_action": [cast["version_a"].pk, cast["version_a2"].pk]},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(kind="triage").count() == 2


def test_producer_opens_a_round_and_a_share_link_in_the_admin(cast):
    from review.models import ReviewRound, ShareLink

    alice = _admin(cast["alice"])
    response = alice.post(
        reverse("admin:review_reviewround_add"),
        {
            "brief": cast["brief_a"].pk,
            "stage": "client",
            "title": "Client look",
            "round_versions": [cast["version_a"].pk],
            "reviewers": [cast["dana"].pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    review_round = ReviewRound.objects.get()
    assert list(review_round.reviewers.all()) == [cast["dana"]] and review_round.items.count() == 1
    refused = alice.post(
        reverse("admin:review_reviewround_add"),
        {"brief": cast["brief_a"].pk, "stage": "client", "round_versions": [cast["version_b"].pk]},
    )
    assert "do not belong to brief" in refused.content.decode() or "still open" in refused.content.decode()
    link = alice.post(
        reverse("admin:review_sharelink_add"),
        {
            "review_round": review_round.pk,
            "label": "for Dana's boss",
            "expires_at_0": "2099-01-01",
            "expires_at_1": "12:00:00",
            "can_decide": "on",
        },
        follow=True,
    )
    assert "it is shown only once" in link.content.decode()
    assert ShareLink.objects.get().label == "for Dana's boss"
