"""Rounds as a whole: who may see them, the policy they run on, and a brief's approval cycles."""

from __future__ import annotations

from django.db.models import QuerySet, Sum

from assets.access import visible
from assets.models import Brief, Derivation, Phase
from review.cycles import cycles_of
from review.models import ReviewPolicy, ReviewRound


def review_policy_of(*, brief_id: int) -> ReviewPolicy:
    """The brief's review policy, or an unsaved one with the defaults when it has none."""
    return ReviewPolicy.objects.filter(brief_id=brief_id).first() or ReviewPolicy(brief_id=brief_id)


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
        else {"rounds": [], "rounds_to_final_approval": None, "waiting_hours": {}}
    )
    stats = {
        "cycles": len(mine["rounds"]),
        "rounds": mine["rounds"],
        "rounds_to_final_approval": mine["rounds_to_final_approval"],
        "hours_waiting_on_client": round(
            sum(r["hours"] for r in mine["rounds"] if r["stage"] == ReviewRound.Stage.CLIENT), 2
        ),
        "waiting_hours": mine["waiting_hours"],
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
