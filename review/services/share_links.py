from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from assets.errors import ApplicationError
from assets.services.audit import audit_event_append
from review.models import ReviewRound, ShareLink


class ShareLinkRefused(ApplicationError):
    """The link is unknown, expired or revoked; the page answers 404/410 and never says which token was tried."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _expiry(expires) -> dt.datetime:
    """A date alone means the end of that day, in the site's time zone."""
    if isinstance(expires, dt.datetime):
        return expires if timezone.is_aware(expires) else timezone.make_aware(expires)
    if isinstance(expires, dt.date):
        return timezone.make_aware(dt.datetime.combine(expires, dt.time.max))
    raise ApplicationError("expiry must be a date or a date-time")


def share_link_create(
    *, review_round: ReviewRound, expires, created_by, label: str = "", can_decide: bool = True
) -> tuple[ShareLink, str]:
    """Returns the link and its token; the token is shown this once and only its hash is kept."""
    if review_round.stage != ReviewRound.Stage.CLIENT:
        raise ApplicationError("share links are for client rounds only")
    if review_round.status != ReviewRound.Status.OPEN:
        raise ApplicationError(f"round {review_round.number} is closed")
    expires_at = _expiry(expires)
    if expires_at <= timezone.now():
        raise ApplicationError("the expiry is in the past")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        link = ShareLink.objects.create(
            review_round=review_round,
            token_hash=token_hash(token),
            label=label.strip()[:200],
            expires_at=expires_at,
            can_decide=can_decide,
            created_by=created_by,
        )
        audit_event_append(
            kind="share_link.created",
            actor=created_by,
            object_type="share_link",
            object_id=link.pk,
            payload={"round": review_round.pk, "expires_at": expires_at.isoformat(), "can_decide": can_decide},
        )
    return link, token


def share_link_resolve(*, token: str) -> ShareLink:
    """The live link for a token, or ShareLinkRefused; every successful use is audited."""
    if not token or len(token) > 100:
        raise ShareLinkRefused("this review link is not valid")
    link = ShareLink.objects.select_related("review_round__brief").filter(token_hash=token_hash(token)).first()
    if link is None:
        raise ShareLinkRefused("this review link is not valid")
    if link.revoked_at is not None:
        raise ShareLinkRefused("this review link was revoked", extra={"code": "revoked"})
    if link.expires_at <= timezone.now():
        raise ShareLinkRefused("this review link has expired", extra={"code": "expired"})
    return link


def share_link_use(*, link: ShareLink, action: str) -> None:
    with transaction.atomic():
        ShareLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())
        audit_event_append(
            kind="share_link.used",
            share_link_id=link.pk,
            object_type="share_link",
            object_id=link.pk,
            payload={"action": action},
        )


def share_link_revoke(*, link: ShareLink, revoked_by) -> ShareLink:
    with transaction.atomic():
        updated = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if not updated:
            raise ApplicationError("this link is already revoked")
        audit_event_append(kind="share_link.revoked", actor=revoked_by, object_type="share_link", object_id=link.pk)
    link.refresh_from_db(fields=["revoked_at"])
    return link
