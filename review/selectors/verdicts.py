"""What reviewers decided and what it adds up to: each reviewer's current decision, and each version's result under
the round's rule."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from review.models import Decision, ReviewRound, RoundReviewer

Verdict = Decision.Verdict
UNDECIDED = "undecided"


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


def decision_author(*, decision: Decision) -> tuple[str, int]:
    """Who decided, keyed as invitation_author keys an invitee: a decider has decided when the keys match."""
    return ("user", decision.reviewer_id) if decision.reviewer_id else ("link", decision.share_link_id)


def invitation_author(*, invitation: RoundReviewer) -> tuple[str, int]:
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
    deciders = {invitation_author(invitation=i) for i in review_round.invitations.all() if i.decides}
    verdicts, decided_by = defaultdict(list), defaultdict(set)
    for decision in current_decisions(review_round=review_round, for_client=for_client):
        verdicts[decision.version_id].append(decision.verdict)
        decided_by[decision.version_id].add(decision_author(decision=decision))
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
