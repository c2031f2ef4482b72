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


def approval_cycles_panel(brief, *, viewer) -> str:
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
    stages = format_html_join(
        "",
        "<li>{}: {} round(s), {} h in stage, {} overdue{}</li>",
        (
            (
                s["stage"],
                s["rounds"],
                s["hours"],
                s["overdue"],
                f" · waiting on {', '.join(s['waiting_on'])}" if s["waiting_on"] else "",
            )
            for s in stats["stages"]
        ),
    )
    return format_html(
        '<p>{} round(s) · {} · {} h waiting on the client{} · <a href="{}?as=csv">CSV</a></p><ul>{}</ul>'
        "<p>Per stage:</p><ul>{}</ul>{}",
        stats["cycles"],
        final,
        stats["hours_waiting_on_client"],
        waiting,
        reverse("brief-cycles", args=[brief.pk]),
        open_rounds,
        stages,
        mark_safe(cycle_chart_svg(stats=stats)),
    )


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


admin_extend(Brief, viewer_panels=[(approval_cycles_panel, "approval cycles")])
admin_extend(
    Version,
    actions=[
        _triage_action(Version.Triage.KEEP, "Triage: keep"),
        _triage_action(Version.Triage.REGENERATE, "Triage: regenerate"),
        _triage_action(Version.Triage.REJECT, "Triage: reject"),
        _triage_action(Version.Triage.MAYBE_LATER, "Triage: maybe later (reusable by other briefs)"),
    ],
)
