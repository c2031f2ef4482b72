"""The three roles as Django groups, kept in step with the code on every migrate."""

from __future__ import annotations

from assets.access import STUDIO_PERMISSION

PRODUCER = "Producer"
INTERNAL_REVIEWER = "Internal reviewer"
CLIENT_REVIEWER = "Client reviewer"

_ASSETS = ["client", "campaign", "brief", "reference", "prompttemplate", "prompt", "version", "derivation", "modelweights",
           "blob", "used", "generated", "derivedfile", "clientmembership", "licence", "reproducibilitycheck"]
_GENERATION = ["generationjob", "jobbatch", "reproductionrun", "gridjob", "gridcell"]
_DELIVERY = ["channelpreset", "focalpoint", "delivery", "deliveryitem", "fingerprint"]
_REVIEW = ["rating", "checklistitem", "checklisttick", "reviewround", "roundversion", "decision", "pin", "approval",
           "sharelink", "auditevent", "roundreviewer", "reviewpolicy", "notification", "notificationpreference",
           "webhookendpoint", "webhookdelivery"]
_STUDIO_ONLY = {"auditevent", "notification", "webhookendpoint", "webhookdelivery", "notificationpreference"}

ROLE_PERMISSIONS = {
    PRODUCER: [f"{app}.{action}_{model}" for app, models in (("assets", _ASSETS), ("review", _REVIEW), ("generation", _GENERATION),
                                                              ("delivery", _DELIVERY))
               for model in models for action in ("view", "add", "change")] + ["delivery.override_qc", STUDIO_PERMISSION],
    INTERNAL_REVIEWER: [f"assets.view_{m}" for m in _ASSETS if m != "clientmembership"]
    + ["assets.change_version"]
    + [f"review.view_{m}" for m in _REVIEW if m not in _STUDIO_ONLY]
    + [f"generation.view_{m}" for m in _GENERATION]
    + [f"delivery.view_{m}" for m in _DELIVERY]
    + ["review.add_decision", "review.add_rating", "review.change_rating", "review.add_checklisttick",
       "review.change_checklisttick", STUDIO_PERMISSION],
    CLIENT_REVIEWER: ["assets.view_brief", "assets.view_version", "assets.view_reference", "review.view_reviewround",
                      "review.view_roundversion", "review.view_decision", "review.add_decision", "delivery.view_delivery",
                      "delivery.view_deliveryitem"],
}


def roles_ensure(**kwargs) -> None:
    from django.contrib.auth.models import Group, Permission

    for name, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = []
        for code in codes:
            app_label, codename = code.split(".")
            wanted += list(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)
