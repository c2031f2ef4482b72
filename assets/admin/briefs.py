"""Clients, their campaigns and briefs."""

from django import forms
from django.contrib import admin
from django.contrib.postgres.forms import SimpleArrayField
from django.urls import reverse
from django.utils.html import format_html_join

from assets.admin.display import swatches, thumbnail
from assets.admin.visible import ReadOnlyInline, VisibleAdmin, VisibleInline
from assets.models import (
    Brief,
    Campaign,
    Client,
    ClientMembership,
    PromptTemplate,
)


class ClientMembershipInline(VisibleInline, admin.TabularInline):
    model = ClientMembership
    extra = 0
    autocomplete_fields = ["user"]
    verbose_name = "client-side user"


@admin.register(Client)
class ClientAdmin(VisibleAdmin):
    inlines = [ClientMembershipInline]
    list_display = ["name", "shares_lineage", "requires_ai_disclosure", "created_at"]
    search_fields = ["name"]


@admin.register(Campaign)
class CampaignAdmin(VisibleAdmin):
    list_display = ["name", "client", "created_at"]
    list_filter = [("client", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "client__name"]
    list_select_related = ["client"]


class PromptTemplateInline(ReadOnlyInline):
    model = PromptTemplate
    fields = ["name", "text", "negative_text", "placeholders"]
    readonly_fields = fields
    show_change_link = True


class CopyLinesField(SimpleArrayField):
    """The brief's required copy, one string a line: a comma belongs to copy ("Fresh, cold, yours")."""

    def __init__(self, **kwargs):
        kwargs.pop("delimiter", None)
        kwargs["widget"] = forms.Textarea(attrs={"rows": 3})
        super().__init__(forms.CharField(max_length=200), delimiter="\n", **kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = "\n".join(line.strip() for line in value.splitlines() if line.strip())
        return super().to_python(value)


@admin.register(Brief)
class BriefAdmin(VisibleAdmin):
    list_display = ["title", "campaign", "content_type", "aspect", "palette_swatches", "created_at"]
    list_filter = ["content_type", ("campaign", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "notes", "campaign__name", "campaign__client__name"]
    list_select_related = ["campaign__client"]
    readonly_fields = ["palette_swatches", "mood_board", "created_by", "created_at"]
    inlines = [PromptTemplateInline]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "required_copy":
            return CopyLinesField(
                max_length=db_field.size, required=False, label="Required copy", help_text=db_field.help_text
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="palette")
    def palette_swatches(self, obj):
        return swatches(obj.palette)

    @admin.display(description="mood board")
    def mood_board(self, obj):
        references = obj.references.all() if obj.pk else []
        items = format_html_join(
            "",
            '<a href="{}" title="{}" style="margin:0 6px 6px 0;display:inline-block">{}</a>',
            (
                (reverse("admin:assets_reference_change", args=[ref.pk]), ref.title, thumbnail(ref.blob_id, 96, 96))
                for ref in references
            ),
        )
        return items or "—"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
