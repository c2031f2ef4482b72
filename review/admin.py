from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from assets.access import is_client_user, reads_lineage
from assets.admin import ReadOnlyAdmin, VisibleAdmin, thumbnail, viewer_panel
from assets.errors import ApplicationError
from assets.models import Version
from review import admin_brief, admin_grids, admin_outreach  # noqa: F401 (their admins register on import)
from review.models import (
    Approval,
    ChecklistItem,
    ChecklistTick,
    Decision,
    Rating,
    ReviewRound,
    RoundVersion,
)
from review.selectors import (
    current_decisions,
    invitees_by_round,
    note_state,
    open_notes_by_version,
    previous_counterparts,
    recipe_diff,
    result_label,
    round_invitees,
    round_results,
    rounds_waiting_on,
    waiting_on_text,
)
from review.services.invitations import invitation_viewed
from review.services.rounds import decision_record, round_close, round_open
from review.workspace import guest_counterparts, workspace_data


def _pinned_preview(version, decisions, size=768, display=420) -> str:
    pins = format_html_join(
        "",
        '<div title="{}: {}" style="position:absolute;left:{}%;top:{}%;width:{}%;height:{}%;'
        "min-width:8px;min-height:8px;"
        'border:2px solid #ff2c54;background:rgba(255,44,84,.15)"></div>',
        (
            (d.author_name, pin.note, pin.x * 100, pin.y * 100, pin.w * 100, pin.h * 100)
            for d in decisions
            if d.version_id == version.pk
            for pin in d.pins.all()
        ),
    )
    return format_html(
        '<div style="position:relative;display:inline-block">{}{}</div>',
        thumbnail(version.blob_id, size, display),
        pins,
    )


def _diff_table(rows) -> str:
    if not rows:
        return "same recipe"
    body = format_html_join(
        "", "<tr><th>{}</th><td>{}</td><td>{}</td></tr>", ((r["field"], r["before"], r["after"]) for r in rows)
    )
    return format_html("<table><tr><th>changed</th><th>before</th><th>after</th></tr>{}</table>", body)


class RoundAddForm(forms.ModelForm):
    round_versions = forms.ModelMultipleChoiceField(queryset=Version.objects.select_related("brief"), label="Versions")
    reviewers = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        label="Deciders",
        help_text="They decide; the round closes under the rule below",
    )
    commenters = forms.ModelMultipleChoiceField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        help_text="They follow and comment, but do not decide",
    )
    rule = forms.ChoiceField(
        choices=ReviewRound.Rule.choices,
        required=False,
        initial=ReviewRound.Rule.ALL,
        help_text="How deciders' verdicts roll up (default: all deciders)",
    )
    guests = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Client reviewers without an account, one e-mail address per line (client rounds): "
        "each gets a share link by e-mail",
    )

    class Meta:
        model = ReviewRound
        fields = ["brief", "stage", "title", "deadline", "rule"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.instance = round_open(
                brief=cleaned["brief"],
                versions=list(cleaned["round_versions"]),
                stage=cleaned["stage"],
                opened_by=self.current_user,
                reviewers=list(cleaned["reviewers"]),
                commenters=list(cleaned["commenters"]),
                guests=cleaned.get("guests", "").split(),
                rule=cleaned.get("rule") or ReviewRound.Rule.ALL,
                title=cleaned.get("title", ""),
                deadline=cleaned.get("deadline"),
            )
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from exc
        return cleaned


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("mine", "waiting on me"), ("overdue", "overdue"), ("week", "due this week")]

    def queryset(self, request, queryset):
        now = timezone.now()
        open_rounds = queryset.filter(status=ReviewRound.Status.OPEN)
        if self.value() == "mine":
            return open_rounds.filter(pk__in=rounds_waiting_on(user=request.user))
        if self.value() == "overdue":
            return open_rounds.filter(deadline__lt=now)
        if self.value() == "week":
            return open_rounds.filter(deadline__gte=now, deadline__lt=now + timedelta(days=7))
        return queryset


