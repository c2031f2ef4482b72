"""Review rounds in the admin: opening one, finding those that need attention, and a round's page with its board,
its invitees and its workspace."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from assets.access import is_client_user, reads_lineage
from assets.admin import VisibleAdmin, viewer_panel
from assets.errors import ApplicationError
from assets.models import Version
from review.admin_board import round_board, sign_off_desk_link
from review.models import ReviewRound
from review.selectors import invitees_by_round, round_invitees, rounds_waiting_on, waiting_on_text
from review.services.invitations import invitation_viewed
from review.services.rounds import round_close, round_open
from review.workspace import workspace_data


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
        return sign_off_desk_link(review_round=obj)

    def board(self, obj, *, for_client: bool, lineage: bool | None = None):
        """lineage left out: the studio's yes, a client's no (assets.access.reads_lineage decides for a viewer)."""
        lineage = not for_client if lineage is None else lineage
        return round_board(review_round=obj, for_client=for_client, lineage=lineage)

    def has_close_permission(self, request):
        return request.user.has_perm("review.change_reviewround")

    @admin.action(description="Close selected rounds", permissions=["close"])
    def close_rounds(self, request, queryset):
        for review_round in queryset:
            try:
                round_close(review_round=review_round, closed_by=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
