from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from assets.access import client_scope, is_client_user
from assets.errors import ApplicationError
from assets.models import Brief, Version
from assets.services.audit import audit_event_append
from assets.services.blobs import blob_hash
from generation.models import GridJob
from generation.services.grids import grid_progress
from review.models import Approval, ChecklistItem, ChecklistTick, Decision, Pin, ReviewRound, RoundVersion, ShareLink
from review.selectors import (
    APPROVING,
    UNDECIDED,
    fixes_awaiting_review,
    notes_open_on,
    review_policy_of,
    round_results,
    round_tally,
    version_final_approval,
)
from review.services.automation import decision_notify, round_closed_followups
from review.services.invitations import invitations_create


@dataclass(frozen=True)
class PinInput:
    x: float
    y: float
    w: float = 0.0
    h: float = 0.0
    note: str = ""


def round_open(
    *,
    brief: Brief,
    versions: list[Version],
    stage: str,
    opened_by,
    reviewers=(),
    commenters=(),
    guests: list[str] = (),
    rule: str = ReviewRound.Rule.ALL,
    title: str = "",
    deadline=None,
    opened_by_rule: str = "",
) -> ReviewRound:
    """Open the next round of a brief; it links to the previous round, which must be closed.

    `reviewers` decide and `commenters` only follow; `guests` are e-mail addresses of client reviewers
    without an account, each invited with a share link of their own (client rounds only). Everyone
    invited is told once the round commits.
    """
    if stage not in ReviewRound.Stage.values:
        raise ApplicationError(f"unknown stage {stage!r}; choose internal or client")
    if rule not in ReviewRound.Rule.values:
        raise ApplicationError(f"unknown roll-up rule {rule!r}; choose one of {', '.join(ReviewRound.Rule.values)}")
    guests = [address.strip() for address in guests if address.strip()]
    if guests and stage != ReviewRound.Stage.CLIENT:
        raise ApplicationError("guests review client rounds only")
    bad = [address for address in guests if not _email_valid(address)]
    if bad:
        raise ApplicationError(f"not an e-mail address: {', '.join(bad)}")
    if not versions:
        raise ApplicationError("a round needs at least one version")
    foreign = [v.pk for v in versions if v.brief_id != brief.pk]
    if foreign:
        raise ApplicationError(f"versions {foreign} do not belong to brief {brief.pk}", extra={"versions": foreign})
    for reviewer in [*reviewers, *commenters]:
        scope = client_scope(user=reviewer)
        if stage == ReviewRound.Stage.INTERNAL and is_client_user(user=reviewer):
            raise ApplicationError(f"{reviewer.get_username()} is a client user and cannot review an internal round")
        if scope is not None and brief.campaign.client_id not in scope:
            raise ApplicationError(f"{reviewer.get_username()} cannot see this client's briefs")
    with transaction.atomic():
        Brief.objects.select_for_update().get(pk=brief.pk)  # serialises round numbering per brief
        # Fixed regions someone kept join the next round by themselves, next to the versions chosen for it.
        versions = [*versions, *(fix for fix in fixes_awaiting_review(brief=brief) if fix not in versions)]
        previous = brief.review_rounds.order_by("-number").first()
        if previous is not None and previous.status == ReviewRound.Status.OPEN:
            raise ApplicationError(f"round {previous.number} of this brief is still open; close it first")
        number = (brief.review_rounds.aggregate(top=Max("number"))["top"] or 0) + 1
        review_round = ReviewRound.objects.create(
            brief=brief,
            number=number,
            stage=stage,
            title=title,
            previous=previous,
            deadline=deadline,
            opened_by=opened_by,
            rule=rule,
        )
        RoundVersion.objects.bulk_create(
            RoundVersion(review_round=review_round, version=version, position=i) for i, version in enumerate(versions)
        )
        invitations_create(
            review_round=review_round,
            deciders=list(reviewers),
            commenters=list(commenters),
            guests=guests,
            created_by=opened_by,
        )
        Version.objects.filter(pk__in=[v.pk for v in versions], status=Version.Status.DRAFT).update(
            status=Version.Status.IN_REVIEW
        )
        audit_event_append(
            kind="round.opened",
            actor=opened_by,
            object_type="review_round",
            object_id=review_round.pk,
            payload={
                "brief": brief.pk,
                "number": number,
                "stage": stage,
                "versions": [v.pk for v in versions],
                "reviewers": [r.pk for r in reviewers],
                "commenters": [r.pk for r in commenters],
                "guests": len(guests),
                "rule": rule,
                **({"automation": opened_by_rule} if opened_by_rule else {}),
            },
        )
    return review_round


