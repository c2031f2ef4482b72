from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from assets.access import (
    client_scope,
    is_client_user,
    may_write,
    reads_lineage,
    versions_visible_to,
    versions_with_readable_lineage,
    visible,
)
from assets.errors import ApplicationError
from assets.lineage_svg import lineage_svg
from assets.models import (
    Blob,
    Brief,
    Campaign,
    Client,
    ClientMembership,
    Derivation,
    DerivedFile,
    Generated,
    ModelWeights,
    Prompt,
    PromptTemplate,
    Reference,
    Used,
    Version,
)
from assets.selectors import (
    impact_summary,
    lineage_graph,
    versions_made_with,
    versions_matching_text,
    versions_using_model_weights,
    versions_using_prompt,
    versions_using_reference,
)
from assets.services.briefs import reference_create
from assets.services.prompts import prompt_template_create
from assets.services.recipe_imports import images_import
from assets.services.weights import model_weights_delete


def thumbnail(blob_id: str, size: int = 96, display: int = 64) -> str:
    return format_html(
        '<img src="{}" alt="" style="max-width:{}px;max-height:{}px;border-radius:4px;background:#eee">',
        reverse("blob-thumbnail", args=[blob_id, size]),
        display,
        display,
    )


def swatches(colours: list[str]) -> str:
    return format_html_join(
        "",
        '<span title="{0}" style="display:inline-block;width:18px;height:18px;margin-right:3px;'
        'border:1px solid #999;border-radius:3px;background:{0}"></span>',
        ((colour,) for colour in colours),
    )


def choices_scoped(form, *, user):
    """Every row a form offers to choose is one the user may see, whoever declared the field. A user bound to
    clients must also name one where a row may belong to a client or to none (a webhook endpoint with no client
    hears every client)."""
    bound = client_scope(user=user) is not None
    for field in form.fields.values():
        queryset = getattr(field, "queryset", None)
        if queryset is not None:
            field.queryset = visible(queryset, user=user)
            if bound and queryset.model is Client:
                field.required = True
    return form


