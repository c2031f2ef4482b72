from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from assets.environment import environment_fingerprint_base
from assets.errors import ApplicationError
from assets.models import (
    Blob,
    Brief,
    Derivation,
    DerivedFile,
    Generated,
    ModelWeights,
    Prompt,
    Reference,
    Used,
    Version,
)
from assets.operations import operation_get, params_clean
from assets.services.blobs import BlobsStored, blob_file_write, blob_lock_key
from assets.services.runs import run_complete_statement, run_superseded

_TARGET_FIELDS = {
    Version: "version",
    Reference: "reference",
    Prompt: "prompt",
    ModelWeights: "model_weights",
    Blob: "blob",
}


@dataclass(frozen=True)
class UsedInput:
    role: str
    target: Version | Reference | Prompt | ModelWeights | Blob
    weight: float | None = None
    position: int = 0


def _client_id_of(target) -> int | None:
    if isinstance(target, (Version, Reference, Prompt)):
        return target.brief.campaign.client_id
    if isinstance(target, ModelWeights) and target.trained_by_id is not None:
        # A LoRA trained here carries the client whose images it learned.
        return target.trained_by.brief.campaign.client_id
    return None


def weights_usable_in(weights: QuerySet[ModelWeights], *, brief: Brief) -> QuerySet[ModelWeights]:
    """The weights a step of `brief` may use, as derivation_create checks them: the studio's registry, and the LoRAs
    trained on its own client's images. A lookup by name or hash (a prompt's `<lora:…>` tag, an imported recipe)
    searches only these, so another client's LoRA is neither found nor named."""
    return weights.filter(
        Q(trained_by__isnull=True) | Q(trained_by__brief__campaign__client_id=brief.campaign.client_id)
    )


def derivation_create(
    *,
    brief: Brief,
    op: str,
    phase: str,
    params: dict,
    inputs: list[UsedInput] = (),
    state: str = Derivation.State.QUEUED,
    created_by=None,
) -> Derivation:
    """Record an activity and what it used; call inside the caller's transaction."""
    cleaned = params_clean(op=op, params=params)
    roles = operation_get(op).roles
    for item in inputs:
        if type(item.target) not in _TARGET_FIELDS:
            raise ApplicationError(f"a derivation cannot use a {type(item.target).__name__}")
        if item.role not in Used.Role.values:
            raise ApplicationError(f"unknown input role {item.role!r}")
        if item.role not in roles:
            raise ApplicationError(f"{op} does not read a {item.role} input", extra={"role": item.role})
        client_id = _client_id_of(item.target)
        if client_id is not None and client_id != brief.campaign.client_id:
            raise ApplicationError(
                f"{type(item.target).__name__.lower()} {item.target.pk} belongs to another client "
                "and cannot be used in this brief",
                extra={"role": item.role, "id": item.target.pk},
            )
    derivation = Derivation.objects.create(
        brief=brief,
        op=op,
        phase=phase,
        params=cleaned,
        state=state,
        created_by=created_by,
        environment=environment_fingerprint_base(),
    )
    Used.objects.bulk_create(
        Used(
            derivation=derivation,
            role=item.role,
            position=item.position,
            weight=item.weight,
            **{_TARGET_FIELDS[type(item.target)]: item.target},
        )
        for item in inputs
    )
    return derivation


def derivations_cancel(*, pks: list[int], cancelled_by=None) -> int:
    """End the queued or running derivations among `pks` as cancelled, naming who did: a queued one never starts, a
    running one stops at its next progress report and records nothing. Inside the caller's transaction, beside its
    audit event; returns how many it cancelled."""
    who = cancelled_by.get_username() if cancelled_by is not None else "the system"
    return Derivation.objects.filter(pk__in=pks, state__in=[Derivation.State.QUEUED, Derivation.State.RUNNING]).update(
        state=Derivation.State.CANCELLED,
        error=f"cancelled by {who}",
        cancelled_by=cancelled_by,
        cancelled_at=timezone.now(),
    )


def derivation_output_add(
    *, derivation: Derivation, version: Version, index: int = 0, role: str = Generated.Role.OUTPUT
) -> Generated:
    return Generated.objects.create(derivation=derivation, version=version, index=index, role=role)


def derivation_finish(*, derivation: Derivation, started_at, state: str = Derivation.State.SUCCEEDED) -> None:
    finished_at = timezone.now()
    derivation.state = state
    derivation.started_at = started_at
    derivation.finished_at = finished_at
    derivation.wall_seconds = (finished_at - started_at).total_seconds()
    derivation.save(update_fields=["state", "started_at", "finished_at", "wall_seconds"])