def grid_round_open(*, grid: GridJob, opened_by, reviewers=()) -> ReviewRound:
    """Open an internal review round of the grid's cells (the versions made so far), for reviewers to compare."""
    versions = [v for v in grid_progress(grid=grid)["versions"] if v is not None]
    if not versions:
        raise ApplicationError(f"grid #{grid.pk} has no cell made yet to review")
    return round_open(
        brief=grid.brief,
        versions=list(Version.objects.filter(pk__in=versions).order_by("pk")),
        stage=ReviewRound.Stage.INTERNAL,
        opened_by=opened_by,
        reviewers=list(reviewers),
        title=f"grid #{grid.pk}: {', '.join(axis['label'] for axis in grid.axes)}",
    )


def _email_valid(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _check_author(review_round: ReviewRound, reviewer, share_link: ShareLink | None) -> None:
    if share_link is not None:
        if share_link.review_round_id != review_round.pk:
            raise ApplicationError("this link does not belong to this round")
        if not share_link.can_decide:
            raise ApplicationError("this link is view-only")
        return
    if reviewer is None:
        raise ApplicationError("a decision needs a reviewer")
    scope = client_scope(user=reviewer)
    if scope is not None and review_round.brief.campaign.client_id not in scope:
        raise ApplicationError(f"{reviewer.get_username()} cannot see this client's briefs")
    if is_client_user(user=reviewer) and review_round.stage != ReviewRound.Stage.CLIENT:
        raise ApplicationError("client users decide in client rounds only")
    invitation = review_round.invitations.filter(reviewer=reviewer).first()
    if invitation is None and not reviewer.is_superuser:
        raise ApplicationError(f"{reviewer.get_username()} is not invited to round {review_round.number}")
    if invitation is not None and not invitation.decides:
        raise ApplicationError(
            f"{reviewer.get_username()} follows round {review_round.number} but does not decide in it",
            extra={"code": "not_a_decider"},
        )


def _open_notes_check(version: Version, verdict: str, reviewer, share_link: ShareLink | None) -> None:
    """A decider's own open note stands against a plain approval: resolve it, or approve with changes."""
    if verdict != Decision.Verdict.APPROVE:
        return
    mine = (
        notes_open_on(version=version).filter(share_link=share_link)
        if share_link is not None
        else notes_open_on(version=version).filter(author=reviewer)
    )
    open_ids = list(mine.values_list("pk", flat=True))
    if open_ids:
        raise ApplicationError(
            f"your note(s) {', '.join(f'#{pk}' for pk in open_ids)} on this version are still open: "
            "resolve them, or approve with changes",
            extra={"code": "notes_open", "notes": open_ids},
        )


def _policy_check(review_round: ReviewRound, version: Version, verdict: str, comment: str) -> None:
    """The brief's own rules: a reason for changes or a rejection, every checklist item ticked before approving."""
    policy = review_policy_of(brief_id=review_round.brief_id)
    if (
        policy.reason_for_changes
        and verdict in (Decision.Verdict.CHANGES_REQUESTED, Decision.Verdict.REJECT)
        and not comment.strip()
    ):
        raise ApplicationError(
            "give a reason: this brief asks for one when changes are requested or a version is rejected",
            extra={"code": "reason_required"},
        )
    if policy.checklist_before_approval and verdict in APPROVING:
        ticked = set(ChecklistTick.objects.filter(version=version, checked=True).values_list("item_id", flat=True))
        open_items = [
            item.label
            for item in ChecklistItem.objects.filter(brief_id=review_round.brief_id, active=True)
            if item.pk not in ticked
        ]
        if open_items:
            raise ApplicationError(
                f"tick every checklist item before approving; still open: {', '.join(open_items)}",
                extra={"code": "checklist_open", "open": open_items},
            )


def _pins_clean(pins: list[PinInput]) -> list[PinInput]:
    for pin in pins:
        values = (pin.x, pin.y, pin.w, pin.h)
        if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in values):
            raise ApplicationError("pin coordinates must be numbers")
        if not all(0.0 <= v <= 1.0 for v in values) or pin.x + pin.w > 1.0 or pin.y + pin.h > 1.0:
            raise ApplicationError(
                f"pin {values} lies outside the image; coordinates are fractions of width and height (0..1)"
            )
    return pins


