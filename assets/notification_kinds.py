"""Every kind of notification Seed sends, declared once: who is told, whether webhooks hear it, and its subject.

The review app makes the rows, checks each kind here and renders every body with the same e-mail template
(review/email/message.txt and .html); the subject is each kind's own.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import models

from assets.errors import ApplicationError


class Audience(models.TextChoices):
    PRODUCERS = "producers", "Every producer, or those the event names"
    ROUND_OPENER = "round_opener", "The producer who opened the round"
    INVITEES = "invitees", "The round's reviewers and guests"
    MENTIONED = "mentioned", "Whom a note mentions"
    THREAD = "thread", "Who wrote earlier in the note's thread"
    REQUESTER = "requester", "Who asked for the delivery"
    DIGEST_READER = "digest_reader", "Who chose the daily digest"


class NotificationKind(models.TextChoices):
    INVITED = "invited", "Invited to a round"
    REMINDER = "reminder", "Deadline reminder"
    OVERDUE = "overdue", "Round overdue"
    CHANGES_REQUESTED = "changes_requested", "Changes requested or rejected"
    ROUND_CLOSED = "round_closed", "Round closed"
    FINAL_APPROVAL = "final_approval", "Final approval"
    TODO = "todo", "To-do after a round"
    AUTOMATION_SKIPPED = "automation_skipped", "Automation could not run"
    STAGE_ESCALATED = "stage_escalated", "Review stage overdue"
    MENTION = "mention", "Mentioned in a note"
    REPLY = "reply", "Reply in a thread"
    DIGEST = "digest", "Daily digest"
    DELIVERY_READY = "delivery_ready", "Delivery ready"
    LICENCE_EXPIRY = "licence_expiry", "Licence running out"
    REPRODUCIBILITY = "reproducibility", "Master no longer reproduces"
    WEBHOOK_DISABLED = "webhook_disabled", "Webhook switched off"

    @property
    def notice(self) -> Notice:
        return NOTICES[self]


@dataclass(frozen=True)
class Notice:
    """`subject` is a str.format template over the event's fields; `subject_for` gives an audience other words."""

    audience: tuple[Audience, ...]
    subject: str
    webhooks: bool = False
    subject_for: Mapping[Audience, str] = field(default_factory=dict)

    @property
    def fields(self) -> set[str]:
        """The names the subject templates read: what the event must give to render them."""
        return {
            name
            for template in (self.subject, *self.subject_for.values())
            for _, name, _, _ in string.Formatter().parse(template)
            if name
        }

    def subject_render(self, *, audience: Audience | None = None, **fields) -> str:
        return self.subject_for.get(audience, self.subject).format(**fields)


NOTICES: dict[NotificationKind, Notice] = {
    NotificationKind.INVITED: Notice(audience=(Audience.INVITEES,), subject="Please review: {brief}, round {number}"),
    NotificationKind.REMINDER: Notice(
        audience=(Audience.INVITEES,), subject="Reminder: round {number} of {brief} is due {due}"
    ),
    NotificationKind.OVERDUE: Notice(
        audience=(Audience.INVITEES, Audience.ROUND_OPENER),
        subject="Overdue: round {number} of {brief} was due {due}",
        subject_for={Audience.ROUND_OPENER: "Round {number} of {brief} is overdue"},
    ),
    NotificationKind.CHANGES_REQUESTED: Notice(
        audience=(Audience.ROUND_OPENER,),
        webhooks=True,
        subject="{author} {verdict}: v{version}, {brief} round {number}",
    ),
    NotificationKind.ROUND_CLOSED: Notice(
        audience=(Audience.ROUND_OPENER, Audience.INVITEES),
        webhooks=True,
        subject="Round {number} of {brief} closed: {summary}",
    ),
    NotificationKind.FINAL_APPROVAL: Notice(
        audience=(Audience.ROUND_OPENER,), webhooks=True, subject="Final approval: {count} version(s) of {brief}"
    ),
    NotificationKind.TODO: Notice(
        audience=(Audience.ROUND_OPENER,), webhooks=True, subject="To do after round {number}: {brief}"
    ),
    NotificationKind.AUTOMATION_SKIPPED: Notice(
        audience=(Audience.ROUND_OPENER,), webhooks=True, subject="Open the next round of {brief} by hand"
    ),
    NotificationKind.STAGE_ESCALATED: Notice(
        audience=(Audience.ROUND_OPENER,), subject="Overdue: the {stage} stage of {brief} (round {number}) {what}"
    ),
    NotificationKind.MENTION: Notice(audience=(Audience.MENTIONED,), subject="{author} mentioned you on {where}"),
    NotificationKind.REPLY: Notice(audience=(Audience.THREAD,), subject="{author} replied on {where}"),
    NotificationKind.DIGEST: Notice(
        audience=(Audience.DIGEST_READER,), subject="Seed: {count} update{plural} on your reviews"
    ),
    NotificationKind.DELIVERY_READY: Notice(
        audience=(Audience.REQUESTER,), webhooks=True, subject="Delivered: {count} file(s) of v{version}, {brief}"
    ),
    NotificationKind.LICENCE_EXPIRY: Notice(
        audience=(Audience.REQUESTER, Audience.PRODUCERS),
        subject="Licence {licence} {when}: {count} delivery(ies) inherit it",
    ),
    NotificationKind.REPRODUCIBILITY: Notice(
        audience=(Audience.PRODUCERS,), subject="v{version} of {brief} no longer reproduces bit for bit: {verdict}"
    ),
    NotificationKind.WEBHOOK_DISABLED: Notice(audience=(Audience.PRODUCERS,), subject="Webhook {url} switched off"),
}

# What a webhook delivery may carry: the kinds declared for webhooks, so the admin filters by those alone.
WEBHOOK_KIND_CHOICES = [(kind.value, kind.label) for kind in NotificationKind if kind.notice.webhooks]


def notice_of(*, kind: str) -> Notice:
    """The declaration of `kind`; a kind nobody declared is refused before any row is made."""
    if kind not in NotificationKind.values:
        raise ApplicationError(
            f"unknown notification kind {kind!r}: declare it in assets/notification_kinds.py",
            extra={"code": "notification_kind", "kind": kind},
        )
    return NotificationKind(kind).notice