@dataclass(frozen=True)
class OutputImage:
    """One image a worker made for a derivation, encoded in memory, not yet recorded."""

    index: int
    seed: int | None
    data: bytes
    width: int
    height: int
    media_type: str = "image/png"
    format: str = "PNG"
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha256", hashlib.sha256(self.data).hexdigest())


@dataclass(frozen=True)
class OutputFile:
    """A file a worker made that is not an image version (a mask, an SVG), of the version `source_id`."""

    kind: str
    data: bytes
    media_type: str
    width: int
    height: int
    source_id: int
    refined_from_id: int | None = None


@dataclass(frozen=True)
class OutputWeights:
    """A model a worker made (a trained LoRA): registered as model weights whose origin is the derivation."""

    data: bytes
    kind: str
    architecture: str
    name: str
    format: str = ModelWeights.Format.SAFETENSORS
    training_story: dict = field(default_factory=dict)


def derivation_files_record(
    *,
    derivation: Derivation,
    outputs: list[OutputImage],
    files: list[OutputFile | OutputWeights],
    blobs: BlobsStored,
    **fields,
) -> tuple[list[Version], list[DerivedFile | ModelWeights]]:
    """Record a run's images and its other files together: all or none (a superseded run records none)."""
    if not files:
        return derivation_outputs_record(derivation=derivation, outputs=outputs, blobs=blobs, **fields), []
    with transaction.atomic():
        versions = derivation_outputs_record(derivation=derivation, outputs=outputs, blobs=blobs, **fields)
        recorded = [
            _weights_record(derivation=derivation, item=item, blobs=blobs)
            if isinstance(item, OutputWeights)
            else DerivedFile.objects.create(
                brief_id=derivation.brief_id,
                source_id=item.source_id,
                derivation=derivation,
                refined_from_id=item.refined_from_id,
                kind=item.kind,
                blob=blobs.store_bytes(data=item.data, media_type=item.media_type),
                width=item.width,
                height=item.height,
                created_by_id=derivation.created_by_id,
            )
            for item in files
        ]
    return versions, recorded


def _weights_record(*, derivation: Derivation, item: OutputWeights, blobs: BlobsStored) -> ModelWeights:
    blob = blobs.store_bytes(data=item.data, media_type="application/octet-stream")
    return ModelWeights.objects.create(
        kind=item.kind,
        architecture=item.architecture,
        name=item.name,
        sha256=blob.sha256,
        size=len(item.data),
        format=item.format,
        blob=blob,
        trained_by=derivation,
        training_story=item.training_story,
    )


def derivation_outputs_record(
    *, derivation: Derivation, outputs: list[OutputImage], blobs: BlobsStored, **fields
) -> list[Version]:
    """Record a run's images as the derivation's outputs and mark it succeeded, in one statement.

    The files are written first, straight from memory into the blob store. The statement then ends the run
    only if this worker still owns it and
    inserts the blobs, versions and output edges only when that update matched, so a superseded worker
    records nothing (RunSuperseded; `blobs` holds the files it wrote, for the caller to discard). It takes
    each file's shared blob lock as `blob_store` does; a discard that removed a file before the lock was
    taken is undone by writing the file again once the statement ran. One round trip instead of nine
    (BEGIN, lock, blob, version and edge per image, the run's update, COMMIT): the worker's per-job overhead.
    """
    for output in outputs:
        blobs.write(sha256=output.sha256, data=output.data)
    complete = run_complete_statement(row=derivation, **fields)
    now = timezone.now()
    unique = {output.sha256: output for output in outputs}
    sql, params = _outputs_statement(derivation=derivation, complete=complete, outputs=outputs, unique=unique, now=now)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        owned, _, version_ids = cursor.fetchone()
    if not owned:
        raise run_superseded(row=derivation)
    for sha256, output in unique.items():
        blob_file_write(sha256=sha256, source=output.data)
    return [
        Version(
            pk=version_id,
            brief_id=derivation.brief_id,
            blob_id=output.sha256,
            width=output.width,
            height=output.height,
            format=output.format,
            seed=output.seed,
            created_at=now,
        )
        for version_id, output in zip(version_ids, outputs, strict=True)
    ]


_VERSION_COLUMNS = ["brief", "blob", "width", "height", "format", "seed", "label", "status", "triage", "created_at"]


