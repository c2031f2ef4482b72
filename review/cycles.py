"""Approval-cycle analytics for producers: rounds to final approval, time per round, time waiting on each
reviewer, the current bottleneck, and GPU-seconds per phase beside them.

One SQL query gathers every round with its invitees and each invitee's decision time; one more sums the
GPU-seconds. Both serve one brief, a client's briefs, or any set of briefs alike.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from assets.models import Brief, Derivation, Phase
from review.models import Approval, Decision, ReviewRound


def _rows(briefs: QuerySet[Brief]) -> list[dict]:
    decided = Decision.objects.filter(review_round=OuterRef("pk")).filter(
        Q(reviewer=OuterRef("invitations__reviewer"), reviewer__isnull=False)
        | Q(share_link=OuterRef("invitations__share_link"), share_link__isnull=False))
    final = Approval.objects.filter(review_round=OuterRef("pk"), final=True)
    return list(ReviewRound.objects.filter(brief__in=briefs).annotate(
        decided_at=Subquery(decided.values("review_round").annotate(last=Max("created_at")).values("last")),
        final_approval=Exists(final),
    ).values("pk", "brief_id", "brief__title", "brief__campaign__client__name", "number", "stage", "status", "opened_at",
             "closed_at", "invitations__id", "invitations__reviewer__username", "invitations__guest_email",
             "invitations__decides", "invitations__invited_at", "decided_at", "final_approval")
        .order_by("brief_id", "number", "invitations__id"))


def _hours(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 3600, 2)


def cycles_of(*, briefs: QuerySet[Brief], now: datetime | None = None) -> dict:
    """Per brief and in total: rounds, hours per round, hours waiting on each reviewer, the bottleneck."""
    now = now or timezone.now()
    by_brief: dict[int, dict] = {}
    waiting_total: dict[str, float] = defaultdict(float)
    open_waits: list[tuple[float, str, str, int]] = []
    for row in _rows(briefs):
        brief = by_brief.setdefault(row["brief_id"], {
            "brief": row["brief_id"], "title": row["brief__title"], "client": row["brief__campaign__client__name"],
            "rounds": {}, "rounds_to_final_approval": None, "waiting_hours": defaultdict(float)})
        rounds = brief["rounds"]
        if row["pk"] not in rounds:
            rounds[row["pk"]] = {"round": row["pk"], "number": row["number"], "stage": row["stage"], "status": row["status"],
                                 "hours": _hours(row["opened_at"], row["closed_at"] or now), "waiting_on": []}
            if row["final_approval"] and brief["rounds_to_final_approval"] is None:
                brief["rounds_to_final_approval"] = row["number"]
        if row["invitations__id"] is None or not row["invitations__decides"]:
            continue
        who = row["invitations__reviewer__username"] or row["invitations__guest_email"] or "guest"
        end = row["decided_at"] or row["closed_at"] or now
        hours = max(0.0, _hours(row["invitations__invited_at"], end))
        brief["waiting_hours"][who] += hours
        waiting_total[who] += hours
        if row["decided_at"] is None and row["status"] == ReviewRound.Status.OPEN:
            rounds[row["pk"]]["waiting_on"].append(who)
            open_waits.append((hours, who, row["brief__title"], row["number"]))
    briefs_out = []
    for brief in by_brief.values():
        brief["rounds"] = list(brief["rounds"].values())
        brief["cycles"] = len(brief["rounds"])
        brief["waiting_hours"] = {who: round(hours, 2) for who, hours in sorted(brief["waiting_hours"].items(), key=lambda i: -i[1])}
        briefs_out.append(brief)
    bottleneck = None
    if open_waits:
        hours, who, title, number = max(open_waits)
        bottleneck = {"reviewer": who, "hours": hours, "brief": title, "round": number}
    return {"briefs": briefs_out, "waiting_hours": {who: round(h, 2) for who, h in sorted(waiting_total.items(), key=lambda i: -i[1])},
            "bottleneck": bottleneck, "gpu_seconds_by_phase": gpu_seconds_by_phase(briefs=briefs)}


def gpu_seconds_by_phase(*, briefs: QuerySet[Brief]) -> dict[str, float]:
    spent = dict(Derivation.objects.filter(brief__in=briefs).values("phase").annotate(gpu=Sum("gpu_seconds"))
                 .values_list("phase", "gpu"))
    return {phase: round(spent.get(phase) or 0.0, 3) for phase in Phase.values}


def cycles_csv(cycles: dict) -> str:
    """One line per round: what a producer pastes into a status report."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["client", "brief", "round", "stage", "status", "hours_open", "waiting_on", "rounds_to_final_approval"])
    for brief in cycles["briefs"]:
        for item in brief["rounds"]:
            writer.writerow([brief["client"], brief["title"], item["number"], item["stage"], item["status"], item["hours"],
                             "; ".join(item["waiting_on"]), brief["rounds_to_final_approval"] or ""])
    return out.getvalue()
