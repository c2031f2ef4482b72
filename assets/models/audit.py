"""The studio's audit trail: what was done to the lineage, the reviews and the deliveries, by whom, in a hash chain."""

from django.conf import settings
from django.db import models

from assets.access import Access


class AuditEvent(models.Model):
    """Append-only, hash-chained: each row carries the previous row's hash, so an edit breaks the chain."""

    kind = models.CharField(max_length=50)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The review share link a guest acted through. An id, not a foreign key: the core names no model of the apps
    # above it. The table, made when the trail was review's, keeps its foreign key constraint to review_sharelink.
    share_link_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    object_type = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    access = Access(reviewers_read=False)  # the trail spans every client

    class Meta:
        db_table = "review_auditevent"  # the review app's table until the trail moved to the core
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="review_audi_object__dbe731_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.object_type}:{self.object_id}"
