from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection, transaction

from assets import hooks
from assets.errors import ApplicationError
from assets.images import ImageInfo, extension_check, file_name_check, image_inspect
from assets.models import Blob, blob_storage_name

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StagedFile:
    path: Path
    sha256: str
    size: int


def _chunks(source) -> Iterator[bytes]:
    if hasattr(source, "chunks"):
        yield from source.chunks(CHUNK)
        return
    while chunk := source.read(CHUNK):
        yield chunk


@contextmanager
def blob_staged(*, source, max_bytes: int | None = None) -> Iterator[StagedFile]:
    """Copy a stream to local scratch space while hashing it; the scratch file is always removed."""
    limit = settings.SEED_MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    declared = getattr(source, "size", None)
    if limit and declared is not None and declared > limit:
        raise ApplicationError(
            f"file is {declared} bytes; the limit is {limit}", extra={"code": "too_large", "limit": limit}
        )
    staging = Path(settings.SEED_STAGING_DIR)
    staging.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=staging, prefix="upload-")
    path = Path(name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as handle:
            for chunk in _chunks(source):
                size += len(chunk)
                if limit and size > limit:
                    raise ApplicationError(
                        f"file is larger than the limit of {limit} bytes", extra={"code": "too_large", "limit": limit}
                    )
                digest.update(chunk)
                handle.write(chunk)
        if size == 0:
            raise ApplicationError("file is empty", extra={"code": "empty"})
        yield StagedFile(path=path, sha256=digest.hexdigest(), size=size)
    finally:
        path.unlink(missing_ok=True)


def blob_store(*, staged: StagedFile, media_type: str) -> tuple[Blob, bool]:
    """Store staged bytes once under their sha256; returns the blob and whether its file is new.

    Call inside the transaction that creates the rows pointing at the blob, through `BlobsStored`
    (or a run's scope), which removes a file this call created when that transaction fails.
    """
    # No savepoint: the lock lasts until the caller's transaction ends anyway, and a savepoint costs two round trips.
    with transaction.atomic(savepoint=False):
        _blob_lock(sha256=staged.sha256, exclusive=False)
        created_file = blob_file_write(sha256=staged.sha256, source=staged.path)
        # One INSERT … ON CONFLICT DO NOTHING: the row is the same whoever writes it first.
        Blob.objects.bulk_create(
            [Blob(sha256=staged.sha256, size=staged.size, media_type=media_type)], ignore_conflicts=True
        )
    return Blob(sha256=staged.sha256, size=staged.size, media_type=media_type), created_file


def blob_file_write(*, sha256: str, source: Path | bytes) -> bool:
    """Write a staged file's or in-memory bytes durably under their hash unless the file is there; returns
    whether this call wrote it.

    Without the shared lock of `blob_store` held, a discard may remove a file found here: a caller that
    takes the lock later, in the statement that records the row, calls this again once that statement ran.
    """
    storage = storages["blobs"]
    name = blob_storage_name(sha256)
    if storage.exists(name):
        return False
    if isinstance(source, bytes):
        storage.save(name, ContentFile(source, name=name))
        return True
    with source.open("rb") as handle:
        storage.save(name, File(handle, name=name))
    return True


def blob_lock_key(*, sha256: str) -> int:
    return int.from_bytes(bytes.fromhex(sha256[:16]), "big", signed=True)


def _blob_lock(*, sha256: str, exclusive: bool) -> None:
    """A transaction-long lock on one content hash: storers share it, a discard takes it alone.

    Without it a discard could remove a file that another transaction found already stored (so did
    not write) and is about to commit a row for: the row would then point at nothing.
    """
    key = blob_lock_key(sha256=sha256)
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [key])


def scratch_sweep(*, older_than_seconds: float) -> int:
    """Remove scratch and half-written blob files that a killed process left behind (kill -9 skips cleanup).

    Only files older than any live job can be (the task timeout) are touched; returns how many went.
    """
    cutoff = time.time() - older_than_seconds
    leftovers = list(Path(settings.SEED_STAGING_DIR).glob("*"))
    blobs = storages["blobs"]
    if hasattr(blobs, "location"):
        leftovers += Path(blobs.location).rglob(".incoming-*")
    removed = 0
    for path in leftovers:
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def blob_discard(*, sha256: str) -> None:
    """Remove a file written by a transaction that then failed, unless a committed row holds it.

    Waits for every transaction that is storing the same bytes to end, then decides on what committed.
    """
    with transaction.atomic():
        _blob_lock(sha256=sha256, exclusive=True)
        if not Blob.objects.filter(sha256=sha256).exists():
            storages["blobs"].delete(blob_storage_name(sha256))


class BlobsStored:
    """Blobs stored inside a transaction that may still fail.

    `discard()` removes the files this holder wrote (a committed row that holds the same bytes keeps
    them); as a context manager it discards when the block raises, so a failure leaves no file behind.
    """

    def __init__(self) -> None:
        self.created: list[str] = []

    def store(self, *, staged: StagedFile, media_type: str) -> Blob:
        blob, created = blob_store(staged=staged, media_type=media_type)
        if created:
            self.created.append(blob.sha256)
        return blob

    def write(self, *, sha256: str, data: bytes) -> None:
        """Write the file only; the caller records its row in a statement that takes `blob_lock_key`'s shared lock."""
        if blob_file_write(sha256=sha256, source=data):
            self.created.append(sha256)

    def store_bytes(self, *, data: bytes, media_type: str) -> Blob:
        with blob_staged(source=io.BytesIO(data)) as staged:
            return self.store(staged=staged, media_type=media_type)

    def discard(self) -> None:
        for sha256 in self.created:
            blob_discard(sha256=sha256)
        self.created.clear()

    def __enter__(self) -> BlobsStored:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            self.discard()


@contextmanager
def blob_open(*, blob: Blob):
    with storages["blobs"].open(blob.storage_name, "rb") as handle:
        yield handle


def blob_hash(*, sha256: str) -> str | None:
    """Re-hash stored bytes; None when the file is missing."""
    storage = storages["blobs"]
    name = blob_storage_name(sha256)
    if not storage.exists(name):
        return None
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        for chunk in _chunks(handle):
            digest.update(chunk)
    return digest.hexdigest()


def image_checks(*, path: Path) -> ImageInfo:
    """Every check an image passes before the lineage records it, whichever door it came through."""
    info = image_inspect(path=path)
    for check in hooks.upload_checks:
        check(path=path, info=info)
    return info


@contextmanager
def image_ingest(*, source) -> Iterator[tuple[Blob, ImageInfo]]:
    """Check an uploaded image, store it and yield inside one transaction for the caller's rows.

    If anything inside fails, the transaction rolls back and a blob file written by this call
    is removed: no row and no file is left behind.
    """
    with image_staged(source=source) as (staged, info), BlobsStored() as stored, transaction.atomic():
        yield stored.store(staged=staged, media_type=info.media_type), info


@contextmanager
def image_staged(*, source) -> Iterator[tuple[StagedFile, ImageInfo]]:
    """An uploaded image staged and through every check (content, name, extension), not stored: for callers that
    keep something made from it rather than the file itself."""
    with blob_staged(source=source) as staged:
        info = image_checks(path=staged.path)
        file_name_check(name=getattr(source, "name", None))
        extension_check(name=getattr(source, "name", None), image_format=info.format)
        yield staged, info
