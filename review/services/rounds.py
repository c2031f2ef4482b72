from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max

from assets.access import client_scope, is_client_user
from assets.errors import ApplicationError
from assets.models import Brief, Version
from assets.services.audit import audit_event_append
from assets.services.machine_checks import machine_checks_request
from generation.models import GridJob
from generation.services.grids import grid_progress
from review.models import ChecklistItem, ChecklistTick, Decision, Pin, ReviewRound, RoundVersion, ShareLink
from review.selectors import (
    APPROVING,
    fixes_awaiting_review,
    notes_open_on,
    review_policy_of,
    round_results,
    round_tally,
    version_final_approval,
)
from review.services.automation import decision_notify
from review.services.closing import round_close_locked, round_closing_facts
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
    review_stage=None,
    step_group=None,
) -> ReviewRound:
    """Open the next round of a brief, linked to the previous one; every other round must be closed, but for the
    parallel rounds of its template step (`review_stage`, `step_group`: review.services.stages). `reviewers` decide,
    `commenters` only follow; `guests` are e-mail addresses of client reviewers without an account, each invited with
    a share link of their own (client rounds only). Everyone invited is told once the round commits. On a brief whose
    review policy names a template, an internal round starts the template's first step instead (the producer's picks
    join its deciders) and its first round is returned; a client round opened by hand stays outside the template."""
    if stage == ReviewRound.Stage.INTERNAL and review_stage is None and (template := _template_of(brief)):
        return _template_start(template, brief, versions, opened_by, reviewers, commenters, title)
    guests = _round_request_check(
        brief=brief, versions=versions, stage=stage, rule=rule, guests=guests, invitees=[*reviewers, *commenters]
    )
    with transaction.atomic():
        Brief.objects.select_for_update().get(pk=brief.pk)  # serialises round numbering per brief
        # Fixed regions someone kept join the next round by themselves, next to the versions chosen for it.
        versions = [*versions, *(fix for fix in fixes_awaiting_review(brief=brief) if fix not in versions)]
        previous, number = _round_place(brief=brief, step_group=step_group)
        review_round = ReviewRound.objects.create(
            review_stage=review_stage,
            step_group=step_group,
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
        # Measured on the worker once the round commits, so they are on the round's page within seconds.
        machine_checks_request(version_ids=[version.pk for version in versions])
        invitations_create(
            review_round=review_round,
            deciders=list(reviewers),
            commenters=list(commenters),
            guests=guests,
            created_by=opened_by,
        )
        _round_opened(review_round, versions, reviewers, commenters, guests, opened_by_rule)
    return review_round


def _round_request_check(
    *, brief: Brief, versions: list[Version], stage: str, rule: str, guests: list[str], invitees: list
) -> list[str]:
    """What can be refused before anything is locked; returns the guests' addresses, trimmed."""
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
    for reviewer in invitees:
        scope = client_scope(user=reviewer)
        if stage == ReviewRound.Stage.INTERNAL and is_client_user(user=reviewer):
            raise ApplicationError(f"{reviewer.get_username()} is a client user and cannot review an internal round")
        if scope is not None and brief.campaign.client_id not in scope:
            raise ApplicationError(f"{reviewer.get_username()} cannot see this client's briefs")
    return guests


def _round_place(*, brief: Brief, step_group=None) -> tuple[ReviewRound | None, int]:
    """The round the next one follows and the next one's number, read under the brief's lock. Every other round must
    be closed, but for the parallel rounds of the same template step."""
    previous = brief.review_rounds.order_by("-number").first()
    still_open = brief.review_rounds.filter(status=ReviewRound.Status.OPEN)
    if step_group is not None:
        still_open = still_open.exclude(step_group=step_group)
    blocking = still_open.order_by("number").first()
    if blocking is not None:
        raise ApplicationError(f"round {blocking.number} of this brief is still open; close it first")
    return previous, (brief.review_rounds.aggregate(top=Max("number"))["top"] or 0) + 1


def _template_of(brief: Brief):
    return review_policy_of(brief_id=brief.pk).template


def _template_start(template, brief: Brief, versions: list[Version], opened_by, reviewers, commenters, title: str):
    from review.services.stages import step_open

    return step_open(
        brief=brief,
        template=template,
        step=1,
        versions=versions,
        opened_by=opened_by,
        reviewers=reviewers,
        commenters=commenters,
        title=title,
    )[0]


def _round_opened(
    review_round: ReviewRound, versions: list[Version], reviewers, commenters, guests: list[str], opened_by_rule: str
) -> None:
    """Drafts the round holds are now in review; the opening is audited."""
    Version.objects.filter(pk__in=[v.pk for v in versions], status=Version.Status.DRAFT).update(
        status=Version.Status.IN_REVIEW
    )
    audit_event_append(
        kind="round.opened",
        actor=review_round.opened_by,
        object_type="review_round",
        object_id=review_round.pk,
        payload={
            "brief": review_round.brief_id,
            "number": review_round.number,
            "stage": review_round.stage,
            "versions": [v.pk for v in versions],
            "reviewers": [r.pk for r in reviewers],
            "commenters": [r.pk for r in commenters],
            "guests": len(guests),
            "rule": review_round.rule,
            **({"automation": opened_by_rule} if opened_by_rule else {}),
        },
    )


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


def _decision_check(
    *, review_round: ReviewRound, version: Version, verdict: str, comment: str, reviewer, share_link: ShareLink | None
) -> None:
    """Whether this verdict may be recorded, read under the round's and the version's locks."""
    if review_round.status != ReviewRound.Status.OPEN:
        raise ApplicationError(f"round {review_round.number} is closed; decisions are locked")
    if not review_round.items.filter(version=version).exists():
        raise ApplicationError(f"version {version.pk} is not part of round {review_round.number}")
    if version_final_approval(version=version) is not None:
        raise ApplicationError(f"version {version.pk} is already approved and can no longer change")
    _check_author(review_round, reviewer, share_link)
    _policy_check(review_round, version, verdict, comment)
    _open_notes_check(version, verdict, reviewer, share_link)


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
        _decision_check(
            review_round=review_round,
            version=version,
            verdict=verdict,
            comment=comment,
            reviewer=reviewer,
            share_link=share_link,
        )
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
        closing = round_closing_facts(results=tally.results) if tally.settled else None
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
            round_close_locked(review_round=review_round, closed_by=None, facts=closing)
    return decision


def round_close(*, review_round: ReviewRound, closed_by) -> ReviewRound:
    with transaction.atomic():
        review_round = ReviewRound.objects.select_for_update().get(pk=review_round.pk)
        if review_round.status == ReviewRound.Status.CLOSED:
            raise ApplicationError(f"round {review_round.number} is already closed")
        round_close_locked(
            review_round=review_round,
            closed_by=closed_by,
            facts=round_closing_facts(results=round_results(review_round=review_round)),
        )
    return review_round
