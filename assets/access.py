"""Who sees what. Everything hangs under a brief, so a scope is one join from any row to its client.

Seeing every client is a role given explicitly: superusers, and holders of the studio permission
(the Producer and Internal reviewer groups carry it). A user with client memberships sees only those
clients, whatever else they are. Anyone else sees nothing: a staff account whose last membership
was removed, or whose client was deleted, does not fall back to seeing everything.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from assets.models import Blob, Brief, ClientMembership, Version

STUDIO_PERMISSION = "assets.see_all_clients"


def client_scope(*, user) -> set[int] | None:
    """Client ids the user may see; None means every client."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    memberships = set(ClientMembership.objects.filter(user=user).values_list("client_id", flat=True))
    if memberships:
        return memberships
    if user.is_superuser or user.has_perm(STUDIO_PERMISSION):
        return None
    return set()


def is_client_user(*, user) -> bool:
    """Signed in but not studio staff: refused every studio-side action, whatever permissions the account holds."""
    return user.is_authenticated and client_scope(user=user) is not None


def client_users_among(*, users: set) -> set[int]:
    """is_client_user for many users at once (two queries): the ids of those who are client users, by the same rule
    as client_scope (memberships, else superuser or the studio permission, else nothing)."""
    ids = [user.pk for user in users if user.is_authenticated and user.is_active]
    if not ids:
        return {user.pk for user in users}
    members = set(ClientMembership.objects.filter(user__in=ids).values_list("user_id", flat=True))
    app_label, codename = STUDIO_PERMISSION.split(".")
    studio = set(get_user_model().objects.filter(pk__in=ids).filter(
        Q(is_superuser=True) | Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label)
        | Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label))
        .values_list("pk", flat=True))
    return {user.pk for user in users if user.pk in members or user.pk not in studio}


def scoped(queryset: QuerySet, *, user, client_path: str) -> QuerySet:
    """Restrict any queryset to the user's clients; `client_path` leads from the model to its client id."""
    scope = client_scope(user=user)
    if scope is None:
        return queryset
    return queryset.filter(**{f"{client_path}__in": scope})


def briefs_visible_to(*, user) -> QuerySet[Brief]:
    return scoped(Brief.objects.all(), user=user, client_path="campaign__client")


def versions_visible_to(*, user) -> QuerySet[Version]:
    return scoped(Version.objects.all(), user=user, client_path="brief__campaign__client")


def blob_visible_to(*, user, blob: Blob) -> bool:
    """An image is visible through a version or reference of a brief the user may see."""
    briefs = briefs_visible_to(user=user)
    return blob.versions.filter(brief__in=briefs).exists() or blob.references.filter(brief__in=briefs).exists()
