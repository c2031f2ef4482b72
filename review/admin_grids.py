"""What review adds to generation's grid pages: open a grid's cells as an internal review round."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from assets.admin import admin_extend
from assets.errors import ApplicationError
from generation.models import GridJob
from review.services.rounds import grid_round_open


# The grid page's own permission: whoever may run grids opens them for review.
@admin.action(description="Open the selected grids as internal review rounds", permissions=["grid"])
def open_rounds(modeladmin, request, queryset):
    for grid in queryset:
        try:
            review_round = grid_round_open(grid=grid, opened_by=request.user)
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{grid}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(
                request,
                format_html(
                    '{}: <a href="{}">round {} opened</a>',
                    grid,
                    reverse("admin:review_reviewround_change", args=[review_round.pk]),
                    review_round.number,
                ),
            )


admin_extend(GridJob, actions=[open_rounds])
