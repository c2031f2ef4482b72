from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from assets.access import client_users_among, visible
from assets.models import Brief, Derivation, Phase, Version
from assets.recipes import recipe_build, recipe_fields_diff
from assets.selectors import ancestors_among, lineage_graph, version_ancestry
from review.cycles import cycles_of, invitee_namer
from review.models import (
    Approval,
    Decision,
    Note,
    ReviewPolicy,
    ReviewRound,
    RoundReviewer,
    RoundVersion,
)

Verdict = Decision.Verdict
UNDECIDED = "undecided"
# round_invitees' viewer for the studio's own services: every name and address.
STUDIO_VIEW = object()


def review_policy_of(*, brief_id: int) -> ReviewPolicy:
    """The brief's review policy, or an unsaved one with the defaults when it has none."""
    return ReviewPolicy.objects.filter(brief_id=brief_id).first() or ReviewPolicy(brief_id=brief_id)


def version_final_approval(*, version: Version) -> Approval | None:
    """The one approved state: a final (client-stage) approval of the version's current bytes."""
    return Approval.objects.filter(version=version, final=True, sha256=version.blob_id).first()


def approval_attestation(*, approval: Approval) -> dict:
    """What a delivered file may say of its sign-off: the client, the round and its stage, the approving roles and
    organisations (never a person's name or e-mail), the time, and the sha256 of the approved master."""
    from django.conf import settings

    review_round = approval.review_round
    client = review_round.brief.campaign.client
    approving = [
        decision
        for decision in current_decisions(review_round=review_round)
        if decision.version_id == approval.version_id and decision.verdict in APPROVING and not decision.internal
    ]
    clients = client_users_among(users={d.reviewer for d in approving if d.reviewer is not None})
    approvers = []
    for decision in approving:
        if decision.share_link_id is not None:
            approver = {"role": "client reviewer (share link)", "organisation": client.name}
        elif decision.reviewer_id in clients:
            approver = {"role": "client reviewer", "organisation": client.name}
        else:
            approver = {"role": "studio reviewer", "organisation": settings.SEED_STUDIO_NAME}
        if approver not in approvers:
            approvers.append(approver)
    return {
        "client": client.name,
        "brief": review_round.brief.title,
        "round": review_round.number,
        "stage": review_round.stage,
        "rule": review_round.rule,
        "approved_by": approvers,
        "approved_at": approval.created_at.isoformat(),
        "master_sha256": approval.sha256,
        "version_id": approval.version_id,
    }


def approval_statement(attestation: dict) -> str:
    """The attestation in a sentence:
    "approved by Client X (client reviewer) in round 3 (client stage) on 2026-11-20"."""
    who = ", ".join(
        dict.fromkeys(f"{a['organisation']} ({a['role']})" for a in attestation.get("approved_by", []))
    ) or attestation.get("client", "?")
    return (
        f"approved by {who} in round {attestation.get('round')} ({attestation.get('stage')} stage) on "
        f"{str(attestation.get('approved_at', ''))[:10]}"
    )


def rounds_visible_to(*, user) -> QuerySet[ReviewRound]:
    """Client users see client-stage rounds of their own clients only."""
    return visible(ReviewRound.objects.select_related("brief__campaign__client"), user=user)


def current_decisions(*, review_round: ReviewRound, for_client: bool = False) -> list[Decision]:
    """The newest decision of each reviewer (or share-link guest) on each version of the round."""
    decisions = (
        Decision.objects.filter(review_round=review_round)
        .order_by("version_id", "reviewer_id", "share_link_id", "guest_name", "-id")
        .distinct("version_id", "reviewer_id", "share_link_id", "guest_name")
        .select_related("reviewer")
        .prefetch_related("pins")
    )
    if for_client:
        decisions = decisions.filter(internal=False)
    return sorted(decisions, key=lambda decision: decision.pk)


