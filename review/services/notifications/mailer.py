"""Sending e-mail: one message per notification, once, and the daily digest of what was held for it."""

from __future__ import annotations

from email.mime.image import MIMEImage

from django.conf import settings
from django.core.files.storage import storages
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from assets.models import Blob
from assets.notification_kinds import NotificationKind
from assets.services.queues import Queue
from assets.services.runs import RunScope, run_complete, run_enqueue, run_guarded
from assets.thumbnails import thumbnail_ensure
from review.models import Notification
from review.services.notifications.messages import absolute, guest_link_open


def notification_send(*, notification_id: int) -> str:
    """Send one e-mail through the configured backend, once.

    The guarantee: a message is recorded as sent only after the SMTP server accepted it, and a run whose
    worker died is taken over only after the task timeout. A worker killed between the server's acceptance
    and our commit makes the takeover send it again: at least once, never twice otherwise. The Message-ID is
    the same on every try, so mail clients that deduplicate show one message.
    """
    return run_guarded(model=Notification, pk=notification_id, work=_email_send)


def _email_send(notification: Notification, scope: RunScope) -> str:
    link = guest_link_open(sealed=notification.sealed_link) if notification.sealed_link else notification.link
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
            run_enqueue(
                task="review.tasks.send_notification",
                model=Notification,
                pk=digest.pk,
                kind="notification",
                queue=Queue.CPU,
            )
            sent += 1
    return sent
