"""Review templates running by themselves: a round opened on a brief whose policy names a template starts the
template's first step; each step's stages are rounds opened together (in parallel), and once every one of them
closed, the versions all of them approved open the next step. Deadlines count business days."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assets.access import client_scope, is_client_user
from assets.errors import ApplicationError
from assets.models import Brief, Version
from assets.notification_kinds import NotificationKind
from assets.services.audit import audit_event_append
from review.models import Approval, ReviewRound, ReviewStage, ReviewTemplate
from review.selectors import review_policy_of, round_invitees
from review.services.invitations import client_reviewers

logger = logging.getLogger(__name__)
RULE_NEXT_STEP = "stage approved → next step"


def business_days_add(*, start: dt.datetime, days: int, holidays=()) -> dt.datetime:
    """`days` working days after `start`, at the same time of day: Saturdays, Sundays and `holidays` (dates or
    YYYY-MM-DD strings) do not count, so Friday plus one business day is Monday."""
    skipped = {day if isinstance(day, dt.date) else dt.date.fromisoformat(day) for day in holidays}
    when, left = start, days
    while left > 0:
        when += dt.timedelta(days=1)
        if when.weekday() < 5 and when.date() not in skipped:
            left -= 1
    return when


def stage_deciders(*, stage: ReviewStage, brief: Brief) -> tuple[list, list[str]]:
    """Who decides in `stage` for `brief`: its named users and the active members of its groups, as users who may
    review that audience and see the brief (studio people for internal, legal and brand stages, those bound to other
    clients left out; the brief's client's people for a client stage, or else the client's reviewer accounts), and
    for a client stage the policy's guest addresses."""
    named = (
        get_user_model()
        .objects.filter(Q(pk__in=stage.deciders.all()) | Q(groups__name__in=stage.decider_groups), is_active=True)
        .distinct()
        .order_by("pk")
    )
    client_id = brief.campaign.client_id
    if stage.audience != ReviewStage.Audience.CLIENT:
        # A template serves every client's briefs: a producer bound to other clients is passed over, not a refusal.
        users = [user for user in named if not is_client_user(user=user) and _sees_client(user, client_id)]
        if not users:
            raise ApplicationError(f"the {stage.name} stage names no studio decider (users or groups)")
        return users, []
    users = [user for user in named if is_client_user(user=user) and client_id in (client_scope(user=user) or ())]
    if not users:
        users = client_reviewers(brief=brief)
    guests = list(review_policy_of(brief_id=brief.pk).guest_emails)
    if not users and not guests:
        raise ApplicationError(
            f"the {stage.name} stage has no client decider: the client has no reviewer account and the brief's "
            "review policy names no guest reviewer"
        )
    return users, guests


def _sees_client(user, client_id: int) -> bool:
    scope = client_scope(user=user)
    return scope is None or client_id in scope


def step_open(
    *,
    brief: Brief,
    template: ReviewTemplate,
    step: int,
    versions: list[Version],
    opened_by,
    reviewers=(),
    commenters=(),
    title: str = "",
    opened_by_rule: str = "",
    now: dt.datetime | None = None,
) -> list[ReviewRound]:
    """Open one round per stage of the template's `step`, together. `reviewers` and `commenters` (the producer's
    own picks when a new run starts) join the template's deciders of each stage."""
    from review.services.rounds import round_open

    stages = list(template.stages.filter(step=step).order_by("pk"))
    if not stages:
        raise ApplicationError(f"the review template {template.name!r} has no step {step}")
    now = now or timezone.now()
    group = uuid.uuid4()
    opened = []
    with transaction.atomic():
        for stage in stages:
            users, guests = stage_deciders(stage=stage, brief=brief)
            deciders = list({user.pk: user for user in [*users, *reviewers]}.values())
            opened.append(
                round_open(
                    brief=brief,
                    versions=versions,
                    stage=stage.round_stage,
                    opened_by=opened_by,
                    reviewers=deciders,
                    commenters=[user for user in commenters if user not in deciders],
                    guests=guests,
                    rule=stage.rule,
                    title=title or f"{stage.name} ({template.name}, step {step})",
                    deadline=business_days_add(start=now, days=stage.deadline_days, holidays=template.holidays),
                    opened_by_rule=opened_by_rule,
                    review_stage=stage,
                    step_group=group,
                )
            )
    return opened


def step_closed(*, review_round: ReviewRound) -> None:
    """After a stage's round closed: once every round of its step is closed, the versions each of them approved
    open the template's next step, if there is one. Parallel rounds close one at a time (each closing holds the
    audit trail's lock from its first append on), so the last of them to close sees the others closed."""
    siblings = list(ReviewRound.objects.filter(step_group=review_round.step_group).select_related("review_stage"))
    if any(sibling.status == ReviewRound.Status.OPEN for sibling in siblings):
        return
    stage = review_round.review_stage
    following = stage.template.stages.filter(step=stage.step + 1).exists()
    approved = None
    for sibling in siblings:
        mine = set(Approval.objects.filter(review_round=sibling).values_list("version_id", flat=True))
        approved = mine if approved is None else approved & mine
    if not following or not approved:
        return
    first = min(siblings, key=lambda sibling: sibling.number)
    try:
        with transaction.atomic():
            opened = step_open(
                brief=review_round.brief,
                template=stage.template,
                step=stage.step + 1,
                versions=list(Version.objects.filter(pk__in=approved).order_by("pk")),
                opened_by=first.opened_by,
                opened_by_rule=RULE_NEXT_STEP,
            )
    except ApplicationError as exc:
        from review.services.automation import automation_skipped

        logger.warning("automation %r skipped for round %s: %s", RULE_NEXT_STEP, review_round.pk, exc.message)
        automation_skipped(review_round=review_round, rule=RULE_NEXT_STEP, reason=exc.message)
        return
    audit_event_append(
        kind="automation.step_opened",
        actor=None,
        object_type="review_round",
        object_id=opened[0].pk,
        payload={
            "rule": RULE_NEXT_STEP,
            "template": stage.template.name,
            "step": stage.step + 1,
            "after": [sibling.pk for sibling in siblings],
            "rounds": [r.pk for r in opened],
            "stages": [r.review_stage.name for r in opened],
            "versions": sorted(approved),
        },
    )


def stages_overdue(*, now: dt.datetime | None = None) -> int:
    """Stage rounds past their deadline: the producer who opened the run is told once, and it is audited; a stage
    that moves on at its deadline then closes with what was decided (which opens the next step where that approves).
    `escalated_at` marks each round told under its row lock, so a second run or a second scheduler tells nobody
    again. Returns how many stages were escalated now."""
    now = now or timezone.now()
    due = ReviewRound.objects.filter(
        status=ReviewRound.Status.OPEN, review_stage__isnull=False, deadline__lte=now, escalated_at__isnull=True
    )
    escalated = 0
    for pk in due.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            review_round = (
                ReviewRound.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=ReviewRound.Status.OPEN, escalated_at__isnull=True)
                .first()
            )
            if review_round is None:
                continue
            review_round.escalated_at = now
            review_round.save(update_fields=["escalated_at"])
            _escalate(review_round=review_round, now=now)
        escalated += 1
    _stages_move_on(now=now)
    return escalated


