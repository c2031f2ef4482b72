"""What the staff workspace shows beside a round's versions of their machine-read checks and the brief's checklist.

The checks are suggestions: each checklist item shows the checks that speak to it, by the words of its label, and
the reviewer ticks it or not. Client users and guests are given none of this (workspace_data leaves it out).
"""

from __future__ import annotations

from django.urls import reverse

from review.models import ChecklistItem, ChecklistTick, ReviewRound

# Which kinds of check speak to a checklist item, by words of its label (the default checklist's "Brand colour
# present" gets the brand colours measured against the palette).
CHECKLIST_WORDS = {
    "brand_colours": ("brand colour", "brand color", "palette"),
    "copy": ("copy", "text", "legib", "spelling", "typo"),
    "sharpness": ("sharp", "soft", "focus", "blur", "detail"),
    "halo": ("halo", "fringe", "cut-out", "cutout", "edge"),
    "ppi": ("resolution", "ppi", "print size", "pixel"),
    "gamut": ("gamut", "print colour", "print color", "cmyk"),
}


def checklist_kinds(label: str) -> list[str]:
    text = label.casefold()
    return [kind for kind, words in CHECKLIST_WORDS.items() if any(word in text for word in words)]


def checks_panel(*, review_round: ReviewRound, user, version_ids: list[int]) -> dict:
    """Where the page reads each version's checks and sends an overrule, what the viewer may do, and the brief's
    active checklist with each version's ticks."""
    items = list(ChecklistItem.objects.filter(brief_id=review_round.brief_id, active=True))
    ticks: dict[str, dict[str, bool]] = {}
    for version_id, item_id, checked in ChecklistTick.objects.filter(
        version_id__in=version_ids, item__in=items
    ).values_list("version_id", "item_id", "checked"):
        ticks.setdefault(str(version_id), {})[str(item_id)] = checked
    return {
        "read": reverse("version-checks", args=[0]).replace("/0/", "/{id}/"),
        "overrule": reverse("versioncheck-overrule", args=[0]).replace("/0/", "/{id}/"),
        "tick": reverse("version-checklist", args=[0]).replace("/0/", "/{id}/"),
        "can_overrule": user.has_perm("assets.change_versioncheck"),
        "can_tick": user.has_perm("review.add_checklisttick"),
        "checklist": [{"id": item.pk, "label": item.label, "kinds": checklist_kinds(item.label)} for item in items],
        "ticks": ticks,
    }
