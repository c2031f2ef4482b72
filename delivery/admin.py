from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from assets.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    VisibleAdmin,
    VisibleChoices,
    admin_extend,
    thumbnail,
)
from assets.admin_actions import action_form, studio_may
from assets.errors import ApplicationError
from assets.models import Version
from assets.rights import licences_expiring
from delivery import admin_impact, admin_retouch  # noqa: F401 (their panels and actions register on import)
from delivery.marks import delivered_marks
from delivery.models import (
    DEFAULT_NAME_TEMPLATE,
    ChannelPreset,
    Delivery,
    DeliveryItem,
    FocalPoint,
)
from delivery.selectors import deliveries_inheriting
from delivery.services.deliveries import (
    OVERRIDE_PERMISSION,
    delivery_create,
    delivery_override,
)
from delivery.services.presets import preset_print_profile_set
from generation.finishing_ops import print_profile_check
from generation.services.finishing import upscale_create


class ChannelPresetForm(forms.ModelForm):
    print_profile_file = forms.FileField(
        required=False,
        label="Print profile (.icc, .icm)",
        help_text="A CMYK output profile from the printer or press (e.g. FOGRA39, GRACoL)",
    )

    class Meta:
        model = ChannelPreset
        exclude = ["print_profile"]

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("print_profile_file")
        if upload is not None:
            try:
                print_profile_check(upload.read())
            except ApplicationError as exc:
                raise forms.ValidationError({"print_profile_file": exc.message}) from exc
            upload.seek(0)
        elif cleaned.get("colour_profile") == ChannelPreset.Profile.CMYK and self.instance.print_profile_id is None:
            raise forms.ValidationError({"print_profile_file": "CMYK needs the print profile to convert through"})
        return cleaned


@admin.register(ChannelPreset)
class ChannelPresetAdmin(VisibleAdmin):
    form = ChannelPresetForm
    list_display = [
        "slug",
        "name",
        "width",
        "height",
        "format",
        "quality",
        "colour_profile",
        "crop_rule",
        "kind",
        "section",
        "background_colour",
        "disclosure_required",
        "recipe_exposure",
        "ai_label_placement",
        "position",
        "active",
    ]
    list_editable = ["position", "active"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["print_profile"]
    fields = [
        "slug",
        "name",
        "width",
        "height",
        "format",
        "quality",
        "colour_profile",
        "rendering_intent",
        "print_profile_file",
        "print_profile",
        "crop_rule",
        "kind",
        "section",
        "background_colour",
        "min_delta_e",
        "print_width_mm",
        "min_ppi",
        "disclosure_required",
        "recipe_exposure",
        "ai_label_placement",
        "ai_label_text",
        "position",
        "active",
    ]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data.get("print_profile_file")
        super().save_model(request, obj, form, change)
        if upload is not None:
            preset_print_profile_set(preset=obj, source=upload)


@admin.register(FocalPoint)
class FocalPointAdmin(VisibleAdmin):
    list_display = ["version", "x", "y", "preview", "set_by", "updated_at"]
    raw_id_fields = ["version"]
    readonly_fields = ["preview", "set_by"]
    fields = ["version", "x", "y", "preview", "set_by"]

    @admin.display(description="where crops centre")
    def preview(self, obj):
        if not obj or not obj.version_id:
            return "—"
        return format_html(
            '<div style="position:relative;display:inline-block">{}<span style="position:absolute;left:{}%;top:{}%;'
            "width:14px;height:14px;margin:-7px;border:2px solid #fff;border-radius:50%;"
            'box-shadow:0 0 0 2px #e33"></span></div>',
            thumbnail(obj.version.blob_id, 512, 320),
            round(obj.x * 100, 2),
            round(obj.y * 100, 2),
        )

    def save_model(self, request, obj, form, change):
        obj.set_by = request.user
        super().save_model(request, obj, form, change)


class DeliveryItemInline(ReadOnlyInline):
    model = DeliveryItem
    fields = [
        "preview",
        "file_name",
        "preset",
        "width",
        "height",
        "format",
        "size",
        "manifest_state",
        "manifest_bytes",
        "ai_marks",
        "qc_summary",
    ]
    readonly_fields = fields

    @admin.display(description="")
    def preview(self, obj):
        return thumbnail(obj.version.blob_id, 256, 96)

    @admin.display(description="QC")
    def qc_summary(self, obj):
        return _checks(obj.qc)

    @admin.display(description="AI marks")
    def ai_marks(self, obj):
        marks = delivered_marks(item=obj)
        label = marks["visible_label"]
        return format_html(
            "<div>C2PA manifest: {}</div><div>soft binding: {}</div><div>IPTC: {}</div><div>label: {}</div>",
            marks["c2pa_manifest"],
            "✔" if marks["soft_binding"] else "✘ none",
            ", ".join(marks["iptc_ai"]) or "✘ none",
            f"{label['text']} ({label['placement'].replace('_', ' ')})" if label else "none",
        )


def _checks(fact: dict) -> str:
    return (
        format_html_join(
            "",
            '<div style="color:{}">{} {}: {} (limit {})</div>',
            (
                (
                    "#1a7f37" if c["passed"] else "#b42318",
                    "✔" if c["passed"] else "✘",
                    c["check"],
                    c["value"],
                    c["limit"],
                )
                for c in fact.get("checks", [])
            ),
        )
        or "—"
    )


class OverrideForm(VisibleChoices, forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why this delivery may go ahead although QC failed; recorded in the audit trail",
    )


class LicenceExpiringFilter(admin.SimpleListFilter):
    """The deliveries the licence expiry watch tells producers of: made with something whose licence has run out or
    runs out soon."""

    title = "inherited licence"
    parameter_name = "licence_expiring"

    def lookups(self, request, model_admin):
        days = settings.SEED_LICENCE_WARN_DAYS
        return [(str(days), f"expired or expiring within {days} days"), ("0", "expired")]

    def queryset(self, request, queryset):
        if self.value() is None or not self.value().isdigit():
            return queryset
        # "0" asks for the licences that have already run out: up to yesterday.
        within = int(self.value()) if self.value() != "0" else -1
        expiring = licences_expiring(on=timezone.localdate(), within_days=within)
        return queryset.filter(
            pk__in=deliveries_inheriting(licences=list(expiring.values_list("pk", flat=True))).values("pk")
        )


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "master",
        "state",
        "progress",
        "override_reason",
        "created_by",
        "created_at",
        "bundle_link",
    ]
    list_filter = ["state", LicenceExpiringFilter]
    list_select_related = ["version", "created_by"]
    inlines = [DeliveryItemInline]
    readonly_fields = [
        "master",
        "state",
        "error",
        "qc_table",
        "override_reason",
        "overridden_by",
        "overridden_at",
        "name_template",
        "progress",
        "bundle_link",
        "bundle_sha256",
        "created_by",
        "created_at",
        "finished_at",
        "wall_seconds",
    ]
    fields = readonly_fields
    actions = ["override_qc"]

    @admin.display(description="master")
    def master(self, obj):
        return format_html(
            '<a href="{}">v{}</a> {}',
            reverse("admin:assets_version_change", args=[obj.version_id]),
            obj.version_id,
            thumbnail(obj.version.blob_id, 96, 48),
        )

    @admin.display(description="progress")
    def progress(self, obj):
        return f"{obj.progress_step}/{obj.progress_total}"

    @admin.display(description="bundle")
    def bundle_link(self, obj):
        if obj.state != Delivery.State.SUCCEEDED:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("delivery-bundle", args=[obj.pk]), obj.bundle_name)

    @admin.display(description="QC facts")
    def qc_table(self, obj):
        return format_html_join("", "<p><b>{}</b> {}</p>", ((fact["preset"], _checks(fact)) for fact in obj.qc)) or "—"

    def has_override_permission(self, request):
        return request.user.has_perm(OVERRIDE_PERMISSION)

    @admin.action(description="Override failed QC with a reason (producers)", permissions=["override"])
    def override_qc(self, request, queryset):
        return action_form(
            self,
            request,
            queryset.filter(state=Delivery.State.BLOCKED),
            form_class=OverrideForm,
            title="Override QC",
            note="Only deliveries blocked by QC are listed.",
            apply=lambda delivery, data: delivery_override(delivery=delivery, reason=data["reason"], user=request.user),
        )