def _stages_move_on(*, now: dt.datetime) -> None:
    """Close the overdue rounds of stages that move on at their deadline, each in a transaction of its own (closing
    re-hashes what it approves before it takes the audit trail's lock)."""
    from review.services.rounds import round_close

    due = ReviewRound.objects.filter(
        status=ReviewRound.Status.OPEN,
        review_stage__at_deadline=ReviewStage.AtDeadline.MOVE_ON,
        deadline__lte=now,
        escalated_at__isnull=False,
    )
    for review_round in due.order_by("pk"):
        try:
            round_close(review_round=review_round, closed_by=None)
        except ApplicationError as exc:  # a last decision closed it meanwhile, or its bytes no longer match
            logger.warning("overdue stage round %s not moved on: %s", review_round.pk, exc.message)


def _escalate(*, review_round: ReviewRound, now: dt.datetime) -> None:
    from review.services.notifications import Message, admin_round_link, notify_user

    stage = review_round.review_stage
    waiting = [
        invitee.name
        for invitee in round_invitees(review_round=review_round, now=now)
        if invitee.decides and invitee.decided_at is None
    ]
    moving_on = stage.at_deadline == ReviewStage.AtDeadline.MOVE_ON
    what = "closes with what was decided" if moving_on else f"waits on {len(waiting)} decider(s)"
    kind = NotificationKind.STAGE_ESCALATED
    message = Message(
        kind=kind,
        review_round=review_round,
        subject=kind.notice.subject_render(
            stage=stage.name, brief=review_round.brief.title, number=review_round.number, what=what
        ),
        lines=[
            f"The {stage.name} stage of {review_round.brief.title} (round {review_round.number}) was due "
            f"{review_round.deadline:%a %d %b %H:%M} UTC.",
            f"Still undecided: {', '.join(waiting) or 'nobody'}.",
            "It closes now with what was decided; the next step opens with what it approved."
            if moving_on
            else "It keeps waiting: remind them, add a decider, or close the round by hand.",
        ],
        data={"stage": stage.name, "waiting": waiting},
    )
    producer = review_round.opened_by
    notify_user(
        user=producer,
        message=message,
        key=f"escalated:{review_round.pk}:user{producer.pk}",
        link=admin_round_link(review_round),
    )
    audit_event_append(
        kind="stage.escalated",
        actor=None,
        object_type="review_round",
        object_id=review_round.pk,
        payload={
            "stage": stage.name,
            "template": stage.template.name,
            "deadline": review_round.deadline.isoformat(),
            "waiting": waiting,
            "producer": producer.pk,
            "at_deadline": stage.at_deadline,
        },
    )
