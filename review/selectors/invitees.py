"""Who a round waits on: each invitee's state (invited → viewed → decided, or overdue), and the rounds waiting on a
user."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from assets.access import client_users_among
from review.cycles import invitee_namer
from review.models import Decision, ReviewRound, RoundReviewer, RoundVersion
from review.selectors.verdicts import decision_author, invitation_author

# round_invitees' viewer for the studio's own services: every name and address.
STUDIO_VIEW = object()


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


def _versions_by_round(*, round_ids: list[int]) -> dict[int, set[int]]:
    versions = defaultdict(set)
    for round_id, version_id in RoundVersion.objects.filter(review_round__in=round_ids).values_list(
        "review_round_id", "version_id"
    ):
        versions[round_id].add(version_id)
    return versions


def _decisions_by_author(*, round_ids: list[int]) -> tuple[dict, dict]:
    """Keyed by (round, *author): the versions the author's current decisions cover, and when they last decided."""
    decided_on, last_decision = defaultdict(set), {}
    latest = (
        Decision.objects.filter(review_round__in=round_ids)
        .order_by("review_round_id", "version_id", "reviewer_id", "share_link_id", "guest_name", "-id")
        .distinct("review_round_id", "version_id", "reviewer_id", "share_link_id", "guest_name")
    )
    for decision in latest:
        author = (decision.review_round_id, *decision_author(decision=decision))
        decided_on[author].add(decision.version_id)
        last_decision[author] = max(last_decision.get(author, decision.created_at), decision.created_at)
    return decided_on, last_decision


def _names_for(*, viewer, invitations: list[RoundReviewer]):
    """How the viewer reads each invitee's name (review.cycles.invitee_namer); the studio reads them as they are."""
    if viewer is STUDIO_VIEW:
        return lambda reviewer_id, shown, guest_email: shown
    return invitee_namer(
        viewer=viewer, user_ids={invitation.reviewer_id for invitation in invitations if invitation.reviewer_id}
    )


def _invitee_state(*, invitation: RoundReviewer, review_round: ReviewRound, decided: bool, now: datetime) -> str:
    if decided:
        return "decided"
    if review_round.deadline and now > review_round.deadline and review_round.status == ReviewRound.Status.OPEN:
        return "overdue"
    return "viewed" if invitation.first_viewed_at else "invited"


def _waiting_seconds(
    *, invitation: RoundReviewer, review_round: ReviewRound, decided: bool, now: datetime
) -> float | None:
    """How long an open round has waited on a decider who has not decided yet."""
    if decided or not invitation.decides or review_round.status != ReviewRound.Status.OPEN:
        return None
    return ((review_round.closed_at or now) - invitation.invited_at).total_seconds()


def invitees_by_round(
    *, rounds: list[ReviewRound], now: datetime | None = None, viewer=STUDIO_VIEW
) -> dict[int, list[Invitee]]:
    """round_invitees for a page of rounds at once: a constant number of queries, whatever the number of rounds and
    invitees."""
    now = now or timezone.now()
    ids = [review_round.pk for review_round in rounds]
    versions = _versions_by_round(round_ids=ids)
    decided_on, last_decision = _decisions_by_author(round_ids=ids)
    invitations = list(RoundReviewer.objects.filter(review_round__in=ids).select_related("reviewer").order_by("pk"))
    clients = client_users_among(users={invitation.reviewer for invitation in invitations if invitation.reviewer_id})
    name = _names_for(viewer=viewer, invitations=invitations)
    found: dict[int, list[Invitee]] = {review_round.pk: [] for review_round in rounds}
    by_id = {review_round.pk: review_round for review_round in rounds}
    for invitation in invitations:
        review_round = by_id[invitation.review_round_id]
        key = (review_round.pk, *invitation_author(invitation=invitation))
        decided = invitation.decides and versions[review_round.pk] <= decided_on[key]
        kind = "guest" if invitation.share_link_id else ("client" if invitation.reviewer_id in clients else "studio")
        found[review_round.pk].append(
            Invitee(
                invitation=invitation.pk,
                name=name(invitation.reviewer_id, invitation.name, invitation.guest_email),
                kind=kind,
                decides=invitation.decides,
                state=_invitee_state(invitation=invitation, review_round=review_round, decided=decided, now=now),
                invited_at=invitation.invited_at,
                viewed_at=invitation.first_viewed_at,
                decided_at=last_decision.get(key) if decided else None,
                waiting_seconds=_waiting_seconds(
                    invitation=invitation, review_round=review_round, decided=decided, now=now
                ),
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
