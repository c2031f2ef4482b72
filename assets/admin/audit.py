"""The audit trail, read-only: every event of the lineage, the reviews and the deliveries, in chain order."""

from django.contrib import admin

from assets.admin.visible import ReadOnlyAdmin
from assets.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "actor", "share_link_id", "object_type", "object_id", "created_at", "short_hash"]
    list_filter = ["kind", "object_type"]
    search_fields = ["=object_id", "hash"]

    @admin.display(description="hash")
    def short_hash(self, obj):
        return obj.hash[:12]
