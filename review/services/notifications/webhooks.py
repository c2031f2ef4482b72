"""Webhooks: each review event queued for every endpoint that hears it, posted signed, retried with backoff, and an
endpoint that keeps failing switched off (the producers are told)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
import ssl
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from assets.errors import ApplicationError
from assets.notification_kinds import NotificationKind, notice_of
from assets.services.queues import Queue
from assets.services.runs import RunScope, run_complete, run_enqueue, run_fail, run_guarded, run_requeue
from review.models import WebhookDelivery, WebhookEndpoint
from review.services.notifications.messages import Message, absolute, notify_user, producers
from review.webhook_security import webhook_connection, webhook_secret_open, webhook_secret_seal, webhook_url_check


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
            run_enqueue(
                task="review.tasks.send_webhook", model=WebhookDelivery, pk=delivery.pk, kind="webhook", queue=Queue.CPU
            )
            queued += 1
    return queued


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
                run_enqueue(
                    task="review.tasks.send_webhook", model=WebhookDelivery, pk=pk, kind="webhook", queue=Queue.CPU
                )
    return len(due)
