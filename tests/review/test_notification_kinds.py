"""The catalogue of notification kinds: every kind the flows make is declared there, every declaration renders, and a
kind nobody declared is refused before a row is made."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from assets.errors import ApplicationError
from assets.notification_kinds import NOTICES, Audience, NotificationKind
from review.models import Decision, Notification, WebhookDelivery
from review.services.deadlines import deadlines_check
from review.services.notifications import (
    Message,
    producers_notify,
    webhook_endpoint_create,
    webhooks_notify,
)
from review.services.rounds import decision_record, round_open


@pytest.mark.parametrize("kind", list(NotificationKind))
def test_every_kind_declares_its_audience_and_renders_its_subject(kind):
    notice = NOTICES[kind]
    fields = {name: f"<{name}>" for name in notice.fields}
    assert notice.audience and all(audience in Audience.values for audience in notice.audience)
    for audience in notice.audience:
        subject = notice.subject_render(audience=audience, **fields)
        assert "{" not in subject and "}" not in subject
    assert all(
        value in " ".join(notice.subject_render(audience=a, **fields) for a in notice.audience)
        for value in fields.values()
    )


def test_the_models_take_their_kinds_from_the_catalogue():
    assert Notification._meta.get_field("kind").choices == NotificationKind.choices
    assert [value for value, _ in WebhookDelivery._meta.get_field("kind").choices] == [
        kind.value for kind in NotificationKind if NOTICES[kind].webhooks
    ]
    assert WebhookDelivery._meta.get_field("kind").choices  # a catalogue with no webhook kind would let none through


def test_the_review_flows_make_only_declared_kinds_with_their_declared_subjects(cast, settings, run_jobs):
    settings.SEED_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    webhook_endpoint_create(url="http://127.0.0.1:9/hook", client=cast["brief_a"].campaign.client)
    with run_jobs():
        review_round = round_open(
            brief=cast["brief_a"],
            versions=[cast["version_a"]],
            stage="internal",
            opened_by=cast["alice"],
            reviewers=[cast["bob"]],
            deadline=timezone.now() - dt.timedelta(minutes=1),
        )
    deadlines_check()
    with run_jobs():
        decision_record(
            review_round=review_round,
            version=cast["version_a"],
            verdict=Decision.Verdict.REJECT,
            reviewer=cast["bob"],
            comment="off brief",
        )
    producers_notify(kind=NotificationKind.REPRODUCIBILITY, subject="drift", lines=["drift"], key="drift")

    made = set(Notification.objects.values_list("kind", flat=True))
    assert made >= {"invited", "overdue", "changes_requested", "round_closed", "reproducibility"}
    assert made <= set(NotificationKind.values)
    hooked = set(WebhookDelivery.objects.values_list("kind", flat=True))
    assert hooked >= {"changes_requested", "round_closed"}
    assert all(NOTICES[NotificationKind(kind)].webhooks for kind in hooked)
    invited = Notification.objects.get(kind="invited", email="bob@example.test")
    assert invited.subject == f"Please review: Aurora hero, round {review_round.number}"
    assert invited.get_kind_display() == "Invited to a round"
    producer_overdue = Notification.objects.get(kind="overdue", email="alice@example.test")
    assert producer_overdue.subject == f"Round {review_round.number} of Aurora hero is overdue"


def test_an_unknown_kind_is_refused_when_a_notification_is_made(cast):
    with pytest.raises(
        ApplicationError, match="unknown notification kind 'round_opened': declare it in assets/notification_kinds.py"
    ):
        Message(kind="round_opened", subject="Round opened", lines=[])
    with pytest.raises(ApplicationError, match="unknown notification kind 'drift'"):
        producers_notify(kind="drift", subject="drift", lines=["drift"], key="drift")
    with pytest.raises(ApplicationError, match="'mention' notifications are not declared for webhooks"):
        webhooks_notify(
            message=Message(kind=NotificationKind.MENTION, subject="hi", lines=[]), key="mention", client_id=None
        )
    assert not Notification.objects.exists() and not WebhookDelivery.objects.exists()
    row = Notification(key="k", kind="round_opened", email="alice@example.test", subject="s", text="t")
    with pytest.raises(ValidationError) as refused:
        row.full_clean()
    assert "kind" in refused.value.message_dict
