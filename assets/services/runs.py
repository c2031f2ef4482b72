"""One lifecycle for every queued row: generation and finishing derivations, deliveries, reproductions.

Enqueue when the transaction commits, claim with a token, run guarded, and record the outcome only
while the claim still holds, or fail with a reason. Scratch files go whatever happens; blobs that a
failed run stored are discarded.

The broker is at-least-once: a task may arrive twice, or again after its worker died. One conditional
UPDATE decides who runs a row. While another worker's claim is younger than the task timeout, the copy
in hand must neither run nor be acknowledged: it raises ClaimHeld, stays on the broker and is offered
again after `retry`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from assets import metrics
from assets.errors import ApplicationError
from assets.models import Blob
from assets.rows import columns_sql, instance_from_row
from assets.services.blobs import BlobsStored, StagedFile
from assets.services.queues import Queue, task_send

logger = logging.getLogger(__name__)


class ClaimHeld(RuntimeError):
    """Another worker holds a fresh claim on the row; the broker must offer this task again later."""


class RunSuperseded(Exception):
    """The run was cancelled, or another worker took it over: this worker must record nothing."""


@dataclass(frozen=True)
class ClaimRead:
    """What a run reads beside its row, in the claim's own round trip: the columns `select` lists from the tables
    `tail` joins to the claimed row (`claimed`), one result row each (one of NULLs when none joins), handed to
    `attach(row, rows)`. The worker's job otherwise pays a second round trip, and its compiling, for them."""

    select: str
    tail: str
    attach: Callable[[models.Model, list[tuple]], None]


def run_enqueue(*, task: str, model: type[models.Model], pk: int, kind: str, queue: Queue) -> None:
    """Send the row's task to its queue's cluster once the surrounding transaction commits (at once outside one).

    The row remembers the task, its queue and when it was sent, in the same transaction: should the broker lose the
    task, or the process die between the commit and the send, assets.services.run_resend sends it again."""
    model.objects.filter(pk=pk).update(task_func=task, task_queue=queue, sent_at=timezone.now())
    transaction.on_commit(partial(task_send, func=task, args=(pk,), name=f"{kind}-{pk}", queue=queue))


