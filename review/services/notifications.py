"""Telling people a round needs them: notifications by e-mail and webhooks, made with the event, sent by the worker.

Rows are written inside the transaction of the event they tell about and sent once it commits. Each
row's `key` names the event for one recipient (or endpoint), so an event told twice, or by two
schedulers, makes one message. Sending goes through the one run lifecycle; see `notification_send`
for the guarantee around a crash between the SMTP server's acceptance and our record of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import secrets
import ssl
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.mime.image import MIMEImage

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import storages
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import Blob
from assets.notification_kinds import NotificationKind, notice_of
from assets.services.queues import Queue
from assets.services.runs import RunScope, run_complete, run_enqueue, run_fail, run_guarded, run_requeue
from assets.thumbnails import thumbnail_ensure
from review.models import Notification, NotificationPreference, ReviewRound, WebhookDelivery, WebhookEndpoint
from review.webhook_security import webhook_connection, webhook_secret_open, webhook_secret_seal, webhook_url_check

logger = logging.getLogger(__name__)


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
        sealed_link=_fernet().encrypt(secret_link.encode()).decode(),
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
        run_enqueue(task="review.tasks.send_notification", pk=notification.pk, kind="notification", queue=Queue.CPU)
    return notification


def webhooks_notify(*, message: Message, key: str, client_id: int | None) -> int:
    """Queue the event for every active endpoint of the studio and of the event's client."""
    if not notice_of(kind=message.kind).webhooks:
        raise ApplicationError(
            f"{message.kind.value!r} notifications are not declared for webhooks",
            extra={"code": "notification_kind", "kind": message.kind.value},
        )
    endpoints = WebhookEndpoint.objects.filter(Q(client__isnull=True) | Q(client_id=client_id), active=True)
    payload = {
        "text": f"{message.subject}\n" + "\n".join(message.lines),
        "event": message.kind,
        "data": {**message.data, "round": message.review_round.pk if message.review_round else None},
    }
    queued = 0
    for endpoint in endpoints:
        delivery, created = WebhookDelivery.objects.get_or_create(
            key=f"{key}:hook{endpoint.pk}"[:200],
            defaults={"endpoint": endpoint, "kind": message.kind, "payload": payload},
        )
        if created:
            run_enqueue(task="review.tasks.send_webhook", pk=delivery.pk, kind="webhook", queue=Queue.CPU)
            queued += 1
    return queued


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


def notification_send(*, notification_id: int) -> str:
    """Send one e-mail through the configured backend, once.

    The guarantee: a message is recorded as sent only after the SMTP server accepted it, and a run whose
    worker died is taken over only after the task timeout. A worker killed between the server's acceptance
    and our commit makes the takeover send it again: at least once, never twice otherwise. The Message-ID is
    the same on every try, so mail clients that deduplicate show one message.
    """
    return run_guarded(model=Notification, pk=notification_id, work=_email_send)


def _email_send(notification: Notification, scope: RunScope) -> str:
    link = (
        _fernet().decrypt(notification.sealed_link.encode()).decode() if notification.sealed_link else notification.link
    )
    digested = (
        list(notification.digested.order_by("created_at")) if notification.kind == NotificationKind.DIGEST else []
    )
    context = {
        "notification": notification,
        "lines": notification.text.split("\n"),
        "link": link,
        "studio": settings.SEED_STUDIO_NAME,
        "images": [],
        "digested": digested,
    }
    attachments = []
    for index, sha256 in enumerate(notification.images):
        blob = Blob.objects.filter(sha256=sha256).first()
        if blob is None:
            continue
        with storages["derived"].open(thumbnail_ensure(blob=blob, size=256), "rb") as handle:
            image = MIMEImage(handle.read(), _subtype="webp")
        cid = f"thumb{index}.{notification.pk}@seed"
        image.add_header("Content-ID", f"<{cid}>")
        image.add_header("Content-Disposition", "inline", filename=f"thumb{index}.webp")
        attachments.append(image)
        context["images"].append(cid)
    text = render_to_string("review/email/message.txt", context)
    html = render_to_string("review/email/message.html", context)
    domain = settings.SEED_BASE_URL.split("://")[-1].split("/")[0].split(":")[0] or "seed.local"
    email = EmailMultiAlternatives(
        subject=notification.subject,
        body=text,
        to=[notification.email],
        headers={"Message-ID": f"<notification-{notification.pk}@{domain}>"},
    )
    email.attach_alternative(html, "text/html")
    for attachment in attachments:
        email.attach(attachment)
    email.send()
    with transaction.atomic():
        run_complete(row=notification, sealed_link="")
        if digested:
            Notification.objects.filter(pk__in=[n.pk for n in digested]).update(
                state=Notification.State.SUCCEEDED, finished_at=timezone.now()
            )
    return "succeeded"


