"""What follows a decision or a closed round by itself: notices to the producer, the client round opened when the
internal one approves, and a to-do list when changes are requested. Every automatic step is audited with its rule."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from assets.errors import ApplicationError
from assets.notification_kinds import NotificationKind
from assets.services.audit import audit_event_append
from review.models import Decision, ReviewPolicy, ReviewRound
from review.selectors import APPROVING, UNDECIDED, current_decisions, result_label, review_policy_of, round_is_final
from review.services.notifications import Message, admin_round_link, notify_user, webhooks_notify

logger = logging.getLogger(__name__)
RULE_CLIENT_ROUND = "internal approved → client round"
RULE_TODO = "changes requested → producer to-do"


def _tell(*, review_round: ReviewRound, message: Message, key: str, users) -> None:
    for user in {user.pk: user for user in users if user is not None}.values():
        notify_user(user=user, message=message, key=f"{key}:user{user.pk}", link=admin_round_link(review_round))
    webhooks_notify(message=message, key=key, client_id=review_round.brief.campaign.client_id)


def decision_notify(*, decision: Decision) -> None:
    """Changes requested or a rejection: the producer who opened the round hears at once."""
    review_round = decision.review_round
    said = f": “{decision.comment.strip()[:300]}”" if decision.comment.strip() else ""
    kind = NotificationKind.CHANGES_REQUESTED
    message = Message(
        kind=kind,
        review_round=review_round,
        images=[decision.sha256],
        subject=kind.notice.subject_render(
            author=decision.author_name,
            verdict=decision.get_verdict_display().lower(),
            version=decision.version_id,
            brief=review_round.brief.title,
            number=review_round.number,
        ),
        lines=[
            f"{decision.author_name} chose “{decision.get_verdict_display()}” on version v{decision.version_id}{said}"
        ],
        data={"version": decision.version_id, "verdict": decision.verdict},
    )
    _tell(review_round=review_round, message=message, key=f"decision:{decision.pk}", users=[review_round.opened_by])


def round_closed_followups(*, review_round: ReviewRound, results: dict[int, str]) -> None:
    """Tell the producer and the invitees the roll-up; then the brief's automation, in a savepoint of its own so
    a step that cannot run (no client reviewer, say) is audited and told, never undoes the closing."""
    counts = {}
    for result in results.values():
        counts[result_label(result)] = counts.get(result_label(result), 0) + 1
    summary = ", ".join(f"{count} {label}" for label, count in counts.items())
    invitees = [i.reviewer for i in review_round.invitations.select_related("reviewer") if i.reviewer_id]
    closed = Message(
        kind=NotificationKind.ROUND_CLOSED,
        review_round=review_round,
        subject=NotificationKind.ROUND_CLOSED.notice.subject_render(
            number=review_round.number, brief=review_round.brief.title, summary=summary
        ),
        lines=[f"Round {review_round.number} ({review_round.get_stage_display().lower()}) closed with {summary}."],
        data={"results": {str(pk): result for pk, result in results.items()}},
    )
    _tell(
        review_round=review_round,
        message=closed,
        key=f"closed:{review_round.pk}",
        users=[review_round.opened_by, *invitees],
    )
    approved = [pk for pk, result in results.items() if result in APPROVING]
    if round_is_final(review_round=review_round) and approved:
        final = Message(
            kind=NotificationKind.FINAL_APPROVAL,
            review_round=review_round,
            subject=NotificationKind.FINAL_APPROVAL.notice.subject_render(
                count=len(approved), brief=review_round.brief.title
            ),
            lines=[
                f"{'The client' if review_round.stage == ReviewRound.Stage.CLIENT else 'The last stage'} approved "
                f"{', '.join(f'v{pk}' for pk in approved)} in round {review_round.number}: ready to deliver."
            ],
            images=list(review_round.versions.filter(pk__in=approved).values_list("blob_id", flat=True)),
            data={"versions": approved},
        )
        _tell(review_round=review_round, message=final, key=f"final:{review_round.pk}", users=[review_round.opened_by])
    policy = review_policy_of(brief_id=review_round.brief_id)
    # A template's stages run by themselves, whatever the policy's internal → client switch says.
    templated = review_round.review_stage_id is not None
    if not (policy.automate_stages or templated):
        return
    needs_work = [pk for pk, result in results.items() if result not in APPROVING and result != UNDECIDED]
    if needs_work or any(result == Decision.Verdict.APPROVE_WITH_CHANGES for result in results.values()):
        _todo(review_round=review_round, results=results)
    if templated:
        from review.services.stages import step_closed

        step_closed(review_round=review_round)
    elif review_round.stage == ReviewRound.Stage.INTERNAL and approved:
        _client_round_open(review_round=review_round, approved=approved, policy=policy)


def _todo(*, review_round: ReviewRound, results: dict[int, str]) -> None:
    lines = [f"Round {review_round.number} of {review_round.brief.title} asks for work on these versions:"]
    notes = {}
    for decision in current_decisions(review_round=review_round):
        if decision.verdict in (Decision.Verdict.APPROVE,):
            continue
        text = decision.comment.strip() or "(no note)"
        pins = [pin.note for pin in decision.pins.all() if pin.note and pin.note != decision.comment]
        notes.setdefault(decision.version_id, []).append(
            f"{decision.author_name}: {text}" + (f" [marked: {'; '.join(pins)}]" if pins else "")
        )
    for pk, result in results.items():
        if pk in notes:
            lines.append(f"☐ v{pk} — {result_label(result)}: " + " / ".join(notes[pk]))
    message = Message(
        kind=NotificationKind.TODO,
        review_round=review_round,
        lines=lines,
        subject=NotificationKind.TODO.notice.subject_render(number=review_round.number, brief=review_round.brief.title),
        data={"notes": {str(k): v for k, v in notes.items()}},
    )
    _tell(review_round=review_round, message=message, key=f"todo:{review_round.pk}", users=[review_round.opened_by])
    audit_event_append(
        kind="automation.todo",
        actor=None,
        object_type="review_round",
        object_id=review_round.pk,
        payload={"rule": RULE_TODO, "versions": sorted(notes)},
    )


def _client_round_open(*, review_round: ReviewRound, approved: list[int], policy: ReviewPolicy) -> None:
    from review.services.invitations import client_reviewers
    from review.services.rounds import round_open

    reviewers = client_reviewers(brief=review_round.brief)
    try:
        if not reviewers and not policy.guest_emails:
            raise ApplicationError("the client has no reviewer account and the brief names no guest reviewer")
        with transaction.atomic():
            opened = round_open(
                brief=review_round.brief,
                versions=list(review_round.versions.filter(pk__in=approved).order_by("pk")),
                stage=ReviewRound.Stage.CLIENT,
                opened_by=review_round.opened_by,
                reviewers=reviewers,
                guests=policy.guest_emails,
                title=f"Client review after internal round {review_round.number}",
                deadline=timezone.now() + timedelta(days=policy.client_round_days),
                opened_by_rule=RULE_CLIENT_ROUND,
            )
        audit_event_append(
            kind="automation.client_round_opened",
            actor=None,
            object_type="review_round",
            object_id=opened.pk,
            payload={
                "rule": RULE_CLIENT_ROUND,
                "after": review_round.pk,
                "versions": approved,
                "reviewers": [user.pk for user in reviewers],
                "guests": len(policy.guest_emails),
            },
        )
    except ApplicationError as exc:
        logger.warning("automation %r skipped for round %s: %s", RULE_CLIENT_ROUND, review_round.pk, exc.message)
        automation_skipped(review_round=review_round, rule=RULE_CLIENT_ROUND, reason=exc.message)


def automation_skipped(*, review_round: ReviewRound, rule: str, reason: str) -> None:
    """An automatic step that could not run: audited, and the producer told to take the next step by hand."""
    audit_event_append(
        kind="automation.skipped",
        actor=None,
        object_type="review_round",
        object_id=review_round.pk,
        payload={"rule": rule, "reason": reason},
    )
    message = Message(
        kind=NotificationKind.AUTOMATION_SKIPPED,
        review_round=review_round,
        subject=NotificationKind.AUTOMATION_SKIPPED.notice.subject_render(brief=review_round.brief.title),
        lines=[f"Round {review_round.number} was approved, but the next round could not open by itself: {reason}."],
    )
    _tell(
        review_round=review_round,
        message=message,
        key=f"automation_skipped:{review_round.pk}",
        users=[review_round.opened_by],
    )