def run_claim(
    *,
    model: type[models.Model],
    pk: int,
    fields: dict | None = None,
    related: tuple[str, ...] = (),
    max_attempts: int | None = None,
    read: ClaimRead | None = None,
):
    """Own a queued row, or a running one whose worker stopped (claimed longer ago than the task timeout).

    One round trip: a conditional `UPDATE … RETURNING` both decides and reads the row, and with `read` the
    rows the run needs beside it. Returns the row, or None when there is nothing left to do: it finished, was
    cancelled, or used up its attempts (then it is failed here). Raises ClaimHeld while another worker's claim
    is fresh.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.Q_CLUSTER["timeout"])
    running = model.State.RUNNING
    state, started_at, key, sent_at, task_func = (
        _column(model, name) for name in ("state", "started_at", "pk", "sent_at", "task_func")
    )
    assignments = {
        "state": running,
        "claim_token": uuid.uuid4(),
        "started_at": now,
        "claimed_by": worker_name(),
        **(fields or {}),
    }
    row = _update_returning(
        model=model,
        assignments=assignments,
        # A queued row whose task is no longer on the broker (run_requeue: a webhook waiting out its backoff) is not
        # claimed by a stale copy of its task (the sweep's, or the broker's): only by the one its caller sends when it
        # is due. A row enqueued before rows remembered their sends (no task) is claimed as before.
        where=(
            f"{key} = %s AND (({state} = %s AND ({sent_at} IS NOT NULL OR {task_func} = '')) "
            f"OR ({state} = %s AND {started_at} < %s))",
            [pk, model.State.QUEUED, running, stale],
        ),
        read=read,
    )
    if row is None:
        held = model.objects.filter(pk=pk, state=running).values_list("started_at", flat=True).first()
        if held is not None:
            raise ClaimHeld(
                f"{model._meta.verbose_name} {pk} is running on another worker since {held:%H:%M:%S}; "
                "the broker offers this task again after its retry delay"
            )
        return None
    if row.attempts > (max_attempts or settings.Q_CLUSTER["max_attempts"]):
        run_fail(row=row, message=f"gave up after {row.attempts - 1} attempts")
        metrics.JOB_FAILURES.labels(op=metrics.run_op(row), reason="gave_up").inc()
        return None
    if related:
        row = model.objects.select_related(*related).get(pk=pk)
    return row


def worker_name() -> str:
    """This process as a claim names it: "<cluster>@<host>:<pid>"."""
    from django_q.conf import Conf

    return f"{Conf.CLUSTER_NAME}@{socket.gethostname()}:{os.getpid()}"


def _column(model: type[models.Model], name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column if name != "pk" else model._meta.pk.column)


def _assignments(model: type[models.Model], assignments: dict) -> tuple[str, list]:
    """A SET clause; an F() value names another column of the row. Written by hand because the ORM's
    compiler costs the worker more per job than the round trip it is sent in."""
    columns, params = [], []
    for name, value in assignments.items():
        field = model._meta.get_field(name)
        if isinstance(value, F):
            columns.append(f"{connection.ops.quote_name(field.column)} = {_column(model, value.name)}")
            continue
        columns.append(f"{connection.ops.quote_name(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection=connection))
    return ", ".join(columns), params


def _update_returning(
    *, model: type[models.Model], where: tuple[str, list], assignments: dict, read: ClaimRead | None = None
):
    """UPDATE the row matching the `where` SQL (attempts + 1) and return it as a model instance, or None; with
    `read`, its rows joined to the updated row come in the same statement and are attached to the instance."""
    condition, condition_params = where
    columns, params = _assignments(model, assignments)
    attempts = _column(model, "attempts")
    sql = (
        f"UPDATE {connection.ops.quote_name(model._meta.db_table)} SET {columns}, {attempts} = {attempts} + 1 "
        f"WHERE {condition} RETURNING {columns_sql(model)}"
    )
    if read is not None:
        sql = f"WITH claimed AS ({sql}) SELECT claimed.*, {read.select} FROM claimed {read.tail}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *condition_params])
        rows = cursor.fetchall()
    if not rows:
        return None
    width = len(model._meta.concrete_fields)
    row = instance_from_row(model, rows[0][:width])
    if read is not None:
        read.attach(row, [values[width:] for values in rows])
    return row


def _owned(row) -> models.QuerySet:
    return type(row).objects.filter(pk=row.pk, state=row.State.RUNNING, claim_token=row.claim_token)


def _finished(row) -> dict:
    now = timezone.now()
    fields = {"finished_at": now}
    if any(field.name == "wall_seconds" for field in row._meta.fields):
        fields["wall_seconds"] = (now - row.started_at).total_seconds() if row.started_at else None
    return fields


def run_progress(*, row, step: int, measures: dict | None = None) -> bool:
    """Record progress, and what the run measured at this step (a training's loss) on its progress log; False when
    the run was cancelled or taken over, so the worker stops."""
    if measures is None:
        return bool(_owned(row).update(progress_step=step))
    logged = RawSQL("progress_log || %s::jsonb", (json.dumps([measures]),))
    return bool(_owned(row).update(progress_step=step, progress_log=logged))


def run_note_add(*, row, event: str, detail: str) -> None:
    """Append what the worker had to do to the run's notes, while this worker still owns it."""
    note = {"at": timezone.now().isoformat(), "event": event, "detail": detail[:1000]}
    _owned(row).update(run_notes=RawSQL("run_notes || %s::jsonb", (json.dumps([note]),)))


def run_complete(*, row, **fields) -> None:
    """Mark the row succeeded, with `fields`, if this worker still owns it; call it inside the recording transaction.

    The conditional UPDATE is the ownership check: it waits for a concurrent takeover or cancel and then
    matches nothing, and RunSuperseded rolls back everything the transaction recorded.
    """
    if not _owned(row).update(state=row.State.SUCCEEDED, **_finished(row), **fields):
        raise run_superseded(row=row)


def run_superseded(*, row) -> RunSuperseded:
    state = type(row).objects.filter(pk=row.pk).values_list("state", flat=True).first()
    return RunSuperseded(f"{row._meta.verbose_name} {row.pk} is {state}; outputs discarded")


def run_complete_statement(*, row, **fields) -> tuple[str, list]:
    """run_complete as an `UPDATE … RETURNING id` that matches nothing unless this worker owns the row,
    for a caller that records the outputs in the same statement (gated on it) to save round trips."""
    model = type(row)
    columns, params = _assignments(model, {"state": row.State.SUCCEEDED, **_finished(row), **fields})
    key, state, token = (_column(model, name) for name in ("pk", "state", "claim_token"))
    sql = (
        f"UPDATE {connection.ops.quote_name(model._meta.db_table)} SET {columns} "
        f"WHERE {key} = %s AND {state} = %s AND {token} = %s RETURNING {key}"
    )
    return sql, [*params, row.pk, row.State.RUNNING, row.claim_token]


def run_requeue(*, row, message: str, **fields) -> bool:
    """Put the run back in the queue (a retry later, with the reason so far), if this worker still owns it. Nothing is
    on the broker for it until its caller sends it again (run_enqueue) when it is due."""
    return bool(_owned(row).update(state=row.State.QUEUED, error=message[:2000], sent_at=None, **fields))


def run_fail(*, row, message: str, state: str | None = None, **fields) -> bool:
    """End the run as failed (or `state`) with the reason, if this worker still owns it."""
    return bool(_owned(row).update(state=state or row.State.FAILED, error=message[:2000], **_finished(row), **fields))


def error_report(*, exc: BaseException, row) -> None:
    """An unexpected failure of a job to Sentry (when SENTRY_DSN is set), with the row it ran for."""
    if not settings.SENTRY_DSN:
        return
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        kind = row.run_kind
        scope.set_tag("seed.run", kind)
        scope.set_tag(f"seed.{kind}_id", str(row.pk))
        scope.set_context(
            "seed run",
            {
                "kind": kind,
                "id": row.pk,
                "op": metrics.run_op(row),
                "attempt": row.attempts,
                "claim_token": str(row.claim_token),
            },
        )
        sentry_sdk.capture_exception(exc)


class RunScope:
    """What a run writes on its way: scratch paths are removed whatever happens, and blobs it stored
    are discarded unless the run ended normally (a committed row then holds them)."""

    def __init__(self) -> None:
        self.scratch: list[Path] = []
        self.blobs = BlobsStored()

    def scratch_add(self, path: Path) -> Path:
        self.scratch.append(path)
        return path

    def scratch_clear(self) -> None:
        for path in self.scratch:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        self.scratch.clear()

    def blob_store(self, *, staged: StagedFile, media_type: str) -> Blob:
        return self.blobs.store(staged=staged, media_type=media_type)

    def close(self, *, ended_normally: bool) -> None:
        self.scratch_clear()
        if not ended_normally:
            self.blobs.discard()

    def __enter__(self) -> RunScope:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.close(ended_normally=exc_type is None)


def run_guarded(
    *,
    model: type[models.Model],
    pk: int,
    work: Callable,
    fields: dict | None = None,
    related: tuple[str, ...] = (),
    failure: Callable[[object, Exception], str | None] | None = None,
    max_attempts: int | None = None,
    read: ClaimRead | None = None,
) -> str:
    """Claim the row, let `work(row, scope)` do the job and record it (through run_complete), or record why not.

    `work` returns the outcome's name ("succeeded", "blocked", a verdict). `failure(row, exc)` may put an
    unexpected error in the run's own words; `read` comes with the claim (run_claim). Returns "skipped" when the
    claim finds nothing to do.
    """
    row = run_claim(model=model, pk=pk, fields=fields, related=related, max_attempts=max_attempts, read=read)
    if row is None:
        return "skipped"
    metrics.job_started(row=row)
    scope = RunScope()
    started = time.monotonic()
    ended_normally = False
    outcome, reason = "failed", None
    try:
        outcome = work(row, scope)
        ended_normally = True
        if outcome in {"failed", "retrying", "blocked"}:
            reason = outcome
        return outcome
    except RunSuperseded as exc:
        run_fail(row=row, message=str(exc), state=getattr(model.State, "CANCELLED", None))
        outcome, reason = "cancelled", "superseded"
        return outcome
    except ApplicationError as exc:
        run_fail(row=row, message=exc.message)
        reason = "refused"
        return outcome
    except Exception as exc:
        message = failure(row, exc) if failure is not None else None
        reason = "crashed" if message is None else "out_of_memory"
        if message is None:
            logger.exception("%s %s failed", model._meta.verbose_name, pk)
            timeout = settings.Q_CLUSTER["timeout"]
            if time.monotonic() - started >= timeout - 1:
                # The task timeout's alarm strikes wherever the run is; libraries may report it as their own error.
                message = f"stopped by the task timeout of {timeout} s (SEED_Q_TIMEOUT) ({type(exc).__name__}: {exc})"
                reason = "timeout"
            else:
                message = f"{type(exc).__name__}: {exc}"
            error_report(exc=exc, row=row)
        run_fail(row=row, message=message)
        return outcome
    finally:
        metrics.job_ended(row=row, outcome=outcome, seconds=time.monotonic() - started, failure=reason)
        scope.close(ended_normally=ended_normally)