RESULT_LABELS = {
    Verdict.APPROVE: "approved",
    Verdict.APPROVE_WITH_CHANGES: "approved with changes",
    Verdict.CHANGES_REQUESTED: "changes requested",
    Verdict.REJECT: "rejected",
    UNDECIDED: "undecided",
}
APPROVING = (Verdict.APPROVE, Verdict.APPROVE_WITH_CHANGES)
# The tie-breaker, worst first, as in the review trackers studios use.
SEVERITY = (Verdict.REJECT, Verdict.CHANGES_REQUESTED, Verdict.APPROVE_WITH_CHANGES, Verdict.APPROVE)
Rule = ReviewRound.Rule


def result_label(result: str | None) -> str:
    return RESULT_LABELS.get(result, "undecided")


def _worst(verdicts) -> str:
    return next((verdict for verdict in SEVERITY if verdict in verdicts), UNDECIDED)


def rollup(verdicts: list[str], *, rule: str = Rule.ALL, deciders: int = 0) -> str:
    """One version's result from its current verdicts under the round's rule.

    all: the worst verdict counts (reject > changes > approve with changes > approve). any: one approving
    decider is enough. majority: more than half of the `deciders` approving; at least half not approving
    settles it the other way; short of either it is undecided.
    """
    if not verdicts:
        return UNDECIDED
    approving = [verdict for verdict in verdicts if verdict in APPROVING]
    if rule == Rule.ANY and approving:
        return _worst(approving)
    if rule == Rule.MAJORITY:
        count = max(deciders, len(verdicts))
        if len(approving) * 2 > count:
            return _worst(approving)
        others = [verdict for verdict in verdicts if verdict not in APPROVING]
        return _worst(others) if len(others) * 2 >= count else UNDECIDED
    return _worst(verdicts)


def _author(decision: Decision) -> tuple[str, int]:
    return ("user", decision.reviewer_id) if decision.reviewer_id else ("link", decision.share_link_id)


def _invitee(invitation: RoundReviewer) -> tuple[str, int]:
    return ("user", invitation.reviewer_id) if invitation.reviewer_id else ("link", invitation.share_link_id)


@dataclass(frozen=True)
class Tally:
    """Where a round stands: each version's result, and whether every result is settled under the rule."""

    results: dict[int, str]
    settled: bool
    deciders: int


def round_tally(*, review_round: ReviewRound, for_client: bool = False) -> Tally:
    """The round's standing. The studio's tally (the one that closes the round and grants approvals) counts every
    current decision, internal ones included: an internal verdict is a studio decider's real vote, only its wording
    is kept from the client. for_client: the standing as the client and guests are shown it, from the decisions they
    can read, so that a hidden verdict does not show through the result it would change."""
    deciders = {_invitee(i) for i in review_round.invitations.all() if i.decides}
    verdicts, decided_by = defaultdict(list), defaultdict(set)
    for decision in current_decisions(review_round=review_round, for_client=for_client):
        verdicts[decision.version_id].append(decision.verdict)
        decided_by[decision.version_id].add(_author(decision))
    results, settled = {}, bool(deciders)
    for item in review_round.items.all():
        mine = verdicts[item.version_id]
        results[item.version_id] = rollup(mine, rule=review_round.rule, deciders=len(deciders))
        everyone = deciders <= decided_by[item.version_id]
        if review_round.rule == Rule.ALL:
            settled &= everyone
        elif review_round.rule == Rule.ANY:
            # One approval settles it; anything else waits for the other deciders, who may still approve.
            settled &= everyone or results[item.version_id] in APPROVING
        else:
            settled &= everyone or results[item.version_id] != UNDECIDED
    return Tally(results=results, settled=settled, deciders=len(deciders))


def round_results(*, review_round: ReviewRound, for_client: bool = False) -> dict[int, str]:
    """Each version's result; for_client: as shown to client users and guests (round_tally)."""
    return round_tally(review_round=review_round, for_client=for_client).results


