"""What every review endpoint checks first: a permission, and that the version or brief it names is visible."""

from django.shortcuts import get_object_or_404
from rest_framework.exceptions import PermissionDenied

from assets.access import briefs_visible_to, versions_visible_to
from assets.models import Brief, Version


def permission_require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"you need the {permission} permission for this")


def visible_version(request, pk) -> Version:
    return get_object_or_404(versions_visible_to(user=request.user), pk=pk)


def visible_brief(request, pk) -> Brief:
    return get_object_or_404(briefs_visible_to(user=request.user), pk=pk)
