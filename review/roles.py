"""The three roles as Django groups, derived from the models of the project's apps and their declared access, and
kept in step with the code on every migrate: a model added next month gets its permissions without anyone listing it
here. The apps are read from Django's app registry, never named, so review names no app above it."""

from __future__ import annotations

from pathlib import Path

from assets.access import STUDIO_PERMISSION, access_of

PRODUCER = "Producer"
INTERNAL_REVIEWER = "Internal reviewer"
CLIENT_REVIEWER = "Client reviewer"

# What each role may do beyond reading, by name: the decisions each makes.
_INTERNAL_REVIEWER_WRITES = [
    "assets.change_version",
    "review.add_decision",
    "review.add_rating",
    "review.change_rating",
    "review.add_checklisttick",
    "review.change_checklisttick",
    # A machine-read check is a suggestion: whoever decides may overrule its verdict.
    "assets.change_versioncheck",
]
_CLIENT_REVIEWER_WRITES = ["review.add_decision"]


def role_permissions() -> dict[str, list[str]]:
    """Producers read, add and change every model and hold every permission a model declares of its own (seeing
    every client, overriding a delivery's QC); internal reviewers read the models their access lets reviewers read
    (not the producers' outbox, webhooks, audit trail, memberships or anyone's own settings); client reviewers read
    the models a client may read rows of (assets.access decides which rows)."""

    def codes(model, *actions) -> list[str]:
        return [f"{model._meta.app_label}.{action}_{model._meta.model_name}" for action in actions]

    producer, internal, client = [], [], []
    for model in _project_models():
        access = access_of(model)
        producer += codes(model, "view", "add", "change")
        producer += [f"{model._meta.app_label}.{codename}" for codename, _ in model._meta.permissions]
        if access.reviewers_read and access.owner is None:
            internal += codes(model, "view")
        if access.client_reads is not False:
            client += codes(model, "view")
    return {
        PRODUCER: producer,
        INTERNAL_REVIEWER: internal + _INTERNAL_REVIEWER_WRITES + [STUDIO_PERMISSION],
        CLIENT_REVIEWER: client + _CLIENT_REVIEWER_WRITES,
    }


def _project_models() -> list:
    """The models of the apps at the top of this repository (not Django's own or third-party apps, wherever the
    virtual environment lives)."""
    from django.apps import apps
    from django.conf import settings

    base = Path(settings.BASE_DIR).resolve()
    return [
        model
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == base
        for model in config.get_models()
    ]


def roles_ensure(**kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for name, codes in role_permissions().items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for code in codes:
            app_label, codename = code.split(".")
            wanted += list(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
