"""Closing a round: each version's result settles its status, and an approved version gets an approval bound to the
bytes it holds when the round closes."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import Version
from assets.services.audit import audit_event_append
from assets.services.blobs import blob_hash
from review.models import Approval, Decision, ReviewRound
from review.selectors import APPROVING, UNDECIDED, round_is_final
from review.services.automation import round_closed_followups


def round_closing_facts(*, results: dict[int, str]) -> tuple[dict, dict[int, str | None]]:
    """The round's roll-up and the re-hashed bytes of every version it approves.

    Called before the transaction appends to the audit trail: from then on it holds the chain's lock,
    which every other audit writer waits for, and re-hashing a large master must not happen under it.
    """
    approved = Version.objects.filter(pk__in=[pk for pk, result in results.items() if result in APPROVING])
    return results, {version.pk: blob_hash(sha256=version.blob_id) for version in approved}


def round_close_locked(*, review_round: ReviewRound, closed_by, facts: tuple[dict, dict[int, str | None]]) -> None:
    """Roll decisions up per version; an approved version gets an approval bound to its re-hashed bytes. Called in the
    transaction that locked the round."""
    results, rehashed = facts
    final = round_is_final(review_round=review_round)
    for version in Version.objects.select_for_update().filter(pk__in=list(results)).order_by("pk"):
        result = results[version.pk]
        if result in APPROVING:
            actual = rehashed[version.pk]
            if actual != version.blob_id:
                raise ApplicationError(
                    f"version {version.pk}'s stored bytes no longer match its sha256; it cannot be approved",
                    extra={"version": version.pk, "expected": version.blob_id, "actual": actual},
                )
            try:
                with transaction.atomic():
                    approval = Approval.objects.create(
                        version=version,
                        review_round=review_round,
                        sha256=version.blob_id,
                        final=final,
                        approved_by=closed_by,
                    )
            except IntegrityError as exc:
                raise ApplicationError(f"version {version.pk} already has a final approval") from exc
            audit_event_append(
                kind="approval",
                actor=closed_by,
                object_type="version",
                object_id=version.pk,
                payload={"round": review_round.pk, "sha256": approval.sha256, "final": final},
            )
        status = (
            (Version.Status.APPROVED if final else Version.Status.IN_REVIEW)
            if result in APPROVING
            else {Decision.Verdict.REJECT: Version.Status.REJECTED}.get(result, Version.Status.IN_REVIEW)
        )
        if result != UNDECIDED and version.status != status:
            version.status = status
            version.save(update_fields=["status"])
    review_round.status = ReviewRound.Status.CLOSED
    review_round.closed_at = timezone.now()
    review_round.closed_by = closed_by
    review_round.save(update_fields=["status", "closed_at", "closed_by"])
    audit_event_append(
        kind="round.closed",
        actor=closed_by,
        object_type="review_round",
        object_id=review_round.pk,
        payload={"results": {str(k): v for k, v in results.items()}},
    )
    round_closed_followups(review_round=review_round, results=results)
