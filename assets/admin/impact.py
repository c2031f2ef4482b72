"""What an input went into: the panel a reference, prompt or model page shows of the versions and deliveries made
with it."""

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from assets.access import (
    versions_visible_to,
)
from assets.admin.visible import VisibleAdmin
from assets.selectors import (
    impact_summary,
)


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
