"""Who is invited to a round, and telling them: studio and client users by their account, guests by a share link."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from assets.access import is_client_user
from assets.notification_kinds import NotificationKind
from review.models import ReviewRound, RoundReviewer, ShareLink
from review.roles import CLIENT_REVIEWER
from review.services.notifications import Message, absolute, admin_round_link, notify_address, notify_guest, notify_user
from review.services.share_links import share_link_create

GUEST_LINK_GRACE = timedelta(days=7)


def invitations_create(
    *, review_round: ReviewRound, deciders=(), commenters=(), guests: list[str] = (), created_by
) -> None:
    """Invite users (deciding or only following) and guests by e-mail (each gets a share link of their own),
    and tell each of them, once the transaction commits."""
    rows = [RoundReviewer(review_round=review_round, reviewer=user, decides=True) for user in deciders]
    rows += [
        RoundReviewer(review_round=review_round, reviewer=user, decides=False)
        for user in commenters
        if user not in deciders
    ]
    RoundReviewer.objects.bulk_create(rows)
    secret_links = {}
    for email in dict.fromkeys(address.strip().lower() for address in guests if address.strip()):
        expires = (review_round.deadline or timezone.now() + timedelta(days=14)) + GUEST_LINK_GRACE
        link, token = share_link_create(review_round=review_round, expires=expires, created_by=created_by, label=email)
        invitation = RoundReviewer.objects.create(review_round=review_round, share_link=link, guest_email=email)
        secret_links[invitation.pk] = absolute(f"/review/s/{token}/")
    versions = list(review_round.items.select_related("version").order_by("position"))
    due = f" by {review_round.deadline:%a %d %b %H:%M} UTC" if review_round.deadline else ""
    for invitation in review_round.invitations.select_related("reviewer"):
        role = "to decide on" if invitation.decides else "to follow"
        message = Message(
            kind=NotificationKind.INVITED,
            review_round=review_round,
            images=[item.version.blob_id for item in versions],
            subject=NotificationKind.INVITED.notice.subject_render(
                brief=review_round.brief.title, number=review_round.number
            ),
            lines=[
                f"{review_round.opened_by.get_full_name() or review_round.opened_by.get_username()} invites you {role} "
                f"{len(versions)} version(s) of {review_round.brief.title} ({review_round.brief.campaign}){due}.",
                *([review_round.title] if review_round.title else []),
            ],
            data={"brief": review_round.brief_id, "versions": [item.version_id for item in versions]},
        )
        invitee_notify(
            invitation=invitation,
            message=message,
            key=f"invited:{review_round.pk}",
            secret_link=secret_links.get(invitation.pk),
        )


def invitee_notify(*, invitation: RoundReviewer, message: Message, key: str, secret_link: str | None = None):
    """Tell one invitee. A guest's link holds a token we keep only hashed, so only the invitation can carry it;
    later messages point them to that e-mail."""
    if invitation.reviewer_id:
        return notify_user(
            user=invitation.reviewer,
            message=message,
            key=f"{key}:user{invitation.reviewer_id}",
            link=admin_round_link(invitation.review_round),
        )
    if not invitation.guest_email:
        return None
    if secret_link is None:
        message = dataclasses.replace(
            message, lines=[*message.lines, "Open the review link from your invitation e-mail."]
        )
        return notify_address(
            email=invitation.guest_email, message=message, key=f"{key}:link{invitation.share_link_id}"
        )
    return notify_guest(
        email=invitation.guest_email,
        message=message,
        key=f"{key}:link{invitation.share_link_id}",
        secret_link=secret_link,
    )


def invitation_viewed(*, review_round: ReviewRound, user=None, share_link: ShareLink | None = None) -> bool:
    """Note the first time an invitee opens the round; later views change nothing."""
    who = Q(share_link=share_link) if share_link is not None else Q(reviewer=user)
    if share_link is None and (user is None or not user.is_authenticated):
        return False
    return bool(
        RoundReviewer.objects.filter(who, review_round=review_round, first_viewed_at__isnull=True).update(
            first_viewed_at=timezone.now()
        )
    )


def client_reviewers(*, brief):
    """The client's reviewer accounts for the brief."""
    users = (
        get_user_model()
        .objects.filter(
            is_active=True,
            groups__name=CLIENT_REVIEWER,
            client_memberships__client_id=brief.campaign.client_id,
        )
        .distinct()
    )
    return [user for user in users if is_client_user(user=user)]
