"""The manifest repository, read-only: every C2PA manifest Seed signed or was handed, and its soft binding."""

from django.contrib import admin

from assets.admin.visible import ReadOnlyAdmin
from assets.models import Credential


@admin.register(Credential)
class CredentialAdmin(ReadOnlyAdmin):
    list_display = ["manifest_id", "kind", "version", "media_type", "width", "height", "iscc", "created_at"]
    list_filter = ["kind", "media_type"]
    search_fields = ["=manifest_id", "=iscc", "=document_id", "=file_sha256"]
    exclude = ["store"]