@dataclass(frozen=True)
class Invitee:
    invitation: int
    name: str
    kind: str  # studio, client or guest
    decides: bool
    state: str  # invited, viewed, decided, overdue
    invited_at: datetime
    viewed_at: datetime | None
    decided_at: datetime | None
    waiting_seconds: float | None

    def as_dict(self) -> dict:
        return {
            **self.__dict__,
            "invited_at": self.invited_at.isoformat(),
            "viewed_at": self.viewed_at.isoformat() if self.viewed_at else None,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
        }


def round_invitees(*, review_round: ReviewRound, now: datetime | None = None, viewer=STUDIO_VIEW) -> list[Invitee]:
    """Every invitee's state: invited → viewed → decided (every version of the round), or overdue past the deadline.
    viewer: whom the names are for (review.cycles.invitee_namer: a client user reads "Studio" and "Guest" for the
    studio's people and other guests); left out only by the studio's own services (reminders, digests)."""
    return invitees_by_round(rounds=[review_round], now=now, viewer=viewer)[review_round.pk]


def invitees_by_round(
    *, rounds: list[ReviewRound], now: datetime | None = None, viewer=STUDIO_VIEW
) -> dict[int, list[Invitee]]:
    """round_invitees for a page of rounds at once: a constant number of queries, whatever the number of rounds and
    invitees."""
    now = now or timezone.now()
    ids = [review_round.pk for review_round in rounds]
    versions = defaultdict(set)
    for round_id, version_id in RoundVersion.objects.filter(review_round__in=ids).values_list(
        "review_round_id", "version_id"
    ):
        versions[round_id].add(version_id)
    decided_on, last_decision = defaultdict(set), {}
    latest = (
        Decision.objects.filter(review_round__in=ids)
        .order_by("review_round_id", "version_id", "reviewer_id", "share_link_id", "guest_name", "-id")
        .distinct("review_round_id", "version_id", "reviewer_id", "share_link_id", "guest_name")
    )
    for decision in latest:
        author = (decision.review_round_id, *_author(decision))
        decided_on[author].add(decision.version_id)
        last_decision[author] = max(last_decision.get(author, decision.created_at), decision.created_at)
    invitations = list(RoundReviewer.objects.filter(review_round__in=ids).select_related("reviewer").order_by("pk"))
    clients = client_users_among(users={invitation.reviewer for invitation in invitations if invitation.reviewer_id})
    name = (
        (lambda reviewer_id, shown, guest_email: shown)
        if viewer is STUDIO_VIEW
        else invitee_namer(
            viewer=viewer, user_ids={invitation.reviewer_id for invitation in invitations if invitation.reviewer_id}
        )
    )
    found: dict[int, list[Invitee]] = {review_round.pk: [] for review_round in rounds}
    by_id = {review_round.pk: review_round for review_round in rounds}
    for invitation in invitations:
        review_round = by_id[invitation.review_round_id]
        key = (review_round.pk, *_invitee(invitation))
        decided = invitation.decides and versions[review_round.pk] <= decided_on[key]
        decided_at = last_decision.get(key) if decided else None
        if decided:
            state = "decided"
        elif review_round.deadline and now > review_round.deadline and review_round.status == ReviewRound.Status.OPEN:
            state = "overdue"
        else:
            state = "viewed" if invitation.first_viewed_at else "invited"
        kind = "guest" if invitation.share_link_id else ("client" if invitation.reviewer_id in clients else "studio")
        waiting = (
            None
            if decided or not invitation.decides
            else (((review_round.closed_at or now) - invitation.invited_at).total_seconds())
        )
        found[review_round.pk].append(
            Invitee(
                invitation=invitation.pk,
                name=name(invitation.reviewer_id, invitation.name, invitation.guest_email),
                kind=kind,
                decides=invitation.decides,
                state=state,
                invited_at=invitation.invited_at,
                viewed_at=invitation.first_viewed_at,
                decided_at=decided_at,
                waiting_seconds=waiting if review_round.status == ReviewRound.Status.OPEN else None,
            )
        )
    return found