def _outputs_statement(
    *,
    derivation: Derivation,
    complete: tuple[str, list],
    outputs: list[OutputImage],
    unique: dict[str, OutputImage],
    now,
) -> tuple[str, list]:
    """The one statement that ends the run (`complete`) and, only if that matched, inserts the blobs, versions and
    edges. It answers (runs ended, locks taken, the new versions' ids in output order).
    """
    complete_sql, complete_params = complete
    if not outputs:
        return f"WITH done AS ({complete_sql}) SELECT count(*), 0, ARRAY[]::bigint[] FROM done", complete_params
    blob_values, blob_params, version_values, version_params, edge_values, edge_params = _output_values(
        derivation=derivation, outputs=outputs, unique=unique, now=now
    )
    quote = connection.ops.quote_name
    version_table, edge_table, blob_table = (quote(model._meta.db_table) for model in (Version, Generated, Blob))
    version_names = ", ".join(quote(Version._meta.get_field(name).column) for name in _VERSION_COLUMNS)
    version_selected = ", ".join(f"new.{quote(Version._meta.get_field(name).column)}" for name in _VERSION_COLUMNS)
    sql = f"""
        WITH done AS ({complete_sql}),
        locks AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared(key) FROM unnest(%s::bigint[]) AS key),
        ids AS MATERIALIZED (
            SELECT nextval(pg_get_serial_sequence(%s, 'id')) AS id, position
            FROM generate_series(0, %s - 1) AS position WHERE EXISTS (SELECT FROM done)),
        blobs AS (
            INSERT INTO {blob_table} (sha256, size, media_type, created_at)
            SELECT * FROM (VALUES {blob_values}) AS new WHERE EXISTS (SELECT FROM done) ON CONFLICT DO NOTHING),
        versions AS (
            INSERT INTO {version_table} (id, {version_names})
            SELECT ids.id, {version_selected} FROM (VALUES {version_values}) AS new (position, {version_names})
            JOIN ids USING (position) ORDER BY position),
        edges AS (
            INSERT INTO {edge_table} (derivation_id, version_id, role, index)
            SELECT new.derivation_id, ids.id, new.role, new.index
            FROM (VALUES {edge_values}) AS new (position, derivation_id, role, index) JOIN ids USING (position))
        SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM locks), ARRAY(SELECT id FROM ids ORDER BY position)
    """
    params = [
        *complete_params,
        [blob_lock_key(sha256=sha256) for sha256 in unique],
        Version._meta.db_table,
        len(outputs),
        *blob_params,
        *version_params,
        *edge_params,
    ]
    return sql, params


def _output_values(*, derivation: Derivation, outputs: list[OutputImage], unique: dict[str, OutputImage], now):
    """The VALUES lists (and their parameters) of the new blobs, versions and edges; versions and edges are numbered
    by the output's position, which joins them to the ids the statement draws."""
    blob_rows = [(sha256, len(output.data), output.media_type, now) for sha256, output in unique.items()]
    version_rows = [
        (
            position,
            derivation.brief_id,
            output.sha256,
            output.width,
            output.height,
            output.format,
            output.seed,
            "",
            Version.Status.DRAFT,
            Version.Triage.UNTRIAGED,
            now,
        )
        for position, output in enumerate(outputs)
    ]
    edge_rows = [
        (position, derivation.pk, Generated.Role.OUTPUT, output.index) for position, output in enumerate(outputs)
    ]
    return (
        *_typed_values(Blob, ["sha256", "size", "media_type", "created_at"], blob_rows),
        *_typed_values(Version, _VERSION_COLUMNS, version_rows, numbered=True),
        *_typed_values(Generated, ["derivation", "role", "index"], edge_rows, numbered=True),
    )


def _typed_values(model, names: list[str], rows: list[tuple], numbered: bool = False) -> tuple[str, list]:
    """A VALUES list with each placeholder cast to its column's type (a NULL seed is otherwise text)."""
    row_sql = _typed_row(model, tuple(names), numbered)
    return ", ".join([row_sql] * len(rows)), [value for row in rows for value in row]


@lru_cache(maxsize=32)
def _typed_row(model, names: tuple[str, ...], numbered: bool) -> str:
    """One row's placeholders: the same for every job, and asking each field for its type costs the worker."""
    casts = ["bigint"] if numbered else []
    casts += [model._meta.get_field(name).cast_db_type(connection) for name in names]
    return "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