@admin.register(ReviewRound)
class ReviewRoundAdmin(VisibleAdmin):
    list_display = ["__str__", "stage", "status", "deadline", "waiting_on", "workspace_link", "sign_off_link"]
    list_filter = [AttentionFilter, "stage", "status", ("brief", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["brief__title", "title"]
    actions = ["close_rounds"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = RoundAddForm
            form = super().get_form(request, obj, **kwargs)
            form.current_user = request.user
            return form
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [
                "brief",
                "stage",
                "title",
                "deadline",
                "round_versions",
                "reviewers",
                "commenters",
                "guests",
                "rule",
            ]
        return [
            self._board_for(request),
            "workspace_link",
            viewer_panel(request, self.invitees, description="who we wait on"),
            "brief",
            "number",
            "stage",
            "status",
            "rule",
            "title",
            "previous",
            "deadline",
            "opened_by",
            "opened_at",
            "closed_by",
            "closed_at",
        ]

    def get_urls(self):
        workspace = path(
            "<path:object_id>/workspace/",
            self.admin_site.admin_view(self.workspace_view),
            name="review_reviewround_workspace",
        )
        return [workspace, *super().get_urls()]

    def workspace_view(self, request, object_id):
        """Inspect, compare, mark up and discuss a round's versions, and decide, with the keyboard or buttons."""
        review_round = self.get_object(request, object_id)
        if review_round is None:
            raise Http404(f"review round {object_id} does not exist")
        invitation_viewed(review_round=review_round, user=request.user)
        data = workspace_data(
            review_round=review_round, user=request.user, for_client=is_client_user(user=request.user)
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Workspace · {review_round}",
            "opts": self.model._meta,
            "original": review_round,
            "workspace": data,
            "can_decide": request.user.has_perm("review.add_decision"),
            "can_triage": request.user.has_perm("assets.change_version"),
            "can_fix": request.user.has_perm("generation.add_generationjob") and not is_client_user(user=request.user),
        }
        return TemplateResponse(request, "review/workspace.html", context)

    @admin.display(description="workspace")
    def workspace_link(self, obj):
        return format_html(
            '<a href="{}">open the workspace</a>', reverse("admin:review_reviewround_workspace", args=[obj.pk])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        review_round = self.get_object(request, object_id)
        if review_round is not None:
            invitation_viewed(review_round=review_round, user=request.user)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_changelist_instance(self, request):
        """Whom each listed round waits on, worked out for the page at once (not a round at a time)."""
        changelist = super().get_changelist_instance(request)
        rounds = list(changelist.result_list)
        invitees = invitees_by_round(rounds=rounds, viewer=request.user)
        for review_round in rounds:
            review_round._invitees = invitees[review_round.pk]
        changelist.result_list = rounds
        return changelist

    @admin.display(description="waiting on")
    def waiting_on(self, obj):
        """Read from the names the changelist worked out for its viewer (get_changelist_instance)."""
        invitees = getattr(obj, "_invitees", None)
        if obj.status == ReviewRound.Status.CLOSED or invitees is None:
            return "—"
        return waiting_on_text(invitees).removeprefix("waiting on: ")

    def invitees(self, obj, *, viewer):
        invitees = round_invitees(review_round=obj, viewer=viewer)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><b>{}</b></td><td>{}</td><td>{}</td></tr>",
            (
                (
                    i.name,
                    i.kind,
                    "decides" if i.decides else "follows",
                    i.state,
                    f"{i.invited_at:%Y-%m-%d %H:%M}",
                    f"{i.viewed_at:%Y-%m-%d %H:%M}" if i.viewed_at else "not opened yet",
                )
                for i in invitees
            ),
        )
        return format_html(
            "<p>{}</p><table><tr><th>invitee</th><th></th><th>role</th><th>state</th><th>invited</th>"
            "<th>first opened</th></tr>{}</table>",
            waiting_on_text(invitees),
            rows,
        )

    def _board_for(self, request):
        """The board bound to the request's user: a client user's leaves internal notes and recipes out."""
        return viewer_panel(request, self._board_as, description="versions, decisions and what changed")

    def _board_as(self, obj, *, viewer):
        return self.board(
            obj, for_client=is_client_user(user=viewer), lineage=reads_lineage(user=viewer, brief=obj.brief)
        )

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    def has_change_permission(self, request, obj=None):
        return False  # a round changes only through decisions and closing

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Rounds are opened by the round_open service in the add form; nothing else is saved here."""

    def save_related(self, request, form, formsets, change):
        """Reviewers were set by round_open."""

    @admin.display(description="sign off")
    def sign_off_link(self, obj):
        url = reverse("admin:review_roundversion_changelist") + f"?review_round__id__exact={obj.pk}"
        return format_html('<a href="{}">open the sign-off desk</a>', url)

    def board(self, obj, *, for_client: bool, lineage: bool | None = None):
        """lineage: whether the viewer may read how versions were made (assets.access.reads_lineage; left out: the
        studio's yes, a client's no); without it the board leaves the recipe diffs out. A client user's board shows
        what a guest of the round is shown: client-visible decisions and notes, the result they add up to, and a
        "before" only from an earlier client round."""
        lineage = not for_client if lineage is None else lineage
        decisions = current_decisions(review_round=obj, for_client=for_client)
        results = round_results(review_round=obj, for_client=for_client)
        counterparts = guest_counterparts(review_round=obj) if for_client else previous_counterparts(review_round=obj)
        open_notes = open_notes_by_version(review_round=obj, for_client=for_client)
        rows = []
        for item in obj.items.select_related("version"):
            version = item.version
            previous = counterparts.get(version.pk)
            before = _pinned_preview(previous, [], 256, 220) if previous and previous.pk != version.pk else "—"
            notes = format_html_join(
                "",
                "<li><b>{}</b>: {} {}</li>",
                ((d.author_name, d.get_verdict_display(), d.comment) for d in decisions if d.version_id == version.pk),
            )
            diff = (
                _diff_table(recipe_diff(before=previous, after=version))
                if lineage and previous and previous.pk != version.pk
                else ""
            )
            threads = format_html_join(
                "",
                "<li>{}{} — {}: {}</li>",
                (
                    (
                        "" if note.version_id == version.pk else f"from v{note.version_id} · ",
                        note_state(note),
                        note.author_name,
                        note.text[:200],
                    )
                    for note in open_notes.get(version.pk, [])
                ),
            )
            if threads:
                notes = format_html("{}<li><i>open notes</i><ul>{}</ul></li>", notes, threads)
            rows.append(
                format_html(
                    "<tr><td>{}<br>v{} · {}</td><td>{}<br>{}</td><td><b>{}</b><ul>{}</ul>{}</td></tr>",
                    _pinned_preview(version, decisions),
                    version.pk,
                    item.client_name or "",
                    before,
                    f"v{previous.pk} (round {obj.previous.number})" if previous and previous.pk != version.pk else "",
                    result_label(results.get(version.pk)),
                    notes,
                    diff,
                )
            )
        sheet = reverse("reviewround-contact-sheet", args=[obj.pk])
        return format_html(
            '<p>{} · contact sheet <a href="{}?as=png">PNG</a> / <a href="{}?as=pdf">PDF</a></p>'
            '<table class="seed-board"><tr><th>this round</th><th>previous round</th><th>decisions</th>'
            "</tr>{}</table>",
            self.sign_off_link(obj),
            sheet,
            sheet,
            mark_safe("".join(rows)),
        )

    def has_close_permission(self, request):
        return request.user.has_perm("review.change_reviewround")

    @admin.action(description="Close selected rounds", permissions=["close"])
    def close_rounds(self, request, queryset):
        for review_round in queryset:
            try:
                round_close(review_round=review_round, closed_by=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)


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


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["id", "version", "review_round", "author_name", "verdict", "comment", "internal", "created_at"]
    list_filter = ["verdict", "internal"]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    list_display = ["version", "review_round", "final", "sha256", "approved_by", "created_at"]
    list_filter = ["final"]


@admin.register(Rating)
class RatingAdmin(VisibleAdmin):
    list_display = ["version", "reviewer", "stars", "updated_at"]
    list_filter = ["stars"]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(VisibleAdmin):
    list_display = ["label", "brief", "position", "active"]
    list_filter = ["active", ("brief", admin.RelatedOnlyFieldListFilter)]


@admin.register(ChecklistTick)
class ChecklistTickAdmin(VisibleAdmin):
    list_display = ["version", "item", "checked", "reviewer", "updated_at"]