def rounds_waiting_on(*, user) -> QuerySet[ReviewRound]:
    """Open rounds where `user` decides and has not decided every version yet (one query)."""
    undecided_item = RoundVersion.objects.filter(review_round=OuterRef("review_round")).exclude(
        version__decisions__in=Decision.objects.filter(review_round=OuterRef(OuterRef("review_round")), reviewer=user)
    )
    return ReviewRound.objects.filter(
        status=ReviewRound.Status.OPEN,
        pk__in=RoundReviewer.objects.filter(reviewer=user, decides=True)
        .filter(Exists(undecided_item))
        .values("review_round"),
    )


def waiting_on_text(invitees: list[Invitee], *, now: datetime | None = None) -> str:
    """ "waiting on: Alice (client, 2 days), Bob (studio, 5 hours)", or that nobody is awaited."""
    waiting = [i for i in invitees if i.waiting_seconds is not None]
    if not waiting:
        return "waiting on nobody"
    return "waiting on: " + ", ".join(
        f"{i.name} ({i.kind}, {_duration(i.waiting_seconds)}{', overdue' if i.state == 'overdue' else ''})"
        for i in waiting
    )


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        days = int(seconds // 86400)
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds >= 3600:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, int(seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def maybe_later_pool(*, brief: Brief) -> QuerySet[Version]:
    """Versions parked as "maybe later" in the client's other briefs, ready to reuse as references."""
    return (
        Version.objects.filter(triage=Version.Triage.MAYBE_LATER, brief__campaign__client_id=brief.campaign.client_id)
        .exclude(brief=brief)
        .select_related("brief")
    )


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


def version_recipe(*, version: Version) -> dict:
    """What made a version, laid out as fields from every step of its chain: prompt, seed, models, LoRAs,
    references, the operations and their parameters (the last step that records a prompt or a base model wins)."""
    graph = lineage_graph(version=version)
    chain = graph.chain()
    fields = {
        "prompt": None,
        "negative_prompt": None,
        "seed": version.seed,
        "size": f"{version.width}×{version.height}",
        "base_model": None,
        "loras": [],
        "references": [],
        "operations": [d.op for d in chain],
        "params": {},
    }
    for derivation in chain:
        recipe = recipe_build(derivation=derivation, edges=graph.inputs.get(derivation.pk, []))
        fields["params"].update({f"{derivation.op}.{key}": value for key, value in derivation.params.items()})
        if recipe.prompt is not None:
            fields["prompt"], fields["negative_prompt"] = recipe.prompt.text, recipe.prompt.negative_text
        if recipe.base is not None:
            fields["base_model"] = f"{recipe.base.name} ({recipe.base.sha256[:10]})"
        fields["loras"] += [f"{weights.name} ({weights.sha256[:10]}) ×{weight:g}" for weights, weight in recipe.loras]
        fields["references"] += [edge.reference.title or f"reference {edge.reference_id}" for edge in recipe.references]
    return fields


def recipe_diff(*, before: Version, after: Version) -> list[dict]:
    """Every recipe field that differs between two versions, as {field, before, after}."""
    return recipe_fields_diff(before=version_recipe(version=before), after=version_recipe(version=after))


def previous_counterparts(*, review_round: ReviewRound) -> dict[int, Version]:
    """For each version of the round, the one it replaces from the previous round: itself if it was there, else its
    nearest ancestor there, else the version in the same slot. A constant number of queries for the whole round."""
    if review_round.previous_id is None:
        return {}
    previous_items = list(review_round.previous.items.select_related("version__blob"))
    if not previous_items:
        return {}
    previous = {item.version_id: item.version for item in previous_items}
    by_slot = {item.position: item.version for item in previous_items}
    items = list(review_round.items.all())
    ancestors = ancestors_among(
        versions=[item.version_id for item in items if item.version_id not in previous], candidates=list(previous)
    )
    found = {}
    for item in items:
        if item.version_id in previous:
            found[item.version_id] = previous[item.version_id]
        elif ancestors.get(item.version_id):
            found[item.version_id] = previous[ancestors[item.version_id][0]]
        elif item.position in by_slot:
            found[item.version_id] = by_slot[item.position]
    return found


def _with_fix_kept(notes: QuerySet[Note]) -> QuerySet[Note]:
    """Whether an output of each note's fix was kept, in the same query (note_state reads it instead of asking)."""
    kept = Version.objects.filter(generated_by__derivation_id=OuterRef("fixed_by_id"), triage=Version.Triage.KEEP)
    return notes.annotate(fix_kept=Exists(kept))


def notes_open_on(*, version: Version, for_client: bool = False) -> QuerySet[Note]:
    """Unresolved threads on the version and on every ancestor of it: the notes that travel forward."""
    lineage = version_ancestry(version=version).values("pk")
    notes = (
        Note.objects.filter(parent__isnull=True, resolved_at__isnull=True)
        .filter(Q(version=version) | Q(version__in=lineage))
        .select_related("author", "review_round")
        .prefetch_related("replies")
    )
    return _with_fix_kept(notes.filter(internal=False) if for_client else notes)


def round_notes(*, review_round: ReviewRound, for_client: bool = False) -> list[Note]:
    """Every thread of the round, replies prefetched, oldest first."""
    replies = Note.objects.select_related("author").order_by("id")
    if for_client:
        replies = replies.filter(internal=False)
    notes = (
        Note.objects.filter(review_round=review_round, parent__isnull=True)
        .select_related("author", "resolved_by")
        .prefetch_related(Prefetch("replies", queryset=replies), "mentions")
        .order_by("id")
    )
    return list(_with_fix_kept(notes.filter(internal=False) if for_client else notes))


def note_state(note: Note) -> str:
    """open → fix queued → addressed, awaiting review (an output of its fix was kept) → resolved."""
    if note.resolved_at is not None:
        return "resolved"
    if note.fixed_by_id is None:
        return "open"
    kept = getattr(note, "fix_kept", None)
    if kept is None:
        kept = Version.objects.filter(generated_by__derivation_id=note.fixed_by_id, triage=Version.Triage.KEEP).exists()
    return "addressed, awaiting review" if kept else "fix queued"


def open_notes_by_version(*, review_round: ReviewRound, for_client: bool = False) -> dict[int, list[Note]]:
    """For each version of the round, the unresolved threads on it and on its ancestors (the notes that travel
    forward), oldest first: three queries for the whole round."""
    version_ids = list(review_round.items.values_list("version_id", flat=True))
    notes = Note.objects.filter(version__brief_id=review_round.brief_id, parent__isnull=True, resolved_at__isnull=True)
    if for_client:
        notes = notes.filter(internal=False)
    by_version = defaultdict(list)
    for note in _with_fix_kept(notes.select_related("author").order_by("id")):
        by_version[note.version_id].append(note)
    ancestors = ancestors_among(versions=version_ids, candidates=list(by_version))
    return {
        version_id: sorted(
            [
                *by_version.get(version_id, []),
                *(note for ancestor in ancestors.get(version_id, []) for note in by_version[ancestor]),
            ],
            key=lambda note: note.pk,
        )
        for version_id in version_ids
    }


def fixes_awaiting_review(*, brief: Brief) -> QuerySet[Version]:
    """Kept outputs of "fix this region" jobs for the brief's open notes, not yet put before reviewers."""
    fixes = Note.objects.filter(version__brief=brief, resolved_at__isnull=True, fixed_by__isnull=False).values(
        "fixed_by"
    )
    return Version.objects.filter(
        brief=brief, triage=Version.Triage.KEEP, generated_by__derivation__in=fixes, round_items__isnull=True
    ).order_by("pk")
