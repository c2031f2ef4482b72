"""Rounds as a whole: who may see them, the policy they run on, and a brief's approval cycles."""

from __future__ import annotations

from django.db.models import QuerySet, Sum

from assets.access import is_client_user, visible
from assets.errors import ApplicationError
from assets.models import Brief, Derivation, Phase
from review.cycles import cycles_of
from review.models import ReviewPolicy, ReviewRound, RoundVersion


def review_policy_of(*, brief_id: int) -> ReviewPolicy:
    """The brief's review policy, or an unsaved one with the defaults when it has none."""
    return ReviewPolicy.objects.filter(brief_id=brief_id).first() or ReviewPolicy(brief_id=brief_id)


def round_is_final(*, review_round: ReviewRound) -> bool:
    """Whether the round's approvals are final (what delivery accepts): a client round's, or in a template the last
    step's (a template ends on one stage)."""
    stage = review_round.review_stage
    if stage is None:
        return review_round.stage == ReviewRound.Stage.CLIENT
    return not stage.template.stages.filter(step__gt=stage.step).exists()


def round_downloads_allowed(*, review_round: ReviewRound) -> bool:
    """Full-resolution files open to the round's reviewers: always outside a template, else as its stage says."""
    return review_round.review_stage is None or review_round.review_stage.downloads


def _locked_blobs(rounds: QuerySet[ReviewRound], blob_ids) -> set[str]:
    """Of `blob_ids`, those whose latest round among `rounds` is in a stage that locks downloads: locked until a stage
    that allows them shows them (a round outside a template allows them), whether or not the locking round closed."""
    latest = (
        RoundVersion.objects.filter(review_round__in=rounds, version__blob_id__in=list(blob_ids))
        .order_by("version__blob_id", "-review_round__opened_at", "-review_round_id")
        .distinct("version__blob_id")
        .values_list("version__blob_id", "review_round__review_stage__downloads")
    )
    return {blob_id for blob_id, downloads in latest if downloads is False}


def blobs_locked_for(*, user, blob_ids) -> set[str]:
    """The blobs a client user is refused at full resolution, whatever the door (the blob route, a contact sheet's
    PDF): those the latest round of theirs showing them shows in a stage that locks downloads. Never any for the
    studio."""
    if not is_client_user(user=user):
        return set()
    return _locked_blobs(rounds_visible_to(user=user), blob_ids)


def guest_download_lock(*, review_round: ReviewRound, blob) -> ReviewRound | None:
    """The round that locks a share link's guest out of the blob's full resolution: the link's own round where its
    stage locks downloads, else the latest client round of the same client showing the blob, where its stage locks
    them (a link of an earlier round opens no more than the client's signed-in reviewers are let through)."""
    if not round_downloads_allowed(review_round=review_round):
        return review_round
    client_rounds = ReviewRound.objects.filter(
        stage=ReviewRound.Stage.CLIENT, brief__campaign__client_id=review_round.brief.campaign.client_id
    )
    if not _locked_blobs(client_rounds, [blob.pk]):
        return None
    return (
        client_rounds.filter(versions__blob=blob, review_stage__downloads=False).select_related("review_stage").last()
    )


def client_download_check(user, blob) -> None:
    """A client user is refused a version's full-resolution file while a round they are shown it in is open in a
    stage that locks downloads; the studio is never refused."""
    if blobs_locked_for(user=user, blob_ids=[blob.pk]):
        raise ApplicationError(
            "Full-resolution files are locked in this review stage: the review page's preview shows the image, "
            "and the studio opens downloads at a later stage."
        )


def rounds_visible_to(*, user) -> QuerySet[ReviewRound]:
    """Client users see client-stage rounds of their own clients only."""
    return visible(ReviewRound.objects.select_related("brief__campaign__client"), user=user)


def brief_cycle_stats(*, brief: Brief, viewer) -> dict:
    """Approval cycles of one brief as `viewer` may see them (review.cycles): rounds, hours in each, hours waiting on
    the client and on each reviewer, the bottleneck, and for the studio GPU-seconds and wall-seconds per phase."""
    briefs = Brief.objects.filter(pk=brief.pk)
    cycles = cycles_of(briefs=briefs, viewer=viewer)
    mine = (
        cycles["briefs"][0]
        if cycles["briefs"]
        else {"rounds": [], "rounds_to_final_approval": None, "waiting_hours": {}, "stages": []}
    )
    stats = {
        "cycles": len(mine["rounds"]),
        "rounds": mine["rounds"],
        "rounds_to_final_approval": mine["rounds_to_final_approval"],
        "hours_waiting_on_client": round(
            sum(r["hours"] for r in mine["rounds"] if r["stage"] == ReviewRound.Stage.CLIENT), 2
        ),
        "waiting_hours": mine["waiting_hours"],
        "stages": mine["stages"],
        "bottleneck": cycles["bottleneck"],
    }
    if "gpu_seconds_by_phase" in cycles:  # the studio's view (cycles_of leaves the machines' time out for clients)
        wall = dict(
            Derivation.objects.filter(brief=brief)
            .values("phase")
            .annotate(wall=Sum("wall_seconds"))
            .values_list("phase", "wall")
        )
        stats["gpu_seconds_by_phase"] = cycles["gpu_seconds_by_phase"]
        stats["wall_seconds_by_phase"] = {phase: round(wall.get(phase) or 0.0, 3) for phase in Phase.values}
    return stats
