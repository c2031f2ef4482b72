"""What one event says and whom it tells: studio and client users as their preference says, guests by address, the
producers, and each webhook endpoint (review.services.notifications.webhooks)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model

from assets.notification_kinds import NotificationKind, notice_of
from assets.services.queues import Queue
from assets.services.runs import run_enqueue
from review.models import Notification, NotificationPreference, ReviewRound


@dataclass
class Message:
    """What one event says: the same words go to every recipient; a guest's link is their own."""

    kind: NotificationKind
    subject: str
    lines: list[str]
    review_round: ReviewRound | None = None
    images: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    def __post_init__(self):
        notice_of(kind=self.kind)
        self.kind = NotificationKind(self.kind)


def absolute(path: str) -> str:
    return f"{settings.SEED_BASE_URL}{path}"


def admin_round_link(review_round: ReviewRound) -> str:
    return absolute(f"/admin/review/reviewround/{review_round.pk}/change/")


def _fernet():
    from cryptography.fernet import Fernet

    key = hashlib.sha256(b"seed notification links\0" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def guest_link_seal(*, link: str) -> str:
    return _fernet().encrypt(link.encode()).decode()


def guest_link_open(*, sealed: str) -> str:
    return _fernet().decrypt(sealed.encode()).decode()


def _mode(user) -> str:
    preference = NotificationPreference.objects.filter(user=user).values_list("mode", flat=True).first()
    return preference or NotificationPreference.Mode.IMMEDIATE


def notification_preference_set(*, user, mode: str) -> NotificationPreference:
    preference, _ = NotificationPreference.objects.update_or_create(user=user, defaults={"mode": mode})
    return preference


def notify_user(*, user, message: Message, key: str, link: str = "") -> Notification | None:
    """Tell one studio or client user, as their preference says (now, in the daily digest, or not at all)."""
    if not user.email or not user.is_active:
        return None
    mode = _mode(user)
    if mode == NotificationPreference.Mode.OFF:
        return None
    state = Notification.State.HELD if mode == NotificationPreference.Mode.DIGEST else Notification.State.QUEUED
    return _notification(message=message, key=key, email=user.email, recipient=user, link=link, state=state)


def notify_guest(*, email: str, message: Message, key: str, secret_link: str) -> Notification | None:
    """Tell a guest reviewer; their share link carries a token, so it is stored sealed and dropped once sent."""
    return _notification(
        message=message,
        key=key,
        email=email,
        recipient=None,
        link="",
        state=Notification.State.QUEUED,
        sealed_link=guest_link_seal(link=secret_link),
    )


def notify_address(*, email: str, message: Message, key: str, link: str = "") -> Notification | None:
    """Tell someone who has no account by address (a guest, after their invitation)."""
    return _notification(
        message=message, key=key, email=email, recipient=None, link=link, state=Notification.State.QUEUED
    )


def _notification(
    *, message: Message, key: str, email: str, recipient, link: str, state: str, sealed_link: str = ""
) -> Notification | None:
    text = "\n".join(message.lines)
    notification, created = Notification.objects.get_or_create(
        key=key[:200],
        defaults={
            "kind": message.kind,
            "recipient": recipient,
            "email": email,
            "review_round": message.review_round,
            "subject": message.subject[:300],
            "text": text,
            "link": link,
            "images": message.images[:6],
            "state": state,
            "sealed_link": sealed_link,
        },
    )
    if not created:
        return None
    if state == Notification.State.QUEUED:
        run_enqueue(
            task="review.tasks.send_notification",
            model=Notification,
            pk=notification.pk,
            kind="notification",
            queue=Queue.CPU,
        )
    return notification


def producers():
    from review.roles import PRODUCER

    return get_user_model().objects.filter(groups__name=PRODUCER, is_active=True).exclude(email="")


def producers_notify(
    *, kind: NotificationKind, subject: str, lines: list[str], key: str, link: str = "", users=None
) -> int:
    """Tell producers of a studio event with no round (a licence running out, a master that drifted): `users`, or
    every producer; once per `key` and person."""
    told = 0
    for user in users if users is not None else producers():
        if notify_user(
            user=user,
            message=Message(kind=kind, subject=subject, lines=lines),
            key=f"{key}:{user.pk}",
            link=absolute(link) if link.startswith("/") else link,
        ):
            told += 1
    return told
