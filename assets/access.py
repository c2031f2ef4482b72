"""Who sees what: one rule, declared once per model and applied by every queryset that serves people.

Each model of the four apps declares `access = Access(...)`: the path from its rows to their client, and what a
client-side user may read of their own clients' rows. `visible()` reads that declaration for the API's querysets,
serializers' related fields, admin lists, admin form fields and inlines alike; a model without one is refused
rather than shown.

The viewers:
- studio staff (superusers and holders of the studio permission; the Producer and Internal reviewer groups carry
  it) see every client, unless they hold client memberships;
- a scoped producer (studio staff with memberships) sees everything of those clients and nothing of the others;
- a client reviewer (memberships, no studio permission) sees of their clients only what the model lets clients
  read: the brief, its references and versions, client-round decisions and notes, deliveries; never prompts,
  jobs, derivations, internal notes or curation, unless the studio switched lineage sharing on for that client;
- anyone else sees nothing: a staff account whose last membership was removed, or whose client was deleted, does
  not fall back to seeing everything.
Guests of a share link are not users: the share pages serve their one round and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet

STUDIO_PERMISSION = "assets.see_all_clients"
# `client_reads` value for the lineage itself (prompts, jobs, derivations): readable by a client only where the
# studio shares lineage with that client.
LINEAGE = "lineage"


@dataclass(frozen=True)
class Access:
    """One model's visibility.

    client: the lookup from a row to its client's id; None for studio rows that belong to no client.
    client_reads: what a client reviewer reads of their clients' rows: True (all), False (none), a Q over the
        model's own fields, or LINEAGE.
    scoped_reads: for studio rows (client None, or no client at the end of `client`), whether a scoped producer
        reads them (the model registry: yes, but a LoRA trained on a client's images is that client's; the audit
        trail, which spans every client: no).
    everyone_reads: rows holding no client data that every signed-in user may read (channel presets).
    owner: the lookup to the user a row belongs to (preferences): each user reads their own, studio staff all.
    studio_wide_writes: rows that span clients (a client itself, memberships, the model registry, licences,
        presets): only studio staff bound to no client add or change them.
    reviewers_read: whether internal reviewers read the model at all (the producers' outbox, webhooks, audit trail
        and memberships: no); the roles' permissions are derived from this (review.roles).
    """

    client: str | None = None
    client_reads: bool | Q | str = False
    scoped_reads: bool = False
    everyone_reads: bool = False
    owner: str | None = None
    studio_wide_writes: bool = False
    reviewers_read: bool = True


@dataclass(frozen=True)
class Viewer:
    studio: bool
    clients: frozenset[int] | None  # None: every client

    @property
    def scoped(self) -> bool:
        return self.clients is not None


NOBODY = Viewer(studio=False, clients=frozenset())


def viewer_of(*, user) -> Viewer:
    if user is None or not user.is_authenticated or not user.is_active:
        return NOBODY
    cached = getattr(user, "_seed_viewer", None)
    if cached is not None:
        return cached
    from assets.models import ClientMembership

    studio = user.is_superuser or user.has_perm(STUDIO_PERMISSION)
    memberships = frozenset(ClientMembership.objects.filter(user=user).values_list("client_id", flat=True))
    viewer = Viewer(studio=studio, clients=memberships if memberships or not studio else None)
    user._seed_viewer = viewer  # one lookup per request: the user object lives as long as the request
    return viewer


def access_of(model) -> Access:
    access = getattr(model, "access", None)
    if not isinstance(access, Access):
        raise ImproperlyConfigured(f"{model._meta.label} declares no `access`: nobody may see its rows until it does")
    return access


def visible(queryset: QuerySet, *, user) -> QuerySet:
    """The rows of `queryset` that `user` may read, by the model's declared access (users: whom they may pick)."""
    if queryset.model is get_user_model():
        return queryset.filter(pk__in=users_visible_to(user=user).values("pk"))
    access = access_of(queryset.model)
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    viewer = viewer_of(user=user)
    if access.everyone_reads:
        return queryset
    if access.owner is not None:
        if viewer.studio and not viewer.scoped:
            return queryset
        return queryset.filter(**{access.owner: user})
    if access.client is None:
        return queryset if viewer.studio and (not viewer.scoped or access.scoped_reads) else queryset.none()
    if not viewer.studio:
        return client_facing(queryset.filter(**{f"{access.client}__in": viewer.clients}))
    if viewer.scoped:
        theirs = Q(**{f"{access.client}__in": viewer.clients})
        if access.scoped_reads:
            theirs |= Q(**{f"{access.client}__isnull": True})
        return queryset.filter(theirs)
    return queryset


