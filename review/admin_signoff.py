"""The sign-off desk in the admin: a round's versions with what was decided so far, and actions to decide on them."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from assets.access import is_client_user
from assets.admin import ReadOnlyAdmin, thumbnail
from assets.errors import ApplicationError
from review.models import Decision, RoundVersion
from review.selectors import current_decisions, previous_counterparts, result_label, round_results
from review.services.rounds import decision_record
from review.workspace import guest_counterparts


class DecisionCommentForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, "cols": 60}), required=False)


@admin.register(RoundVersion)
class RoundVersionAdmin(ReadOnlyAdmin):
    """The sign-off desk: select versions of a round and approve, request changes or reject them."""

    list_display = [
        "preview",
        "version_link",
        "review_round",
        "previous_preview",
        "decisions_so_far",
        "result",
        "workspace",
    ]
    list_filter = [("review_round", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["version", "review_round__brief"]
    actions = ["approve", "approve_with_changes", "request_changes", "reject"]

    def has_decide_permission(self, request):
        return request.user.has_perm("review.add_decision")

    @admin.display(description="")
    def preview(self, obj):
        return thumbnail(obj.version.blob_id, 256, 160)

    @admin.display(description="version")
    def version_link(self, obj):
        return format_html(
            '<a href="{}">v{}</a> {}',
            reverse("admin:assets_version_change", args=[obj.version_id]),
            obj.version_id,
            obj.client_name,
        )

    def get_changelist_instance(self, request):
        """What each listed row shows, worked out once per round of the page and for the viewer: a client user reads
        the decisions they may read (no internal ones), the result those add up to, and a "before" only from an
        earlier client round, as a guest of the round does."""
        changelist = super().get_changelist_instance(request)
        items = list(changelist.result_list)
        for_client = is_client_user(user=request.user)
        facts = {}
        for item in items:
            review_round = item.review_round
            if review_round.pk not in facts:
                facts[review_round.pk] = {
                    "decisions": current_decisions(review_round=review_round, for_client=for_client),
                    "results": round_results(review_round=review_round, for_client=for_client),
                    "counterparts": (guest_counterparts if for_client else previous_counterparts)(
                        review_round=review_round
                    ),
                }
            item._facts = facts[review_round.pk]
        changelist.result_list = items
        return changelist

    @staticmethod
    def _facts(obj) -> dict:
        # Rows reach the columns through get_changelist_instance; one that did not shows nothing rather than guess.
        return getattr(obj, "_facts", None) or {"decisions": [], "results": {}, "counterparts": {}}

    @admin.display(description="previous round")
    def previous_preview(self, obj):
        previous = self._facts(obj)["counterparts"].get(obj.version_id)
        return thumbnail(previous.blob_id, 256, 120) if previous and previous.pk != obj.version_id else "—"

    @admin.display(description="decisions")
    def decisions_so_far(self, obj):
        decisions = [d for d in self._facts(obj)["decisions"] if d.version_id == obj.version_id]
        return (
            format_html_join(
                mark_safe("<br>"), "{}: {} {}", ((d.author_name, d.get_verdict_display(), d.comment) for d in decisions)
            )
            or "—"
        )

    @admin.display(description="")
    def workspace(self, obj):
        return format_html(
            '<a href="{}">workspace</a>', reverse("admin:review_reviewround_workspace", args=[obj.review_round_id])
        )

    @admin.display(description="result")
    def result(self, obj):
        return result_label(self._facts(obj)["results"].get(obj.version_id))

    def _decide(self, request, queryset, verdict: str, title: str):
        if request.POST.get("confirm"):
            form = DecisionCommentForm(request.POST)
            if form.is_valid():
                done = 0
                for item in queryset.select_related("review_round", "version"):
                    try:
                        decision_record(
                            review_round=item.review_round,
                            version=item.version,
                            verdict=verdict,
                            comment=form.cleaned_data["comment"],
                            reviewer=request.user,
                        )
                        done += 1
                    except ApplicationError as exc:
                        self.message_user(request, f"v{item.version_id}: {exc.message}", messages.ERROR)
                if done:
                    self.message_user(request, f"{title}: recorded for {done} version(s).", messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "items": queryset,
            "form": DecisionCommentForm(),
            "action": request.POST.get("action"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "review/admin/decision_confirm.html", context)

    @admin.action(description="Approve selected versions", permissions=["decide"])
    def approve(self, request, queryset):
        return self._decide(request, queryset, Decision.Verdict.APPROVE, "Approve")

    @admin.action(description="Approve selected versions with changes (notes go to finishing)", permissions=["decide"])
    def approve_with_changes(self, request, queryset):
        return self._decide(request, queryset, Decision.Verdict.APPROVE_WITH_CHANGES, "Approve with changes")

    @admin.action(description="Request changes on selected versions", permissions=["decide"])
    def request_changes(self, request, queryset):
        return self._decide(request, queryset, Decision.Verdict.CHANGES_REQUESTED, "Request changes")

    @admin.action(description="Reject selected versions", permissions=["decide"])
    def reject(self, request, queryset):
        return self._decide(request, queryset, Decision.Verdict.REJECT, "Reject")
