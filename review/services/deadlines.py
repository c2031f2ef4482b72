"""Deadlines that act: a reminder before a round's deadline and an overdue notice after it, once per invitee and round;
a template's overdue stage escalated to the producer once, and moved on where the stage says so.

`review_clock` runs this every minute from one django-q2 schedule; the notification keys make a second
run, a restarted worker or a second scheduler find the message already made.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assets.notification_kinds import Audience, NotificationKind
from assets.services.queues import Queue, schedule_ensure
from review.models import ReviewRound
from review.selectors import round_invitees
from review.services.invitations import invitee_notify
from review.services.notifications import Message, admin_round_link, notify_user
from review.services.stages import stages_overdue

CLOCK_SCHEDULE = "review clock: reminders, overdue notices, webhook retries"
DIGEST_SCHEDULE = "review: daily notification digest"


def deadlines_check(*, now=None) -> tuple[int, int]:
    """Returns how many reminders and overdue notices were made now. Overdue stages of a review template are then
    escalated to their producer and, where the stage says so, closed to move on (review.services.stages)."""
    now = now or timezone.now()
    lead = timedelta(hours=settings.SEED_REMINDER_LEAD_HOURS)
    reminders = overdue = 0
    rounds = ReviewRound.objects.filter(
        status=ReviewRound.Status.OPEN, deadline__isnull=False, deadline__lte=now + lead
    )
    for review_round in rounds.select_related("brief", "opened_by"):
        late = now >= review_round.deadline
        kind = NotificationKind.OVERDUE if late else NotificationKind.REMINDER
        invitees = {invitee.invitation: invitee for invitee in round_invitees(review_round=review_round, now=now)}
        made = 0
        with transaction.atomic():
            for invitation in review_round.invitations.select_related("reviewer", "share_link"):
                invitee = invitees.get(invitation.pk)
                if invitee is None or not invitation.decides or invitee.state == "decided":
                    continue
                due = f"{review_round.deadline:%a %d %b %H:%M} UTC"
                message = Message(
                    kind=kind,
                    review_round=review_round,
                    subject=kind.notice.subject_render(
                        number=review_round.number, brief=review_round.brief.title, due=due
                    ),
                    lines=[
                        f"{review_round.brief.title}, round {review_round.number} "
                        f"({review_round.get_stage_display().lower()})"
                        f" waits for your decision on {review_round.items.count()} version(s).",
                        f"The deadline {'was' if late else 'is'} {due}.",
                    ],
                )
                if invitee_notify(invitation=invitation, message=message, key=f"{kind}:{review_round.pk}"):
                    made += 1
            if late:
                overdue += made
            else:
                reminders += made
            if late and made:
                producer = review_round.opened_by
                notify_user(
                    user=producer,
                    key=f"overdue-producer:{review_round.pk}:{producer.pk}",
                    link=admin_round_link(review_round),
                    message=Message(
                        kind=kind,
                        review_round=review_round,
                        subject=kind.notice.subject_render(
                            audience=Audience.ROUND_OPENER, number=review_round.number, brief=review_round.brief.title
                        ),
                        lines=[
                            f"Undecided invitees were sent an overdue notice ({review_round.deadline:%d %b %H:%M})."
                        ],
                    ),
                )
    stages_overdue(now=now)
    return reminders, overdue


def schedules_ensure(**kwargs) -> None:
    """The review clock (every minute) and the daily digest, made on migrate; migrating again changes nothing."""
    from django_q.models import Schedule

    schedule_ensure(
        name=CLOCK_SCHEDULE,
        func="review.tasks.review_clock",
        queue=Queue.CPU,
        schedule_type=Schedule.MINUTES,
        minutes=1,
    )
    schedule_ensure(
        name=DIGEST_SCHEDULE, func="review.tasks.notification_digest", queue=Queue.CPU, schedule_type=Schedule.DAILY
    )
