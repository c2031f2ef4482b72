"""Approval-cycle analytics for producers: rounds to final approval, time per round, time waiting on each
reviewer, the current bottleneck, figures per review stage (time in it, rounds, overdue, whom it waits on), and
GPU-seconds per phase beside them.

One SQL query gathers every round with its invitees and each invitee's decision time; one more sums the
GPU-seconds. Both serve one brief, a client's briefs, or any set of briefs alike.

A client user sees the same figures for client-stage rounds only, as the client sees them: the studio's people are
"Studio" and other guests are "Guest" (their own address is theirs to see), and no GPU-seconds. invitee_namer is that
naming rule for every page that lists a round's invitees.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from assets.access import client_facing, client_scope, viewer_of
from assets.models import Brief, ClientMembership, Derivation, Phase
from review.models import Approval, Decision, ReviewRound

STUDIO = "Studio"
GUEST = "Guest"


def _rows(briefs: QuerySet[Brief], *, client_only: bool) -> list[dict]:
    decided = Decision.objects.filter(review_round=OuterRef("pk")).filter(
        Q(reviewer=OuterRef("invitations__reviewer"), reviewer__isnull=False)
        | Q(share_link=OuterRef("invitations__share_link"), share_link__isnull=False)
    )
    final = Approval.objects.filter(review_round=OuterRef("pk"), final=True)
    rounds = ReviewRound.objects.filter(brief__in=briefs)
    if client_only:
        rounds = client_facing(rounds)
    return list(
        rounds.annotate(
            decided_at=Subquery(decided.values("review_round").annotate(last=Max("created_at")).values("last")),
            final_approval=Exists(final),
        )
        .values(
            "pk",
            "brief_id",
            "brief__title",
            "brief__campaign__client__name",
            "number",
            "stage",
            "review_stage__name",
            "review_stage__step",
            "status",
            "deadline",
            "opened_at",
            "closed_at",
            "invitations__id",
            "invitations__reviewer_id",
            "invitations__reviewer__username",
            "invitations__guest_email",
            "invitations__decides",
            "invitations__invited_at",
            "decided_at",
            "final_approval",
        )
        .order_by("brief_id", "number", "invitations__id")
    )


def _hours(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 3600, 2)


def _studio_sees_all(viewer) -> bool:
    # Anyone not positively studio staff (an anonymous or inactive account included) gets the client's view.
    return viewer_of(user=viewer).studio


def colleagues_of(*, viewer, user_ids: set[int]) -> set[int]:
    """Of `user_ids`, those `viewer` may know by name: all of them for studio staff; for anyone else, the members of
    the viewer's own clients (and the viewer)."""
    if _studio_sees_all(viewer):
        return set(user_ids)
    scope = (client_scope(user=viewer) if viewer is not None else None) or set()
    colleagues = (
        set(
            ClientMembership.objects.filter(user_id__in=user_ids, client_id__in=scope).values_list("user_id", flat=True)
        )
        if user_ids and scope
        else set()
    )
    own = getattr(viewer, "pk", None)
    return colleagues | ({own} if own in user_ids else set())


def invitee_namer(*, viewer, user_ids: set[int]):
    """How an invitee is named to `viewer`, as name(reviewer_id, name, guest_email): studio staff see every name and
    address; a client user sees the names of their own clients' people, their own address, and "Studio" or "Guest"
    for everyone else. `user_ids`: the reviewers that may be asked about (one query for them all)."""
    if _studio_sees_all(viewer):
        return lambda reviewer_id, name, guest_email: name
    colleagues = colleagues_of(viewer=viewer, user_ids=user_ids)
    own_address = (getattr(viewer, "email", "") or "").strip().lower()

    def client_view(reviewer_id: int | None, name: str, guest_email: str | None) -> str:
        if reviewer_id:
            return name if reviewer_id in colleagues else STUDIO
        address = (guest_email or "").strip().lower()
        return guest_email if own_address and address == own_address else GUEST

    return client_view


def _namer(rows: list[dict], *, viewer):
    name = invitee_namer(
        viewer=viewer, user_ids={row["invitations__reviewer_id"] for row in rows if row["invitations__reviewer_id"]}
    )
    return lambda row: name(
        row["invitations__reviewer_id"],
        row["invitations__reviewer__username"] or row["invitations__guest_email"] or "guest",
        row["invitations__guest_email"],
    )