def client_facing(queryset: QuerySet) -> QuerySet:
    """The rows of `queryset` of a kind a client reads (the model's client_reads), whichever client they belong to:
    what a client reviewer or a round's guests may be shown, and what only the studio may."""
    access = access_of(queryset.model)
    if access.client_reads is True:
        return queryset
    if access.client_reads is False:
        return queryset.none()
    if access.client_reads == LINEAGE:
        return queryset.filter(**{f"{access.client}__shares_lineage": True})
    return queryset.filter(access.client_reads)


def reads_lineage(*, user, brief) -> bool:
    """Whether the user may read how a brief's versions were made (the graph, its prompts, models, licences and
    re-runs): studio staff who see the brief, and a client's reviewers where the studio shares the lineage (LINEAGE)."""
    from assets.models import Brief

    if not visible(Brief.objects.filter(pk=brief.pk), user=user).exists():
        return False
    return viewer_of(user=user).studio or brief.campaign.client.shares_lineage


def versions_with_readable_lineage(versions: QuerySet, *, user) -> QuerySet:
    """reads_lineage for a queryset of versions the user already sees: a lookup by recipe (seed, sampler, model,
    LoRA) answers only over these, so a client without lineage sharing cannot learn a recipe by guessing it."""
    if viewer_of(user=user).studio:
        return versions
    return versions.filter(brief__campaign__client__shares_lineage=True)


def users_visible_to(*, user) -> QuerySet:
    """Whom a user may pick as a reviewer or member: every user for unscoped studio staff; members of their own
    clients for a scoped producer; themselves otherwise."""
    users = get_user_model().objects.all()
    viewer = viewer_of(user=user)
    if viewer.studio and not viewer.scoped:
        return users
    if viewer.studio:
        return users.filter(Q(client_memberships__client__in=viewer.clients) | Q(pk=user.pk)).distinct()
    return users.filter(pk=user.pk) if user is not None and user.is_authenticated else users.none()


def client_scope(*, user) -> set[int] | None:
    """Client ids the user may see; None means every client."""
    clients = viewer_of(user=user).clients
    return None if clients is None else set(clients)


def is_client_user(*, user) -> bool:
    """Signed in but not studio staff: refused every studio-side action, whatever permissions the account holds."""
    return user.is_authenticated and not viewer_of(user=user).studio


def may_write(model, *, user) -> bool:
    """Whether the model's access lets `user` add or change its rows at all (their permissions decide the rest):
    their own rows for everyone, rows spanning clients for studio-wide staff, the rest for studio staff."""
    access = access_of(model)
    if access.owner is not None:
        return True
    return is_studio_wide(user=user) if access.studio_wide_writes else not is_client_user(user=user)


def is_studio_wide(*, user) -> bool:
    """Studio staff bound to no client: the only ones who manage clients' memberships and studio-wide settings."""
    viewer = viewer_of(user=user)
    return viewer.studio and not viewer.scoped


def client_users_among(*, users: set) -> set[int]:
    """is_client_user for many users at once (two queries): the ids of those who are not studio staff."""
    ids = [user.pk for user in users if user.is_authenticated and user.is_active]
    if not ids:
        return {user.pk for user in users}
    app_label, codename = STUDIO_PERMISSION.split(".")
    studio = set(
        get_user_model()
        .objects.filter(pk__in=ids)
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label)
            | Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label)
        )
        .values_list("pk", flat=True)
    )
    return {user.pk for user in users if user.pk not in studio}


def briefs_visible_to(*, user) -> QuerySet:
    from assets.models import Brief

    return visible(Brief.objects.all(), user=user)


def versions_visible_to(*, user) -> QuerySet:
    from assets.models import Version

    return visible(Version.objects.all(), user=user)


def blob_visible_to(*, user, blob) -> bool:
    """An image is visible through a version or reference of a brief the user may see."""
    from assets.models import Reference, Version

    return (
        visible(Version.objects.filter(blob=blob), user=user).exists()
        or visible(Reference.objects.filter(blob=blob), user=user).exists()
    )
