"""Versions: their list, search and filters, the lineage picture, and importing images made by other tools."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from assets.access import (
    is_client_user,
    reads_lineage,
    versions_with_readable_lineage,
    visible,
)
from assets.admin.display import thumbnail
from assets.admin.visible import VisibleAdmin, VisibleChoices
from assets.errors import ApplicationError
from assets.lineage_svg import lineage_svg
from assets.models import (
    Brief,
    Derivation,
    Used,
    Version,
)
from assets.selectors import (
    lineage_graph,
    versions_made_with,
    versions_matching_text,
)
from assets.services.recipe_imports import images_import


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(MultipleFileField, self).clean(item, initial) for item in files]


class ImagesImportForm(VisibleChoices, forms.Form):
    brief = forms.ModelChoiceField(queryset=Brief.objects.select_related("campaign__client"))
    files = MultipleFileField(
        widget=MultipleFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text="PNG, JPEG or WebP; several at once",
    )
    parent = forms.IntegerField(
        required=False,
        min_value=1,
        help_text="Id of the version the files were made from; left empty, a retouch brought back finds it itself",
    )
    standalone = forms.BooleanField(required=False, help_text="The files were made from nothing in Seed")

    def clean_parent(self):
        number = self.cleaned_data["parent"]
        if number is None:
            return None
        parent = visible(Version.objects.filter(pk=number), user=self.current_user).first()
        if parent is None:
            raise forms.ValidationError(f"version {number} does not exist")
        return parent


class SamplerFilter(admin.SimpleListFilter):
    title = "sampler"
    parameter_name = "sampler"

    def lookups(self, request, model_admin):
        made = Derivation.objects.filter(
            generated__version__in=versions_with_readable_lineage(model_admin.get_queryset(request), user=request.user)
        )
        samplers = made.exclude(params__sampler=None).order_by().values_list("params__sampler", flat=True).distinct()
        return [(sampler, sampler) for sampler in sorted(samplers)]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return versions_with_readable_lineage(queryset, user=request.user).filter(
            generated_by__derivation__params__sampler=self.value()
        )


def _source_type(action: dict) -> str:
    """IPTC's term alone ("trainedAlgorithmicMedia"), not its URI."""
    return action.get("digitalSourceType", "").rsplit("/", 1)[-1]