class VisibleChoices:
    """A form built for one user (`user=`): its choices of rows are scoped by `choices_scoped`."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_user = user
        choices_scoped(self, user=user)


def _form_for(form_class, user):
    """The admin's form class, its choices scoped for this request's user (fields are copied per form instance, so
    scoping them there never touches a class another request shares)."""

    class Scoped(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            choices_scoped(self, user=user)

    Scoped.__name__ = form_class.__name__
    return Scoped


class VisibleRelatedListFilter(admin.RelatedFieldListFilter):
    """A list filter offering only the related rows the user may see."""

    def field_choices(self, field, request, model_admin):
        rows = visible(field.related_model._default_manager.all(), user=request.user)
        return field.get_choices(
            include_blank=False,
            ordering=self.field_admin_ordering(field, request, model_admin),
            limit_choices_to={"pk__in": rows.values("pk")},
        )


def _visible_filters(model, list_filter):
    for entry in list_filter:
        if isinstance(entry, str) and "__" not in entry and model._meta.get_field(entry).is_relation:
            yield entry, VisibleRelatedListFilter
        else:
            yield entry


class WritesByAccess:
    """Adding, changing and deleting rows, for admins and inlines alike, as the model's access allows (may_write)
    and then the user's permissions."""

    def has_add_permission(self, request, *args):
        return may_write(self.model, user=request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return may_write(self.model, user=request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return may_write(self.model, user=request.user) and super().has_delete_permission(request, obj)


def viewer_panel(request, panel, *, description: str):
    """A read-only panel that depends on who looks, `panel(obj, viewer=user)`, bound to this request's user. The admin
    calls a read-only field with the object alone, and asks for its fields more than once a request, so the same
    callable comes back each time."""
    panels = request.__dict__.setdefault("_seed_viewer_panels", {})
    if description not in panels:

        def bound(obj):
            return panel(obj, viewer=request.user)

        bound.short_description = description
        panels[description] = bound
    return panels[description]


class VisibleAdmin(WritesByAccess, admin.ModelAdmin):
    """Rows the user may not see do not exist here: lists skip them, their pages are 404, and no form field, inline
    or list filter offers them (the model's declared access decides, see assets.access)."""

    # (panel, description) pairs another app adds (admin_extend): an object's page shows each as its viewer may see it.
    viewer_panels = ()

    def get_queryset(self, request):
        return visible(super().get_queryset(request), user=request.user)

    def get_form(self, request, obj=None, **kwargs):
        return _form_for(super().get_form(request, obj, **kwargs), request.user)

    def get_changelist_form(self, request, **kwargs):
        return _form_for(super().get_changelist_form(request, **kwargs), request.user)

    def get_list_filter(self, request):
        return list(_visible_filters(self.model, super().get_list_filter(request)))

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + self._viewer_panels(request) if obj is not None else fields

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        # Without declared fields the admin derives them from the read-only ones, which already hold the panels.
        return [*fields, *self._viewer_panels(request)] if obj is not None and self.fields is not None else fields

    def _viewer_panels(self, request) -> list:
        return [viewer_panel(request, panel, description=description) for panel, description in self.viewer_panels]

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(f"{opts.verbose_name} {object_id} does not exist")


class VisibleInline(WritesByAccess):
    """The inline's rows and choices, scoped as VisibleAdmin scopes its page's."""

    def get_queryset(self, request):
        return visible(super().get_queryset(request), user=request.user)

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(
            request, obj, **{**kwargs, "form": _form_for(kwargs.get("form", self.form), request.user)}
        )


def admin_extend(model, *, actions=(), readonly=(), viewer_panels=(), filters=(), permissions=None) -> None:
    """Let another app add actions, read-only panels and list filters to a core model's admin without re-registering it.

    `viewer_panels` are (panel, description) pairs for panels that depend on who looks: `panel(obj, viewer=user)`.
    `permissions` maps a name to a check of the request, for actions declared with `permissions=[name]`: the admin
    shows an action only to users its `has_<name>_permission` lets through.
    """
    model_admin = admin.site._registry[model]
    for name, check in (permissions or {}).items():
        setattr(model_admin, f"has_{name}_permission", check)
    model_admin.actions = [*(model_admin.actions or []), *actions]
    model_admin.list_filter = [*model_admin.list_filter, *filters]
    model_admin.readonly_fields = [*model_admin.readonly_fields, *readonly]
    model_admin.viewer_panels = [*model_admin.viewer_panels, *viewer_panels]
    if model_admin.fields is not None:
        model_admin.fields = [*model_admin.fields, *readonly]


class ReadOnlyAdmin(VisibleAdmin):
    """Lineage rows are append-only: they are made by services, and shown here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(VisibleInline, admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ClientMembershipInline(VisibleInline, admin.TabularInline):
    model = ClientMembership
    extra = 0
    autocomplete_fields = ["user"]
    verbose_name = "client-side user"


@admin.register(Client)
class ClientAdmin(VisibleAdmin):
    inlines = [ClientMembershipInline]
    list_display = ["name", "shares_lineage", "created_at"]
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


@admin.register(Brief)
class BriefAdmin(VisibleAdmin):
    list_display = ["title", "campaign", "content_type", "aspect", "palette_swatches", "created_at"]
    list_filter = ["content_type", ("campaign", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "notes", "campaign__name", "campaign__client__name"]
    list_select_related = ["campaign__client"]
    readonly_fields = ["palette_swatches", "mood_board", "created_by", "created_at"]
    inlines = [PromptTemplateInline]

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


class ReferenceAddForm(forms.ModelForm):
    image = forms.FileField(help_text="PNG, JPEG or WebP; checked and stored by its sha256")

    class Meta:
        model = Reference
        fields = ["brief", "title", "notes"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.instance = reference_create(
                brief=cleaned["brief"],
                source=cleaned["image"],
                title=cleaned.get("title", ""),
                notes=cleaned.get("notes", ""),
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return cleaned


class ImpactPanelAdmin(VisibleAdmin):
    """A change page that shows what its input went into: counts per client and brief, and the deliveries."""

    impact_of = None  # obj -> QuerySet[Version]

    def _impact_field(self, request):
        if not hasattr(request, "_seed_impact_panel"):
            visible = versions_visible_to(user=request.user).values("pk")

            def impact(obj):
                return impact_panel(type(self).impact_of(obj).filter(pk__in=visible))

            impact.short_description = "impact: what it went into"
            request._seed_impact_panel = impact
        return request._seed_impact_panel

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, self._impact_field(request)] if obj is not None else fields

    def get_fields(self, request, obj=None):
        fields = [field for field in super().get_fields(request, obj) if not callable(field)]
        return [*fields, self._impact_field(request)] if obj is not None else fields


def impact_panel(versions) -> str:
    summary = impact_summary(versions=versions)
    if not summary["versions_total"]:
        return "nothing was made with it yet"
    briefs = format_html_join(
        "",
        '<tr><td>{}</td><td><a href="{}">{}</a></td><td>{}</td><td>{}</td></tr>',
        (
            (
                row["client_name"],
                reverse("admin:assets_brief_change", args=[row["brief"]]),
                row["title"],
                row["versions"],
                row["deliveries"],
            )
            for row in summary["briefs"]
        ),
    )
    deliveries = format_html_join(
        ", ",
        '<a href="{}">delivery {}</a> ({}, {} files)',
        (
            (reverse("admin:delivery_delivery_change", args=[d["id"]]), d["id"], d["state"], d["files"])
            for d in summary["deliveries"]
        ),
    )
    versions_link = (
        reverse("admin:assets_version_changelist")
        + "?id__in="
        + ",".join(str(v["id"]) for v in summary["versions"][:200])
    )
    return format_html(
        '<p><b>{}</b> version(s) in <b>{}</b> client(s), <a href="{}">list them</a>; '
        "<b>{}</b> deliveries inherit it{}</p>"
        "<table><tr><th>client</th><th>brief</th><th>versions</th><th>deliveries</th></tr>{}</table>",
        summary["versions_total"],
        len(summary["clients"]),
        versions_link,
        summary["deliveries_total"],
        format_html(": {}", deliveries) if summary["deliveries"] else "",
        briefs,
    )


@admin.register(Reference)
class ReferenceAdmin(ImpactPanelAdmin, VisibleAdmin):
    list_display = ["preview", "title", "brief", "width", "height", "format", "created_at"]
    list_filter = [("brief", admin.RelatedOnlyFieldListFilter), "format"]
    search_fields = ["title", "notes", "blob__sha256"]
    list_select_related = ["brief"]
    readonly_fields = ["large_preview", "brief", "blob", "width", "height", "format", "created_by", "created_at"]
    impact_of = staticmethod(lambda reference: versions_using_reference(reference=reference))

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ReferenceAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, self._impact_field(request)] if obj else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["brief", "image", "title", "notes"]
        return [
            "large_preview",
            "title",
            "notes",
            "brief",
            "blob",
            "width",
            "height",
            "format",
            "created_by",
            "created_at",
            self._impact_field(request),
        ]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=[name for name in form.changed_data if name in Reference.mutable_fields])

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="")
    def preview(self, obj):
        return thumbnail(obj.blob_id)

    @admin.display(description="preview")
    def large_preview(self, obj):
        return thumbnail(obj.blob_id, 768, 512)


class PromptTemplateForm(forms.ModelForm):
    negative_text = forms.CharField(
        widget=forms.Textarea, required=False, help_text="Leave empty to use the brief's negative prompt."
    )

    class Meta:
        model = PromptTemplate
        fields = ["brief", "name", "text", "negative_text"]
        help_texts = {"text": "Placeholders in braces, e.g. {subject}, {camera action}; {{ and }} for literal braces."}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.instance = prompt_template_create(
                brief=cleaned["brief"],
                name=cleaned["name"],
                text=cleaned["text"],
                negative_text=cleaned.get("negative_text") or None,
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return cleaned


@admin.register(PromptTemplate)
class PromptTemplateAdmin(VisibleAdmin):
    list_display = ["name", "brief", "placeholder_list", "created_at"]
    list_filter = [("brief", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "text"]
    list_select_related = ["brief"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = PromptTemplateForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ["brief", "text", "negative_text", "placeholders", "created_by", "created_at"] if obj else []

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["brief", "name", "text", "negative_text"]
        return ["name", "brief", "text", "negative_text", "placeholders", "created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=[name for name in form.changed_data if name in PromptTemplate.mutable_fields])

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="placeholders")
    def placeholder_list(self, obj):
        return ", ".join("{" + name + "}" for name in obj.placeholders)


@admin.register(Prompt)
class PromptAdmin(ImpactPanelAdmin, ReadOnlyAdmin):
    impact_of = staticmethod(lambda prompt: versions_using_prompt(prompt=prompt))
    list_display = ["id", "text", "negative_text", "brief", "template", "created_at"]
    list_filter = [("brief", admin.RelatedOnlyFieldListFilter), ("template", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["text", "negative_text"]
    list_select_related = ["brief", "template"]


@admin.register(ModelWeights)
class ModelWeightsAdmin(ImpactPanelAdmin):
    """Studio-wide registry: not client data, and client roles hold no permission on it."""

    impact_of = staticmethod(lambda weights: versions_using_model_weights(weights=weights))
    list_display = ["name", "kind", "architecture", "format", "short_hash", "size", "created_at"]
    list_filter = ["kind", "architecture", "format"]
    search_fields = ["name", "source_name", "sha256"]
    readonly_fields = [
        "kind",
        "architecture",
        "sha256",
        "size",
        "format",
        "blob",
        "files",
        "source_name",
        "source_version",
        "created_at",
    ]
    fields = ["name", "notes", *readonly_fields]

    def has_add_permission(self, request):
        return False  # registering hashes files on the server: `manage.py register_model`

    def save_model(self, request, obj, form, change):
        obj.save(update_fields=[name for name in form.changed_data if name in ModelWeights.mutable_fields])

    def delete_model(self, request, obj):
        model_weights_delete(weights=obj)

    def delete_queryset(self, request, queryset):
        for weights in queryset:
            try:
                model_weights_delete(weights=weights)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)


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

    @admin.display(description="progress")
    def progress(self, obj):
        return f"{obj.progress_step}/{obj.progress_total}" if obj.progress_total else "—"


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


@admin.register(Version)
class VersionAdmin(VisibleAdmin):
    # How a version was made (and the licences and re-runs that follow from it): shown where the lineage is readable.
    LINEAGE_FIELDS = {"lineage_picture", "made_by", "rights_panel", "reproducibility_panel"}
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
                    brief=form.cleaned_data["brief"], sources=form.cleaned_data["files"], created_by=request.user
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
        return obj.generated_by.derivation.get_op_display()

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


from assets import admin_rights  # noqa: E402,F401 (licences and the version's rights panels register on import)
