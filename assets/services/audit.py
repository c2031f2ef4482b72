"""The audit trail: one hash-chained row per event, appended under a lock so the chain is a line."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import AuditEvent
from assets.services.audit_checkpoints import checkpoint_latest, checkpoint_problem

GENESIS = "0" * 64
_CHAIN_LOCK = 0x5EED_A0D1


def _canonical(*, kind, actor_id, share_link_id, object_type, object_id, payload, created_at, prev_hash) -> bytes:
    return json.dumps(
        {
            "kind": kind,
            "actor": actor_id,
            "share_link": share_link_id,
            "object_type": object_type,
            "object_id": object_id,
            "payload": payload,
            "created_at": created_at.isoformat(),
            "prev": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    ).encode()


def event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(
        _canonical(
            kind=event.kind,
            actor_id=event.actor_id,
            share_link_id=event.share_link_id,
            object_type=event.object_type,
            object_id=event.object_id,
            payload=event.payload,
            created_at=event.created_at,
            prev_hash=event.prev_hash,
        )
    ).hexdigest()


def audit_event_append(
    *,
    kind: str,
    object_type: str,
    object_id: int,
    payload: dict | None = None,
    actor=None,
    share_link_id: int | None = None,
) -> AuditEvent:
    """Append one event; call inside the transaction that made the change it records. `share_link_id`: the review
    share link a guest acted through, for events without a signed-in actor."""
    payload = json.loads(json.dumps(payload or {}, cls=DjangoJSONEncoder))
    with transaction.atomic():
        with connection.cursor() as cursor:
            # One writer at a time extends the chain; released at commit.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            kind=kind,
            actor=actor,
            share_link_id=share_link_id,
            object_type=object_type,
            object_id=object_id,
            payload=payload,
            created_at=timezone.now(),
            prev_hash=last or GENESIS,
        )
        event.hash = event_hash(event)
        event.save()
    return event


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken: int | None
    reason: str = ""
    checkpoint: str | None = None  # the signed checkpoint the chain was held against

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def audit_chain_verify() -> ChainReport:
    """Recompute every hash in order and hold the chain against the newest signed checkpoint.

    Reports the first row whose content or link does not match, or events missing since the checkpoint.
    """
    previous = GENESIS
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        checked += 1
        if event.prev_hash != previous:
            return ChainReport(checked, event.pk, f"event {event.pk} does not point at the hash of the event before it")
        if event_hash(event) != event.hash:
            return ChainReport(
                checked, event.pk, f"event {event.pk} was altered: its content no longer matches its hash"
            )
        previous = event.hash
    try:
        checkpoint = checkpoint_latest()
    except ApplicationError as exc:
        return ChainReport(checked, 0, exc.message)
    if checkpoint is None:
        return ChainReport(checked, None)
    problem = checkpoint_problem(checkpoint)
    if problem is not None:
        return ChainReport(checked, checkpoint.head_id, problem, checkpoint=checkpoint.path.name)
    return ChainReport(checked, None, checkpoint=checkpoint.path.name)