@admin.register(Version)
class VersionAdmin(VisibleAdmin):
    # How a version was made (and the licences and re-runs that follow from it): shown where the lineage is readable.
    LINEAGE_FIELDS = {"lineage_picture", "made_by", "brought_in_with", "rights_panel", "reproducibility_panel"}
    list_display = [
        "preview",
        "id",
        "brief",
        "operation",
        "width",
        "height",
        "format",
        "seed",
        "status",
        "triage",
        "created_at",
    ]
    list_display_links = ["preview", "id"]
    list_filter = [
        "status",
        "triage",
        ("brief__campaign__client", admin.RelatedOnlyFieldListFilter),
        ("brief", admin.RelatedOnlyFieldListFilter),
        "generated_by__derivation__op",
        SamplerFilter,
        "format",
        "created_at",
    ]
    search_fields = ["=id", "blob__sha256", "label", "=seed"]
    search_help_text = (
        'Words of the prompt, notes or comments ("a phrase", -not), a version id, a seed, a sha256, '
        "or model:NAME / lora:NAME (name, sha256 or AutoV2 hash)"
    )
    list_select_related = ["brief", "generated_by__derivation"]
    readonly_fields = [
        "large_preview",
        "lineage_picture",
        "brief",
        "blob",
        "width",
        "height",
        "format",
        "seed",
        "status",
        "triage",
        "created_at",
        "made_by",
        "brought_in_with",
    ]
    fields = [
        "large_preview",
        "lineage_picture",
        "label",
        "brief",
        "blob",
        "width",
        "height",
        "format",
        "seed",
        "status",
        "triage",
        "made_by",
        "brought_in_with",
        "created_at",
    ]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not reads_lineage(user=request.user, brief=obj.brief):
            return [name for name in fields if getattr(name, "__name__", name) not in self.LINEAGE_FIELDS]
        return fields

    def get_search_fields(self, request):
        """A seed is part of the recipe: a client searches by it only where the lineage is shared
        (see get_search_results)."""
        fields = super().get_search_fields(request)
        return fields if not is_client_user(user=request.user) else [name for name in fields if name != "=seed"]

    def get_list_display(self, request):
        fields = super().get_list_display(request)
        return (
            fields
            if not is_client_user(user=request.user)
            else [name for name in fields if name not in ("seed", "triage")]
        )

    def has_add_permission(self, request):
        return False  # versions come from generation jobs and imports, never by hand

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.save(update_fields=[name for name in form.changed_data if name in Version.mutable_fields])

    def get_urls(self):
        importer = path(
            "import-images/", self.admin_site.admin_view(self.import_images_view), name="assets_version_import_images"
        )
        return [importer, *super().get_urls()]

    def _can_import(self, request) -> bool:
        return request.user.has_perm("assets.add_version") and not is_client_user(user=request.user)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "can_import": self._can_import(request)})

    def import_images_view(self, request):
        """Upload images from other tools into a brief; the report says what each one brought."""
        if not self._can_import(request):
            raise PermissionDenied
        form = ImagesImportForm(request.POST or None, request.FILES or None, user=request.user)
        reports = []
        if request.method == "POST" and form.is_valid():
            try:
                reports = images_import(
                    brief=form.cleaned_data["brief"],
                    sources=form.cleaned_data["files"],
                    created_by=request.user,
                    parent=form.cleaned_data["parent"],
                    find_parent=form.cleaned_data["parent"] is None and not form.cleaned_data["standalone"],
                )
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            imported = sum(1 for report in reports if report["imported"])
            if reports:
                self.message_user(
                    request,
                    f"{imported} of {len(reports)} file(s) imported",
                    messages.SUCCESS if imported == len(reports) else messages.WARNING,
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Import images with their recipe",
            "form": form,
            "reports": reports,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/assets/version/import_images.html", context)

    def get_search_results(self, request, queryset, search_term):
        """model:/lora: terms filter by the recipe's weights; other words search the text, besides ids and hashes."""
        words = []
        for word in search_term.split():
            prefix, _, value = word.partition(":")
            if prefix in ("model", "lora") and value:
                role = Used.Role.BASE_MODEL if prefix == "model" else Used.Role.LORA
                queryset = versions_made_with(
                    versions=versions_with_readable_lineage(queryset, user=request.user), term=value, roles=(role,)
                )
            else:
                words.append(word)
        text = " ".join(words)
        if not text:
            return queryset, False
        exact, duplicates = super().get_search_results(request, queryset, text)
        found = versions_matching_text(versions=queryset, text=text, internal=not is_client_user(user=request.user))
        return queryset.filter(Q(pk__in=exact.values("pk")) | Q(pk__in=found.values("pk"))), duplicates

    @admin.display(description="")
    def preview(self, obj):
        return thumbnail(obj.blob_id)

    @admin.display(description="operation", ordering="generated_by__derivation__op")
    def operation(self, obj):
        return obj.generated_by.derivation.op_label

    @admin.display(description="image")
    def large_preview(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("blob-image", args=[obj.blob_id]), thumbnail(obj.blob_id, 768, 512)
        )

    @admin.display(description="made by")
    def made_by(self, obj):
        derivation = obj.generated_by.derivation
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:assets_derivation_change", args=[derivation.pk]), derivation
        )

    @admin.display(description="brought in with")
    def brought_in_with(self, obj):
        """An imported file's own account: how its parent was found, and another tool's C2PA claim (a retoucher's
        edits with their software, the digital source type, the ingredients), as its import recorded them."""
        params = obj.generated_by.derivation.params
        lines = [params["parent_match"]] if params.get("parent_match") else []
        claim = params.get("credentials")
        if claim:
            signer = f"{claim['signed_by'] or '?'} ({claim.get('issuer') or '?'})"
            lines.append(f"C2PA claim by {claim['claim_generator'] or '?'}, signed by {signer}")
            lines += [
                " · ".join(filter(None, (a["action"], a.get("softwareAgent"), _source_type(a))))
                for a in claim["actions"]
            ]
            lines += [f"ingredient {i['title']} ({i['relationship']}) {i['manifest']}" for i in claim["ingredients"]]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines)) if lines else "—"

    @admin.display(description="lineage")
    def lineage_picture(self, obj):
        svg = lineage_svg(graph=lineage_graph(version=obj))
        return mark_safe(
            '<div class="seed-lineage-view"><div class="seed-lineage-zoom" role="toolbar" aria-label="Lineage zoom">'
            '<button type="button" data-zoom="fit">Fit</button>'
            '<button type="button" data-zoom="1" aria-pressed="true">100 %</button>'
            '<button type="button" data-zoom="2">200 %</button> '
            "<small>drag or scroll to move along the chain</small></div>"
            f'<div class="seed-lineage-pane" tabindex="0" aria-label="Lineage picture, scrollable">{svg}</div></div>'
        )

    class Media:
        css = {"all": ["assets/lineage.css"]}
        js = ["assets/lineage.js"]
