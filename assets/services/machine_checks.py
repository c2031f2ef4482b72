"""Machine-read checks on a version: asked for when it joins a review round, run on the worker, overruled by people."""

from __future__ import annotations

import io
import logging

from django.db import DatabaseError, transaction
from django.utils import timezone

from assets import hooks
from assets.errors import ApplicationError
from assets.machine_checks import Finding
from assets.models import Version, VersionCheck, VersionCheckRun
from assets.services.audit import audit_event_append
from assets.services.blobs import BlobsStored, blob_staged
from assets.services.queues import Queue, task_send

logger = logging.getLogger(__name__)
VERDICTS = {choice.value for choice in VersionCheck.Verdict}


def machine_checks_request(*, version_ids) -> None:
    """Queue the checks of these versions once the caller's transaction commits; each runs once per key, so asking
    again (a version in a second round) measures only what is new. The request is recorded with the caller's
    transaction, so the round's page knows to wait for the worker."""
    now = timezone.now()
    for version_id in sorted(set(version_ids)):
        VersionCheckRun.objects.update_or_create(version_id=version_id, defaults={"requested_at": now})
        transaction.on_commit(
            lambda pk=version_id: task_send(
                func="assets.tasks.machine_checks_run", args=(pk,), name=f"checks v{pk}", queue=Queue.CPU
            )
        )


def machine_checks_run(*, version_id: int) -> list[VersionCheck]:
    """Run every registered check on the version and record what it found; keys already recorded are kept as they
    are (with any overrule), so a task run twice records nothing twice. A check that cannot measure (a model that
    will not load, an image it cannot read) is recorded as such for the reviewer, never as a pass, and the others
    still run; once it measures, that record goes."""
    version = Version.objects.select_related("blob", "brief").get(pk=version_id)
    known = set(VersionCheck.objects.filter(version=version).values_list("key", flat=True))
    recorded = []
    for check in list(hooks.version_checks):
        findings, failed = _findings_of(check, version)
        if not failed:
            VersionCheck.objects.filter(version=version, key=_error_key(check), overruled_verdict="").delete()
            known.discard(_error_key(check))
        for finding in findings:
            if finding.key in known:
                continue
            recorded.append(_record(version=version, finding=finding))
            known.add(finding.key)
    finished = timezone.now()
    VersionCheckRun.objects.update_or_create(
        version=version,
        defaults={"finished_at": finished},
        create_defaults={"requested_at": finished, "finished_at": finished},
    )
    return [row for row in recorded if row is not None]


def _error_key(check) -> str:
    return f"error:{check.__module__}.{getattr(check, '__name__', 'check')}"


def _findings_of(check, version: Version) -> tuple[list[Finding], bool]:
    """What the check found, or one finding saying it could not measure. A lost database is not the check's failure:
    it stops the task, which the broker hands out again."""
    try:
        return list(check(version)), False
    except DatabaseError:
        raise
    except Exception as exc:
        if not isinstance(exc, ApplicationError):
            logger.exception("machine check %s failed on version %s", _error_key(check), version.pk)
        name = getattr(check, "__name__", "check")
        message = exc.message if isinstance(exc, ApplicationError) else f"the check failed ({type(exc).__name__})"
        label = (check.__doc__ or name).strip().splitlines()[0][:200]
        return [
            Finding(
                key=_error_key(check), kind="error", label=label, verdict=VersionCheck.Verdict.UNKNOWN, detail=message
            )
        ], True


def _record(*, version: Version, finding: Finding) -> VersionCheck | None:
    if finding.verdict not in VERDICTS:
        raise ValueError(f"{finding.key}: verdict {finding.verdict!r} is none of {sorted(VERDICTS)}")
    with transaction.atomic(), BlobsStored() as stored:
        artefact = None
        if finding.artefact:
            with blob_staged(source=io.BytesIO(finding.artefact), max_bytes=0) as staged:
                artefact = stored.store(staged=staged, media_type="image/png")
        row, created = VersionCheck.objects.get_or_create(
            version=version,
            key=finding.key[:300],
            defaults={
                "kind": finding.kind,
                "label": finding.label[:200],
                "measure": finding.measure,
                "verdict": finding.verdict,
                "detail": finding.detail,
                "artefact": artefact,
            },
        )
    return row if created else None


def machine_check_overrule(*, check_id: int, verdict: str, reason: str, user) -> VersionCheck:
    """A reviewer's verdict in place of the machine's (or back to the machine's with an empty verdict); the
    machine's stays recorded beside it, and the change is audited."""
    if verdict and verdict not in VERDICTS - {VersionCheck.Verdict.UNKNOWN}:
        raise ApplicationError(
            f"a verdict is one of pass, warn, fail (or empty to go back to the machine's), not {verdict!r}"
        )
    reason = (reason or "").strip()
    if verdict and not reason:
        raise ApplicationError("say why the machine's verdict is overruled")
    with transaction.atomic():
        check = VersionCheck.objects.select_for_update().get(pk=check_id)
        check.overruled_verdict = verdict
        check.overruled_by = user if verdict else None
        check.overruled_at = timezone.now() if verdict else None
        check.overrule_reason = reason if verdict else ""
        check.save(update_fields=["overruled_verdict", "overruled_by", "overruled_at", "overrule_reason"])
        audit_event_append(
            kind="machine_check.overruled" if verdict else "machine_check.restored",
            actor=user,
            object_type="version_check",
            object_id=check.pk,
            payload={"version": check.version_id, "key": check.key, "machine": check.verdict, "reviewer": verdict},
        )
    return check
