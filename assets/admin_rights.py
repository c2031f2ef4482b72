"""Rights in the admin: licences (what they cover, every delivery that inherits one), and on each version its
inherited licences and what the reproducibility watch last found."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from assets.admin import VisibleAdmin, admin_extend
from assets.errors import ApplicationError
from assets.models import Licence, ReproducibilityCheck, Version
from assets.rights import (
    reproducibility_latest,
    rights_problems,
    source_label,
    version_rights,
    with_reproducibility,
)
from assets.services.licences import ATTACHABLE, imports_only_check, licence_save


class LicenceForm(forms.ModelForm):
    source_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = Licence
        fields = ["name", "spdx_id", "commercial_use", "attribution", "source_url", "expires_on", "notes", *ATTACHABLE]

    def clean_versions(self):
        versions = self.cleaned_data["versions"]
        try:
            imports_only_check(versions)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return versions


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request, model_admin):
        return [
            ("expired", "Expired"),
            ("soon", f"Within {settings.SEED_LICENCE_WARN_DAYS} days"),
            ("perpetual", "Perpetual"),
        ]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "expired":
            return queryset.filter(expires_on__lt=today)
        if self.value() == "soon":
            return queryset.filter(
                expires_on__gte=today, expires_on__lte=today + timedelta(days=settings.SEED_LICENCE_WARN_DAYS)
            )
        if self.value() == "perpetual":
            return queryset.filter(expires_on__isnull=True)
        return queryset


@admin.register(Licence)
class LicenceAdmin(VisibleAdmin):
    """Studio-wide, like the model registry; its page shows every version and delivery that inherits it (delivery's
    impact panel)."""

    form = LicenceForm
    list_display = ["name", "spdx_id", "commercial_use", "expires_on", "covers", "updated_at"]
    list_filter = ["commercial_use", ExpiryFilter]
    search_fields = ["name", "spdx_id", "attribution"]
    filter_horizontal = ["model_weights"]
    raw_id_fields = ["references", "versions"]
    readonly_fields = ["created_at", "updated_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("model_weights", "references", "versions")

    def has_delete_permission(self, request, obj=None):
        return False  # a delivery's rights check quoted it: change its terms, and the audit trail keeps both

    def save_model(self, request, obj, form, change):
        names = form.changed_data if change else list(form.cleaned_data)
        licence_save(values={name: form.cleaned_data[name] for name in names}, licence=obj, actor=request.user)

    def save_related(self, request, form, formsets, change):
        """The attachments were set by `licence_save`, audited with the rest."""

    @admin.display(description="covers")
    def covers(self, obj):
        counts = [
            (len(obj.model_weights.all()), "model(s)"),
            (len(obj.references.all()), "reference(s)"),
            (len(obj.versions.all()), "imported image(s)"),
        ]
        return ", ".join(f"{count} {what}" for count, what in counts if count) or "nothing yet"


class ReproducibilityFilter(admin.SimpleListFilter):
    title = "reproducibility"
    parameter_name = "reproducible"

    def lookups(self, request, model_admin):
        return [*ReproducibilityCheck.Verdict.choices, ("unchecked", "Never checked")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        annotated = with_reproducibility(queryset)
        if self.value() == "unchecked":
            return annotated.filter(reproducibility__isnull=True)
        return annotated.filter(reproducibility=self.value())


@admin.display(description="rights")
def rights_panel(version: Version) -> str:
    inherited = version_rights(version=version)
    if not inherited:
        return "no licence recorded on anything this version was made from"
    problems = {
        (p["licence"]): p["detail"]
        for p in rights_problems(rights=inherited, brief=version.brief, on=timezone.localdate())
    }
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                item.licence.name,
                item.licence.spdx_id or "—",
                "yes" if item.licence.commercial_use else "no",
                item.licence.expires_on or "perpetual",
                ", ".join(source_label(source) for source in item.sources),
                format_html('<strong style="color:#a40000">{}</strong>', problems[item.licence.pk])
                if item.licence.pk in problems
                else (item.licence.attribution or "—"),
            )
            for item in inherited
        ),
    )
    return format_html(
        "<table><tr><th>licence</th><th>SPDX</th><th>commercial</th><th>expires</th><th>through</th>"
        "<th>attribution / problem</th></tr>{}</table>",
        rows,
    )


@admin.display(description="reproducibility")
def reproducibility_panel(version: Version) -> str:
    check = reproducibility_latest(version=version)
    if check is None:
        return "not checked yet: the watch re-runs final-approved masters"
    if check.verdict == ReproducibilityCheck.Verdict.BIT_IDENTICAL:
        return format_html("reproducible as of {}: bit-identical", f"{check.checked_at:%Y-%m-%d}")
    return format_html(
        "<strong>{}</strong> as of {}{}{}",
        check.get_verdict_display(),
        f"{check.checked_at:%Y-%m-%d}",
        format_html(", perceptual distance {} bits", check.distance) if check.distance is not None else "",
        format_html("; cause: {} ({})", check.get_cause_display(), check.detail) if check.cause else "",
    )


admin_extend(Version, readonly=[rights_panel, reproducibility_panel], filters=[ReproducibilityFilter])