def webhook_endpoint_create(*, url: str, client=None, active: bool = True) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret: the secret is returned to be shown once; only its sealed form is kept."""
    webhook_url_check(url=url)
    endpoint = WebhookEndpoint(url=url, client=client, active=active)
    return endpoint, webhook_secret_rotate(endpoint=endpoint)


def webhook_secret_rotate(*, endpoint: WebhookEndpoint) -> str:
    """A fresh random secret for the endpoint (saving it if new); the receiver must take the returned one."""
    secret = secrets.token_urlsafe(32)
    endpoint.sealed_secret = webhook_secret_seal(secret=secret)
    if endpoint.pk is None:
        endpoint.save()
    else:
        endpoint.save(update_fields=["sealed_secret"])
    return secret


def webhook_send(*, delivery_id: int) -> str:
    return run_guarded(
        model=WebhookDelivery,
        pk=delivery_id,
        work=_webhook_post,
        related=("endpoint",),
        max_attempts=settings.SEED_WEBHOOK_TRIES,
    )


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex: the receiver recomputes it and refuses old timestamps."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _webhook_post(delivery: WebhookDelivery, scope: RunScope) -> str:
    endpoint = delivery.endpoint
    if not endpoint.active:
        run_fail(row=delivery, message="not sent: the endpoint was switched off")
        return "failed"
    body = json.dumps(delivery.payload, sort_keys=True).encode()
    timestamp = str(int(time.time()))
    secret = webhook_secret_open(sealed=endpoint.sealed_secret)
    status, problem = _webhook_request(
        url=endpoint.url,
        body=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Seed-Webhook/1",
            "X-Seed-Event": delivery.kind,
            "X-Seed-Delivery": str(delivery.pk),
            "X-Seed-Timestamp": timestamp,
            "X-Seed-Signature": "sha256=" + webhook_signature(secret=secret, timestamp=timestamp, body=body),
        },
    )
    if status is not None and 200 <= status < 300:
        with transaction.atomic():
            run_complete(row=delivery, response_status=status, error="")
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        return "succeeded"
    with transaction.atomic():
        failures = _endpoint_failed(endpoint)
        if (
            delivery.attempts < settings.SEED_WEBHOOK_TRIES
            and endpoint.active
            and failures < settings.SEED_WEBHOOK_DISABLE_AFTER
        ):
            backoff = timedelta(minutes=5 ** (delivery.attempts - 1))
            run_requeue(row=delivery, message=problem, response_status=status, next_attempt_at=timezone.now() + backoff)
            return "retrying"
        run_fail(row=delivery, message=f"gave up after {delivery.attempts} tries: {problem}", response_status=status)
    return "failed"


# The delivery log names the kind of failure only: the receiver's body, its reason phrase and the socket's error text
# can carry what an attacker probing the studio's network wants to read.
_CONNECTION_PROBLEMS = (
    (TimeoutError, "timed out"),
    (ConnectionRefusedError, "connection refused"),
    (ssl.SSLError, "TLS handshake failed"),
    (http.client.HTTPException, "malformed HTTP answer"),
    (OSError, "connection failed"),
)


def _webhook_request(*, url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    """POST once, to the checked address, following no redirect: (status, short reason when it is not a 2xx)."""
    try:
        connection, path = webhook_connection(url=url, timeout=settings.SEED_WEBHOOK_TIMEOUT)
    except ApplicationError as exc:
        return None, exc.message
    try:
        connection.request("POST", path, body=body, headers=headers)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        return None, next(reason for kind, reason in _CONNECTION_PROBLEMS if isinstance(exc, kind))
    finally:
        connection.close()
    if 300 <= status < 400:
        return status, f"HTTP {status}: redirects are not followed"
    return status, "" if 200 <= status < 300 else f"HTTP {status}"


def _endpoint_failed(endpoint: WebhookEndpoint) -> int:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    endpoint.refresh_from_db(fields=["consecutive_failures", "active"])
    if endpoint.active and endpoint.consecutive_failures >= settings.SEED_WEBHOOK_DISABLE_AFTER:
        disabled = WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(
            active=False, disabled_at=timezone.now()
        )
        if disabled:
            endpoint.active = False
            message = Message(
                kind=NotificationKind.WEBHOOK_DISABLED,
                subject=NotificationKind.WEBHOOK_DISABLED.notice.subject_render(url=endpoint.url),
                lines=[
                    f"{endpoint.consecutive_failures} deliveries in a row failed, so Seed stopped calling "
                    f"{endpoint.url}.",
                    "Mend the receiver, then switch the endpoint on again in the admin.",
                ],
            )
            for user in producers():
                notify_user(
                    user=user,
                    message=message,
                    key=f"webhook_disabled:{endpoint.pk}:{endpoint.disabled_at or ''}:{user.pk}",
                    link=absolute(f"/admin/review/webhookendpoint/{endpoint.pk}/change/"),
                )
    return endpoint.consecutive_failures


def webhooks_due() -> int:
    """Re-send webhook deliveries whose backoff has passed (the broker has no delayed tasks)."""
    due = list(
        WebhookDelivery.objects.filter(
            state=WebhookDelivery.State.QUEUED, next_attempt_at__lte=timezone.now()
        ).values_list("pk", flat=True)
    )
    for pk in due:
        with transaction.atomic():
            # Clearing the time first: a second scheduler finds nothing due and does not queue it again.
            if WebhookDelivery.objects.filter(pk=pk, next_attempt_at__isnull=False).update(next_attempt_at=None):
                run_enqueue(task="review.tasks.send_webhook", pk=pk, kind="webhook", queue=Queue.CPU)
    return len(due)


def digests_send() -> int:
    """One message per person carrying what their digest preference held since the last one."""
    held = Notification.objects.filter(state=Notification.State.HELD).order_by("recipient_id", "created_at")
    sent = 0
    for recipient_id in held.filter(digest__isnull=True).order_by().values_list("recipient_id", flat=True).distinct():
        with transaction.atomic():
            rows = list(held.select_for_update(skip_locked=True).filter(recipient_id=recipient_id, digest__isnull=True))
            if not rows:
                continue
            first = rows[0]
            digest = Notification.objects.create(
                key=f"digest:{recipient_id}:{timezone.now():%Y-%m-%d}:{first.pk}",
                kind=NotificationKind.DIGEST,
                recipient_id=recipient_id,
                email=first.email,
                subject=NotificationKind.DIGEST.notice.subject_render(
                    count=len(rows), plural="s" if len(rows) != 1 else ""
                ),
                text="\n".join(f"• {row.subject}" for row in rows),
                link=absolute("/admin/review/reviewround/"),
            )
            Notification.objects.filter(pk__in=[row.pk for row in rows]).update(digest=digest)
            run_enqueue(task="review.tasks.send_notification", pk=digest.pk, kind="notification", queue=Queue.CPU)
            sent += 1
    return sent
