"""The three roles as Django groups, derived from the models of the four apps and their declared access, and kept in
step with the code on every migrate: a model added next month gets its permissions without anyone listing it here."""

from __future__ import annotations

from assets.access import STUDIO_PERMISSION, access_of

PRODUCER = "Producer"
INTERNAL_REVIEWER = "Internal reviewer"
CLIENT_REVIEWER = "Client reviewer"

APPS = ("assets", "review", "generation", "delivery")

# What each role may do beyond reading, by name: the decisions each makes.
_INTERNAL_REVIEWER_WRITES = [
    "assets.change_version",
    "review.add_decision",
    "review.add_rating",
    "review.change_rating",
    "review.add_checklisttick",
    "review.change_checklisttick",
]
_CLIENT_REVIEWER_WRITES = ["review.add_decision"]


def role_permissions() -> dict[str, list[str]]:
    """Producers read, add and change every model; internal reviewers read the models their access lets reviewers
    read (not the producers' outbox, webhooks, audit trail, memberships or anyone's own settings); client reviewers
    read the models a client may read rows of (assets.access decides which rows)."""
    from django.apps import apps

    def codes(model, *actions) -> list[str]:
        return [f"{model._meta.app_label}.{action}_{model._meta.model_name}" for action in actions]

    producer, internal, client = [], [], []
    for app in APPS:
        for model in apps.get_app_config(app).get_models():
            access = access_of(model)
            producer += codes(model, "view", "add", "change")
            if access.reviewers_read and access.owner is None:
                internal += codes(model, "view")
            if access.client_reads is not False:
                client += codes(model, "view")
    return {
        PRODUCER: producer + ["delivery.override_qc", STUDIO_PERMISSION],
        INTERNAL_REVIEWER: internal + _INTERNAL_REVIEWER_WRITES + [STUDIO_PERMISSION],
        CLIENT_REVIEWER: client + _CLIENT_REVIEWER_WRITES,
    }


def roles_ensure(**kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for name, codes in role_permissions().items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for code in codes:
            app_label, codename = code.split(".")
            wanted += list(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
