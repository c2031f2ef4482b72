from __future__ import annotations

from django.db import transaction

from assets.errors import ApplicationError
from assets.models import Brief, Version
from assets.services.audit import audit_event_append
from review.models import DEFAULT_CHECKLIST, ChecklistItem, ChecklistTick, Rating
from review.selectors import version_final_approval


def _refuse_if_signed_off(version: Version) -> None:
    if version_final_approval(version=version) is not None:
        raise ApplicationError(
            f"version {version.pk} is approved and can no longer change", extra={"version": version.pk}
        )


def rating_set(*, version: Version, reviewer, stars: int) -> Rating:
    if not isinstance(stars, int) or isinstance(stars, bool) or not 0 <= stars <= 5:
        raise ApplicationError(f"stars must be a whole number from 0 to 5, got {stars!r}")
    with transaction.atomic():
        rating, _ = Rating.objects.update_or_create(version=version, reviewer=reviewer, defaults={"stars": stars})
        audit_event_append(
            kind="rating", actor=reviewer, object_type="version", object_id=version.pk, payload={"stars": stars}
        )
    return rating


def checklist_ensure(*, brief: Brief) -> list[ChecklistItem]:
    """A brief starts with the studio's default checklist; it is edited per brief from there."""
    with transaction.atomic():
        if not ChecklistItem.objects.filter(brief=brief).exists():
            ChecklistItem.objects.bulk_create(
                [ChecklistItem(brief=brief, label=label, position=i) for i, label in enumerate(DEFAULT_CHECKLIST)],
                ignore_conflicts=True,
            )
    return list(ChecklistItem.objects.filter(brief=brief, active=True))


def checklist_item_add(*, brief: Brief, label: str) -> ChecklistItem:
    label = label.strip()
    if not label:
        raise ApplicationError("a checklist item needs a label")
    items = checklist_ensure(brief=brief)
    item, created = ChecklistItem.objects.get_or_create(brief=brief, label=label, defaults={"position": len(items)})
    if not created and not item.active:
        item.active = True
        item.save(update_fields=["active"])
    return item


def checklist_tick(*, version: Version, item: ChecklistItem, checked: bool, reviewer) -> ChecklistTick:
    if item.brief_id != version.brief_id:
        raise ApplicationError(f"checklist item {item.pk} belongs to another brief than version {version.pk}")
    if not item.active:
        raise ApplicationError(f"checklist item {item.label!r} is retired")
    with transaction.atomic():
        tick, _ = ChecklistTick.objects.update_or_create(
            version=version,
            item=item,
            defaults={"checked": bool(checked), "reviewer": reviewer},
        )
        audit_event_append(
            kind="checklist",
            actor=reviewer,
            object_type="version",
            object_id=version.pk,
            payload={"item": item.label, "checked": bool(checked)},
        )
    return tick


def versions_triage(*, versions: list[Version], triage: str, actor) -> int:
    """Set keep / regenerate / reject / maybe later on many versions at once; all or none."""
    if triage not in Version.Triage.values:
        raise ApplicationError(f"unknown triage {triage!r}; choose one of {', '.join(Version.Triage.values)}")
    with transaction.atomic():
        locked = list(Version.objects.select_for_update().filter(pk__in=[v.pk for v in versions]).order_by("pk"))
        for version in locked:
            _refuse_if_signed_off(version)
        for version in locked:
            if version.triage != triage:
                previous = version.triage
                version.triage = triage
                version.save(update_fields=["triage"])
                audit_event_append(
                    kind="triage",
                    actor=actor,
                    object_type="version",
                    object_id=version.pk,
                    payload={"from": previous, "to": triage},
                )
    return len(locked)
