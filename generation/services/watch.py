"""The reproducibility watch: re-run final-approved masters before anyone needs them, and record what drifted.

Each run re-checks, oldest check first, every master whose last check is older than the cadence or was made
under another environment, and stops before the night's budget of worker seconds would be overrun (each check
is estimated by its last one, or by the recorded run times of its chain). A Postgres advisory lock keeps two
runs from checking the same masters at once. The review app runs the watch (nightly, and when a worker starts
under a new environment: new torch, diffusers, driver …) and tells the producers what drifted.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import ReproducibilityCheck, Version

logger = logging.getLogger(__name__)

_LOCK_KEY = int.from_bytes(hashlib.sha256(b"seed reproducibility watch").digest()[:8], "big", signed=True)
# A check with nothing to estimate from (no run times recorded) is taken to cost this much.
_UNKNOWN_COST_S = 60.0


def current_environment() -> tuple[dict, str]:
    from generation.environment import environment_digest, environment_fingerprint
    from generation.loader import process_cache

    placement = process_cache().placement
    fingerprint = environment_fingerprint(device=placement.device, dtype=placement.dtype_name)
    return fingerprint, environment_digest(fingerprint)


@dataclass
class WatchPlan:
    due: list[tuple[Version, float, str]] = field(default_factory=list)  # (master, estimated seconds, trigger)
    skipped: int = 0  # due, but over the budget: first in line next night


def watch_plan(*, digest: str, budget_s: float, now=None, whole_budget_s: float | None = None) -> WatchPlan:
    """The masters to check now, oldest check first, as many as the budget's estimates allow; the first one is taken
    even past `budget_s` (a slice of the night) while it fits `whole_budget_s`, so no master is too long to check."""
    whole = budget_s if whole_budget_s is None else whole_budget_s
    now = now or timezone.now()
    latest = ReproducibilityCheck.objects.filter(version=OuterRef("pk")).order_by("-checked_at", "-id")
    masters = (
        Version.objects.filter(status=Version.Status.APPROVED)
        .annotate(
            last_checked=Subquery(latest.values("checked_at")[:1]),
            last_digest=Subquery(latest.values("environment_digest")[:1]),
            last_cost=Subquery(latest.values("wall_seconds")[:1]),
            recorded_cost=F("generated_by__derivation__wall_seconds"),
        )
        .filter(
            Q(last_checked__isnull=True)
            | Q(last_checked__lt=now - timedelta(days=settings.SEED_WATCH_CADENCE_DAYS))
            | ~Q(last_digest=digest)
        )
        .order_by(F("last_checked").asc(nulls_first=True), "pk")
    )
    plan, committed = WatchPlan(), 0.0
    for master in masters:
        estimate = master.last_cost or master.recorded_cost or _UNKNOWN_COST_S
        if committed + estimate > budget_s and (plan.due or estimate > whole):
            plan.skipped += 1
            continue
        trigger = (
            ReproducibilityCheck.Trigger.ENVIRONMENT
            if master.last_digest and master.last_digest != digest
            else ReproducibilityCheck.Trigger.SCHEDULE
        )
        plan.due.append((master, estimate, trigger))
        committed += estimate
    return plan


def reproducibility_check(
    *, version: Version, trigger: str, digest: str | None = None, on_drift: Callable | None = None
) -> ReproducibilityCheck:
    """Re-run one version's chain and record what came out, or why it could not be re-run. `on_drift(check)` runs
    in the transaction that records a check that did not come out bit-identical: what the caller makes of a drift
    is kept, or lost, with the check itself."""
    if digest is None:
        digest = current_environment()[1]
    started = time.monotonic()
    values = _rerun_values(version)
    with transaction.atomic():
        check = ReproducibilityCheck.objects.create(
            version=version,
            trigger=trigger,
            environment_digest=digest,
            wall_seconds=round(time.monotonic() - started, 3),
            **values,
        )
        if check.verdict != ReproducibilityCheck.Verdict.BIT_IDENTICAL and on_drift is not None:
            on_drift(check)
    return check


def _rerun_values(version: Version) -> dict:
    """The check's verdict and what explains it, from re-running the version's chain or from why that failed."""
    from generation.reproduce import version_reproduce

    try:
        reproduction = version_reproduce(version=version)
    except ApplicationError as exc:
        code = exc.extra.get("code", "")
        cause = (
            ReproducibilityCheck.Cause.MISSING_WEIGHTS
            if code in ("missing_weights", "missing_config")
            else ReproducibilityCheck.Cause.UNRUNNABLE
        )
        detail = (
            f"weights sha256 {exc.extra.get('sha256')}: {exc.message}" if code == "missing_weights" else exc.message
        )
        return {"verdict": ReproducibilityCheck.Verdict.FAILED, "cause": cause, "detail": detail}
    except FileNotFoundError as exc:
        return {
            "verdict": ReproducibilityCheck.Verdict.FAILED,
            "cause": ReproducibilityCheck.Cause.MISSING_INPUT,
            "detail": f"a recorded input's file is missing from the store: {exc.filename or exc}",
        }
    except (DatabaseError, MemoryError):
        raise  # the night's run cannot go on; the next one takes this master first
    except Exception as exc:  # one master that breaks the re-run must not stop the others' checks
        logger.exception("the reproducibility watch could not re-run v%s", version.pk)
        return {
            "verdict": ReproducibilityCheck.Verdict.FAILED,
            "cause": ReproducibilityCheck.Cause.UNRUNNABLE,
            "detail": f"the re-run stopped: {type(exc).__name__}: {exc}"[:2000],
        }
    return _reproduction_values(reproduction)


def _reproduction_values(reproduction) -> dict:
    diff = reproduction.fingerprint_diff
    values = {
        "verdict": reproduction.verdict,
        "distance": reproduction.distance,
        "fingerprint_diff": diff,
        "reproduced_sha256": reproduction.sha256,
    }
    if reproduction.verdict != ReproducibilityCheck.Verdict.BIT_IDENTICAL:
        values["cause"] = ReproducibilityCheck.Cause.ENVIRONMENT if diff else ReproducibilityCheck.Cause.UNEXPLAINED
        values["detail"] = (
            ", ".join(f"{d['field']}: {d['recorded']!r} → {d['current']!r}" for d in diff)
            or "same environment fields, different pixels"
        )
    return values


def reproducibility_watch(
    *, budget_s: float | None = None, slice_s: float | None = None, on_drift: Callable | None = None
) -> dict:
    """One night's run: the plan, then the checks in order, never past the budget in seconds actually spent.

    A task may run for the worker's task timeout only, so one run spends at most `slice_s` (80 % of it by default)
    and, when it checked something and masters are still due, says what is left of the budget for the next slice
    (`continued_with_s`), which the caller queues. `on_drift` goes to each check (reproducibility_check).
    """
    budget = float(settings.SEED_WATCH_BUDGET_S if budget_s is None else budget_s)
    run_budget = min(budget, float(slice_s if slice_s is not None else settings.Q_CLUSTER["timeout"] * 0.8))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        if not cursor.fetchone()[0]:
            return {"checked": 0, "skipped": 0, "spent_s": 0.0, "busy": True}
    try:
        _, digest = current_environment()
        plan = watch_plan(digest=digest, budget_s=run_budget, whole_budget_s=budget)
        spent, checked, verdicts = 0.0, 0, {}
        for master, estimate, trigger in plan.due:
            if checked and spent + estimate > run_budget:
                plan.skipped += 1
                continue
            check = reproducibility_check(version=master, trigger=trigger, digest=digest, on_drift=on_drift)
            spent += check.wall_seconds
            checked += 1
            verdicts[check.verdict] = verdicts.get(check.verdict, 0) + 1
        left = round(budget - spent, 3)
        continued = bool(plan.skipped and checked and run_budget < budget and left > 0)
        logger.info(
            "reproducibility watch: %s checked in %.1f s of %.0f s, %s left for later%s: %s",
            checked,
            spent,
            run_budget,
            plan.skipped,
            " (continuing)" if continued else "",
            verdicts,
        )
        return {
            "checked": checked,
            "skipped": plan.skipped,
            "spent_s": round(spent, 3),
            "budget_s": budget,
            "slice_s": run_budget,
            "continued_with_s": left if continued else None,
            "verdicts": verdicts,
            "environment_digest": digest,
        }
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


def environment_unwatched() -> bool:
    """Whether this worker's environment is one no check has run under yet, with approved masters to check."""
    _, digest = current_environment()
    newest = ReproducibilityCheck.objects.values_list("environment_digest", flat=True).first()
    return newest is not None and newest != digest and Version.objects.filter(status=Version.Status.APPROVED).exists()
