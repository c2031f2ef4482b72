"""The lineage rows, append-only and shown read-only: derivations with what they used and made, blobs and derived
files."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from assets.admin.display import thumbnail
from assets.admin.visible import ReadOnlyAdmin, ReadOnlyInline
from assets.models import (
    Blob,
    Derivation,
    DerivedFile,
    Generated,
    Used,
)


class UsedInline(ReadOnlyInline):
    model = Used
    fields = ["role", "position", "weight", "version", "reference", "prompt", "model_weights", "blob"]
    readonly_fields = fields


class GeneratedInline(ReadOnlyInline):
    model = Generated
    fields = ["index", "role", "version", "preview"]
    readonly_fields = fields

    @admin.display(description="")
    def preview(self, obj):
        return thumbnail(obj.version.blob_id)


@admin.register(Derivation)
class DerivationAdmin(ReadOnlyAdmin):
    list_display = ["id", "op", "phase", "state", "brief", "progress", "wall_seconds", "gpu_seconds", "created_at"]
    list_filter = ["op", "phase", "state", ("brief", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["id", "job_id", "error"]
    list_select_related = ["brief"]
    inlines = [UsedInline, GeneratedInline]
    # A training logs its loss by step: its own panel draws the curve rather than thousands of numbers.
    exclude = ["progress_log"]

    @admin.display(description="progress")
    def progress(self, obj):
        return f"{obj.progress_step}/{obj.progress_total}" if obj.progress_total else "—"


@admin.register(Blob)
class BlobAdmin(ReadOnlyAdmin):
    list_display = ["sha256", "size", "media_type", "created_at"]
    list_filter = ["media_type"]
    search_fields = ["sha256"]


@admin.register(DerivedFile)
class DerivedFileAdmin(ReadOnlyAdmin):
    """Masks and SVGs: shown with their version and what made them; they download as attachments, never inline."""

    list_display = ["id", "kind", "source", "derivation", "size", "download", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["source", "derivation", "refined_from"]
    fields = [
        "kind",
        "brief",
        "source",
        "derivation",
        "refined_from",
        "label",
        "width",
        "height",
        "blob",
        "created_by",
        "created_at",
        "download",
    ]
    readonly_fields = fields

    @admin.display(description="size")
    def size(self, obj):
        return f"{obj.width}x{obj.height}"

    @admin.display(description="file")
    def download(self, obj):
        return format_html('<a href="{}">download</a>', reverse("derivedfile-download", args=[obj.pk]))


@admin.register(Used)
class UsedAdmin(ReadOnlyAdmin):
    list_display = [
        "derivation",
        "role",
        "position",
        "weight",
        "version",
        "reference",
        "prompt",
        "model_weights",
        "blob",
    ]
    list_filter = ["role"]
    list_select_related = ["derivation", "version", "reference", "prompt", "model_weights", "blob"]


@admin.register(Generated)
class GeneratedAdmin(ReadOnlyAdmin):
    list_display = ["derivation", "version", "role", "index"]
    list_filter = ["role"]
    list_select_related = ["derivation", "version"]
