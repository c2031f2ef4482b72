"""Review's admin: rounds, the sign-off desk and outreach register from their own modules, imported here; this one
keeps the plain lists of decisions, approvals, ratings and checklists."""

from django.contrib import admin

from assets.admin import ReadOnlyAdmin, VisibleAdmin
from review import (  # noqa: F401 (their admins register on import)
    admin_brief,
    admin_grids,
    admin_outreach,
    admin_signoff,
    admin_stages,
)
from review.admin_rounds import ReviewRoundAdmin
from review.models import Approval, ChecklistItem, ChecklistTick, Decision, Rating

__all__ = ["ReviewRoundAdmin"]


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