class DeliverForm(VisibleChoices, forms.Form):
    presets = forms.ModelMultipleChoiceField(
        queryset=ChannelPreset.objects.filter(active=True), widget=forms.CheckboxSelectMultiple, required=True
    )
    name_template = forms.CharField(initial=DEFAULT_NAME_TEMPLATE, max_length=200)
    override_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Producers: deliver even if QC fails, for this reason (audited)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["presets"].initial = list(ChannelPreset.objects.filter(active=True))


@admin.action(description="Deliver selected approved versions…", permissions=["deliver"])
def deliver_versions(modeladmin, request, queryset):
    return action_form(
        modeladmin,
        request,
        queryset,
        form_class=DeliverForm,
        title="Deliver",
        note="Only versions with a final client approval of their current bytes are delivered.",
        apply=lambda version, data: delivery_create(
            version=version,
            presets=list(data["presets"]),
            name_template=data["name_template"],
            override_reason=data["override_reason"],
            created_by=request.user,
        ),
    )


@admin.action(description="Upscale selected versions for the hero banner", permissions=["finish"])
def upscale_for_hero(modeladmin, request, queryset):
    hero = ChannelPreset.objects.filter(slug="hero").first()
    for version in queryset:
        try:
            if hero is None:
                raise ApplicationError("there is no preset with the slug hero")
            upscale_create(version=version, target_width=hero.width, target_height=hero.height, created_by=request.user)
        except ApplicationError as exc:
            modeladmin.message_user(request, f"v{version.pk}: {exc.message}", messages.ERROR)


# Versions and masks are never added by hand (their admins refuse "add"), so the actions carry permissions of their own.
admin_extend(
    Version,
    actions=[deliver_versions, upscale_for_hero],
    permissions={"deliver": studio_may("delivery.add_delivery"), "finish": studio_may("assets.add_derivation")},
)