def cycles_of(*, briefs: QuerySet[Brief], viewer, now: datetime | None = None) -> dict:
    """Per brief and in total: rounds, hours per round, hours waiting on each reviewer, the bottleneck, as `viewer`
    may see them (client users: client-stage rounds, without the studio's names or other guests' addresses)."""
    now = now or timezone.now()
    studio = _studio_sees_all(viewer)
    rows = _rows(briefs, client_only=not studio)
    name_of = _namer(rows, viewer=viewer)
    by_brief: dict[int, dict] = {}
    waiting_total: dict[str, float] = defaultdict(float)
    open_waits: list[tuple[float, str, str, int]] = []
    for row in rows:
        brief = _brief_entry(by_brief, row)
        review_round = _round_entry(brief, row, now=now)
        if row["invitations__id"] is None or not row["invitations__decides"]:
            continue
        who = name_of(row)
        end = row["decided_at"] or row["closed_at"] or now
        hours = max(0.0, _hours(row["invitations__invited_at"], end))
        brief["waiting_hours"][who] += hours
        waiting_total[who] += hours
        if row["decided_at"] is None and row["status"] == ReviewRound.Status.OPEN:
            review_round["waiting_on"].append(who)
            open_waits.append((hours, who, row["brief__title"], row["number"]))
    bottleneck = None
    if open_waits:
        hours, who, title, number = max(open_waits)
        bottleneck = {"reviewer": who, "hours": hours, "brief": title, "round": number}
    summaries = [_brief_summary(brief) for brief in by_brief.values()]
    cycles = {
        "briefs": summaries,
        "stages": stage_figures([item for brief in summaries for item in brief["rounds"]]),
        "waiting_hours": _most_hours_first(waiting_total),
        "bottleneck": bottleneck,
    }
    if studio:  # what the studio's GPUs spent is the studio's own business
        cycles["gpu_seconds_by_phase"] = gpu_seconds_by_phase(briefs=briefs)
    return cycles


def _brief_entry(by_brief: dict[int, dict], row: dict) -> dict:
    return by_brief.setdefault(
        row["brief_id"],
        {
            "brief": row["brief_id"],
            "title": row["brief__title"],
            "client": row["brief__campaign__client__name"],
            "rounds": {},
            "rounds_to_final_approval": None,
            "waiting_hours": defaultdict(float),
        },
    )


def _round_entry(brief: dict, row: dict, *, now: datetime) -> dict:
    """The row's round in its brief's entry, added from the round's first row (one row per invitation)."""
    rounds = brief["rounds"]
    if row["pk"] not in rounds:
        rounds[row["pk"]] = {
            "round": row["pk"],
            "number": row["number"],
            "stage": row["stage"],
            "status": row["status"],
            "review_stage": row["review_stage__name"] or row["stage"],
            "step": row["review_stage__step"],
            "hours": _hours(row["opened_at"], row["closed_at"] or now),
            "overdue": row["deadline"] is not None and (row["closed_at"] or now) > row["deadline"],
            "waiting_on": [],
        }
        if row["final_approval"] and brief["rounds_to_final_approval"] is None:
            brief["rounds_to_final_approval"] = row["number"]
    return rounds[row["pk"]]


def _brief_summary(brief: dict) -> dict:
    brief["rounds"] = list(brief["rounds"].values())
    brief["cycles"] = len(brief["rounds"])
    brief["stages"] = stage_figures(brief["rounds"])
    brief["waiting_hours"] = _most_hours_first(brief["waiting_hours"])
    return brief


def stage_figures(rounds: list[dict]) -> list[dict]:
    """Per review stage (a template's stage by name; a round outside a template by its audience), in step order:
    rounds run, hours in the stage, rounds still open, rounds that ran past their deadline, and whom the open
    ones wait on."""
    stages: dict[str, dict] = {}
    for item in rounds:
        entry = stages.setdefault(
            item["review_stage"],
            {
                "stage": item["review_stage"],
                "step": item["step"],
                "rounds": 0,
                "hours": 0.0,
                "open": 0,
                "overdue": 0,
                "waiting_on": [],
            },
        )
        entry["rounds"] += 1
        entry["hours"] = round(entry["hours"] + item["hours"], 2)
        entry["open"] += item["status"] == ReviewRound.Status.OPEN
        entry["overdue"] += item["overdue"]
        entry["waiting_on"] += [who for who in item["waiting_on"] if who not in entry["waiting_on"]]
    return sorted(stages.values(), key=lambda entry: (entry["step"] or 0, entry["stage"]))


def _most_hours_first(hours_by_reviewer: dict[str, float]) -> dict[str, float]:
    return {who: round(hours, 2) for who, hours in sorted(hours_by_reviewer.items(), key=lambda i: -i[1])}


def gpu_seconds_by_phase(*, briefs: QuerySet[Brief]) -> dict[str, float]:
    spent = dict(
        Derivation.objects.filter(brief__in=briefs)
        .values("phase")
        .annotate(gpu=Sum("gpu_seconds"))
        .values_list("phase", "gpu")
    )
    return {phase: round(spent.get(phase) or 0.0, 3) for phase in Phase.values}


def cycles_csv(cycles: dict) -> str:
    """One line per round: what a producer pastes into a status report."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "client",
            "brief",
            "round",
            "stage",
            "status",
            "hours_open",
            "waiting_on",
            "rounds_to_final_approval",
            "review_stage",
            "overdue",
        ]
    )
    for brief in cycles["briefs"]:
        for item in brief["rounds"]:
            writer.writerow(
                [
                    brief["client"],
                    brief["title"],
                    item["number"],
                    item["stage"],
                    item["status"],
                    item["hours"],
                    "; ".join(item["waiting_on"]),
                    brief["rounds_to_final_approval"] or "",
                    item["review_stage"],
                    "yes" if item["overdue"] else "",
                ]
            )
    return out.getvalue()
