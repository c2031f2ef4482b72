"""Reads of the machine-read checks: the studio's own view (callers serve staff only; client users and guests are
never shown them, as the model's access says)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F, Q

from assets.models import VersionCheck, VersionCheckRun


def machine_checks_of(*, version_ids) -> dict[int, list[VersionCheck]]:
    """Each version's checks, in the model's order (kind, then key)."""
    found = defaultdict(list)
    for check in VersionCheck.objects.filter(version_id__in=list(version_ids)).select_related("overruled_by"):
        found[check.version_id].append(check)
    return dict(found)


def machine_checks_pending(*, version_ids) -> set[int]:
    """The versions whose checks were asked for and have not finished since."""
    runs = VersionCheckRun.objects.filter(version_id__in=list(version_ids))
    return set(
        runs.filter(Q(finished_at__isnull=True) | Q(finished_at__lt=F("requested_at"))).values_list(
            "version_id", flat=True
        )
    )