def decision_record(
    *,
    review_round: ReviewRound,
    version: Version,
    verdict: str,
    comment: str = "",
    pins: list[PinInput] = (),
    reviewer=None,
    share_link: ShareLink | None = None,
    guest_name: str = "",
    internal: bool = False,
) -> Decision:
    """Record a verdict bound to the bytes the reviewer saw; the round closes when everyone has decided."""
    if verdict not in Decision.Verdict.values:
        raise ApplicationError(f"unknown decision {verdict!r}; choose one of {', '.join(Decision.Verdict.values)}")
    pins = _pins_clean(list(pins))
    with transaction.atomic():
        review_round = ReviewRound.objects.select_for_update().get(pk=review_round.pk)
        version = Version.objects.select_for_update().get(pk=version.pk)
        if review_round.status != ReviewRound.Status.OPEN:
            raise ApplicationError(f"round {review_round.number} is closed; decisions are locked")
        if not review_round.items.filter(version=version).exists():
            raise ApplicationError(f"version {version.pk} is not part of round {review_round.number}")
        if version_final_approval(version=version) is not None:
            raise ApplicationError(f"version {version.pk} is already approved and can no longer change")
        _check_author(review_round, reviewer, share_link)
        _policy_check(review_round, version, verdict, comment)
        _open_notes_check(version, verdict, reviewer, share_link)
        decision = Decision.objects.create(
            review_round=review_round,
            version=version,
            reviewer=reviewer if share_link is None else None,
            share_link=share_link,
            guest_name=guest_name.strip()[:120],
            verdict=verdict,
            comment=comment,
            internal=internal and share_link is None and not is_client_user(user=reviewer),
            sha256=version.blob_id,
        )
        Pin.objects.bulk_create(Pin(decision=decision, x=p.x, y=p.y, w=p.w, h=p.h, note=p.note[:500]) for p in pins)
        tally = round_tally(review_round=review_round)
        closing = _closing_facts(review_round, tally.results) if tally.settled else None
        audit_event_append(
            kind="decision",
            actor=decision.reviewer,
            share_link_id=share_link.pk if share_link else None,
            object_type="version",
            object_id=version.pk,
            payload={
                "round": review_round.pk,
                "verdict": verdict,
                "sha256": version.blob_id,
                "pins": len(pins),
                "guest": decision.guest_name,
            },
        )
        if verdict in (Decision.Verdict.CHANGES_REQUESTED, Decision.Verdict.REJECT):
            decision_notify(decision=decision)
        if closing is not None:
            _close(review_round, closed_by=None, facts=closing)
    return decision


def round_close(*, review_round: ReviewRound, closed_by) -> ReviewRound:
    with transaction.atomic():
        review_round = ReviewRound.objects.select_for_update().get(pk=review_round.pk)
        if review_round.status == ReviewRound.Status.CLOSED:
            raise ApplicationError(f"round {review_round.number} is already closed")
        _close(
            review_round,
            closed_by=closed_by,
            facts=_closing_facts(review_round, round_results(review_round=review_round)),
        )
    return review_round


def _closing_facts(review_round: ReviewRound, results: dict[int, str]) -> tuple[dict, dict[int, str | None]]:
    """The round's roll-up and the re-hashed bytes of every version it approves.

    Called before the transaction appends to the audit trail: from then on it holds the chain's lock,
    which every other audit writer waits for, and re-hashing a large master must not happen under it.
    """
    approved = Version.objects.filter(pk__in=[pk for pk, result in results.items() if result in APPROVING])
    return results, {version.pk: blob_hash(sha256=version.blob_id) for version in approved}


def _close(review_round: ReviewRound, *, closed_by, facts: tuple[dict, dict[int, str | None]]) -> None:
    """Roll decisions up per version; an approved version gets an approval bound to its re-hashed bytes."""
    results, rehashed = facts
    final = review_round.stage == ReviewRound.Stage.CLIENT
    for version in Version.objects.select_for_update().filter(pk__in=list(results)).order_by("pk"):
        result = results[version.pk]
        if result in APPROVING:
            actual = rehashed[version.pk]
            if actual != version.blob_id:
                raise ApplicationError(
                    f"version {version.pk}'s stored bytes no longer match its sha256; it cannot be approved",
                    extra={"version": version.pk, "expected": version.blob_id, "actual": actual},
                )
            try:
                with transaction.atomic():
                    approval = Approval.objects.create(
                        version=version,
                        review_round=review_round,
                        sha256=version.blob_id,
                        final=final,
                        approved_by=closed_by,
                    )
            except IntegrityError as exc:
                raise ApplicationError(f"version {version.pk} already has a final approval") from exc
            audit_event_append(
                kind="approval",
                actor=closed_by,
                object_type="version",
                object_id=version.pk,
                payload={"round": review_round.pk, "sha256": approval.sha256, "final": final},
            )
        status = (
            (Version.Status.APPROVED if final else Version.Status.IN_REVIEW)
            if result in APPROVING
            else {Decision.Verdict.REJECT: Version.Status.REJECTED}.get(result, Version.Status.IN_REVIEW)
        )
        if result != UNDECIDED and version.status != status:
            version.status = status
            version.save(update_fields=["status"])
    review_round.status = ReviewRound.Status.CLOSED
    review_round.closed_at = timezone.now()
    review_round.closed_by = closed_by
    review_round.save(update_fields=["status", "closed_at", "closed_by"])
    audit_event_append(
        kind="round.closed",
        actor=closed_by,
        object_type="review_round",
        object_id=review_round.pk,
        payload={"results": {str(k): v for k, v in results.items()}},
    )
    round_closed_followups(review_round=review_round, results=results)
