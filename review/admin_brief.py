"""What review adds to the core's brief and version pages: the approval cycles panel and triage actions."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from assets.admin import admin_extend
from assets.errors import ApplicationError
from assets.models import Brief, Version
from review.charts import cycle_chart_svg
from review.selectors import brief_cycle_stats
from review.services.curation import versions_triage


def approval_cycles_panel(*, brief, viewer) -> str:
    """The brief page also shows its approval cycles: rounds, waiting time and GPU-seconds per phase, as the viewer
    may see them (a client user: client-stage rounds, no studio names, no other guests' addresses)."""
    if not brief.pk:
        return "—"
    stats = brief_cycle_stats(brief=brief, viewer=viewer)
    final = (
        f"final approval in round {stats['rounds_to_final_approval']}"
        if stats["rounds_to_final_approval"]
        else "no final approval yet"
    )
    bottleneck = stats["bottleneck"]
    waiting = (
        f" · now waiting longest on {bottleneck['reviewer']} ({bottleneck['hours']} h, round {bottleneck['round']})"
        if bottleneck
        else ""
    )
    open_rounds = format_html_join(
        "",
        '<li>round {} ({}): waiting on {} · <a href="{}">workspace</a></li>',
        (
            (
                r["number"],
                r["stage"],
                ", ".join(r["waiting_on"]) or "nobody",
                reverse("admin:review_reviewround_workspace", args=[r["round"]]),
            )
            for r in stats["rounds"]
            if r["status"] == "open"
        ),
    )
    return format_html(
        '<p>{} round(s) · {} · {} h waiting on the client{} · <a href="{}?as=csv">CSV</a></p><ul>{}</ul>{}',
        stats["cycles"],
        final,
        stats["hours_waiting_on_client"],
        waiting,
        reverse("brief-cycles", args=[brief.pk]),
        open_rounds,
        mark_safe(cycle_chart_svg(stats=stats)),
    )


def _approval_cycles_field(request):
    """A read-only field is called with the brief alone, so the panel is bound to the request's user here, once per
    request: the admin asks for its fields more than once and must get the same one back each time."""
    if not hasattr(request, "_seed_cycles_panel"):

        def approval_cycles(brief):
            return approval_cycles_panel(brief=brief, viewer=request.user)

        approval_cycles.short_description = "approval cycles"
        request._seed_cycles_panel = approval_cycles
    return request._seed_cycles_panel


def _with_approval_cycles(get_readonly_fields):
    def readonly_fields(request, obj=None):
        fields = list(get_readonly_fields(request, obj))
        return [*fields, _approval_cycles_field(request)] if obj is not None else fields

    return readonly_fields


def _triage_action(triage: str, description: str):
    @admin.action(description=description, permissions=["change"])
    def triage_versions(modeladmin, request, queryset):
        try:
            count = versions_triage(versions=list(queryset), triage=triage, actor=request.user)
        except ApplicationError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
        else:
            modeladmin.message_user(
                request, f"{count} version(s) triaged as {Version.Triage(triage).label.lower()}.", messages.SUCCESS
            )

    triage_versions.__name__ = f"triage_{triage}"
    return triage_versions


# The panel depends on who looks, which admin_extend's read-only panels (called with the brief alone) cannot know.
_brief_admin = admin.site._registry[Brief]
_brief_admin.get_readonly_fields = _with_approval_cycles(_brief_admin.get_readonly_fields)
admin_extend(
    Version,
    actions=[
        _triage_action(Version.Triage.KEEP, "Triage: keep"),
        _triage_action(Version.Triage.REGENERATE, "Triage: regenerate"),
        _triage_action(Version.Triage.REJECT, "Triage: reject"),
        _triage_action(Version.Triage.MAYBE_LATER, "Triage: maybe later (reusable by other briefs)"),
    ],
)
