"""Deliveries whose inherited licences run out soon: the producer hears of them before the client's use does.

A daily django-q2 schedule runs `licence_expiry_check`; each notice is keyed by the licence, its expiry date and
the deliveries it names, so a second run (or scheduler) tells nobody twice, and a new delivery under the same
licence makes a new notice. The admin's delivery list filters the same deliveries ("licence expiring").
"""

from __future__ import annotations

import hashlib
from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assets.notification_kinds import NotificationKind
from assets.rights import licences_expiring
from assets.services.queues import Queue, schedule_ensure
from delivery.selectors import deliveries_inheriting
from review.services.notifications import producers, producers_notify

EXPIRY_SCHEDULE = "delivery: licence expiry watch"


def licence_expiry_check(*, today: date | None = None) -> int:
    """Tell the producers of deliveries whose licences have run out or will within SEED_LICENCE_WARN_DAYS;
    returns how many notices were made now."""
    today = today or timezone.localdate()
    made = 0
    for licence in licences_expiring(on=today, within_days=settings.SEED_LICENCE_WARN_DAYS):
        deliveries = list(
            deliveries_inheriting(licences=[licence.pk]).select_related("version__brief", "created_by").order_by("pk")
        )
        if not deliveries:
            continue
        days = (licence.expires_on - today).days
        when = (
            f"expired on {licence.expires_on:%Y-%m-%d}"
            if days < 0
            else f"expires on {licence.expires_on:%Y-%m-%d} (in {days} days)"
        )
        key = "licence-expiry:{}:{}:{}".format(
            licence.pk,
            licence.expires_on,
            hashlib.sha256(",".join(str(d.pk) for d in deliveries).encode()).hexdigest()[:16],
        )
        requesters = {d.created_by for d in deliveries if d.created_by is not None and d.created_by.is_active}
        with transaction.atomic():
            made += producers_notify(
                kind=NotificationKind.LICENCE_EXPIRY,
                key=key,
                users=requesters or producers(),
                subject=NotificationKind.LICENCE_EXPIRY.notice.subject_render(
                    licence=licence.name, when=when, count=len(deliveries)
                ),
                lines=[
                    f"{licence.name} {when}. These deliveries were made with something under it:",
                    *[
                        f"• delivery {d.pk}: v{d.version_id} of {d.version.brief.title} ({d.created_at:%Y-%m-%d})"
                        for d in deliveries
                    ],
                    "Renew the licence, or replace the input and deliver again.",
                ],
                link=f"/admin/delivery/delivery/?licence_expiring={settings.SEED_LICENCE_WARN_DAYS}",
            )
    return made


def expiry_schedule_ensure(**kwargs) -> None:
    """The daily licence expiry watch, made on migrate; migrating again changes nothing."""
    from django_q.models import Schedule

    schedule_ensure(
        name=EXPIRY_SCHEDULE, func="delivery.tasks.licence_expiry_watch", queue=Queue.CPU, schedule_type=Schedule.DAILY
    )
