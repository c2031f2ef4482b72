"""Export for retouching from the admin: a button on a version's page and an action on the versions list, both
giving the signed PNG (delivery.services.retouch_exports) to producers, as the API's retouch-export does."""

from django.contrib import admin, messages
from django.http import HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from assets.access import is_client_user
from assets.admin import admin_extend
from assets.admin_actions import studio_may
from assets.errors import ApplicationError
from assets.models import Version
from delivery.services.retouch_exports import retouch_export

PERMISSION = "assets.add_credential"


def retouch_panel(obj: Version, *, viewer) -> str:
    """The button, for those who may export; it posts the page's own form (and its CSRF token) to the API."""
    if obj is None or obj.pk is None or is_client_user(user=viewer) or not viewer.has_perm(PERMISSION):
        return "—"
    return format_html(
        '<button type="submit" formaction="{}" formmethod="post" formnovalidate>Export for retouching</button> '
        "<small>a signed, lossless PNG; the retouch brought back (Import images) finds this version by it</small>",
        reverse("version-retouch-export", args=[obj.pk]),
    )


@admin.action(description="Export the selected version for retouching (signed PNG)", permissions=["retouch"])
def export_for_retouching(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, "select exactly one version to export for retouching", messages.ERROR)
        return None
    try:
        exported = retouch_export(version=queryset.get(), user=request.user)
    except ApplicationError as exc:
        modeladmin.message_user(request, exc.message, messages.ERROR)
        return None
    response = HttpResponse(exported.data, content_type=exported.media_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.file_name}"'
    return response


admin_extend(
    Version,
    actions=[export_for_retouching],
    viewer_panels=[(retouch_panel, "retouching")],
    permissions={"retouch": studio_may(PERMISSION)},
)
