"""This host's copies of registered model files: blobs fetched from the store by sha256 (kept to a budget), and
folders of links laid out as a model was registered, for diffusers to read.

Worker-only, like the loader that reads them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage, storages

from assets.errors import ApplicationError
from assets.models import ModelWeights, blob_storage_name
from assets.models.validators import validate_relative_file_name

logger = logging.getLogger(__name__)


def blob_local_path(*, sha256: str, weights: ModelWeights, relative: str | None = None, since: float) -> Path:
    """The blob's bytes on this host: the store's own file when the store is a local folder, else a fetched copy.

    `since` is when the load began: the cache never evicts a file used after it.
    """
    storage = storages["blobs"]
    name = blob_storage_name(sha256)
    if isinstance(storage, FileSystemStorage):
        if not storage.exists(name):
            raise _missing(sha256, weights=weights, relative=relative)
        return Path(storage.path(name))
    return _cache_fetch(sha256, storage=storage, name=name, weights=weights, relative=relative, since=since)


def _missing(sha256: str, *, weights: ModelWeights, relative: str | None) -> ApplicationError:
    what = f"{weights.name} ({weights.get_kind_display()})" + (f", file {relative}" if relative else "")
    return ApplicationError(
        f"model file missing from the store: sha256 {sha256} for {what}; "
        "register it again with manage.py register_model",
        extra={"code": "missing_weights", "sha256": sha256, "weights_sha256": weights.sha256},
    )


def _cache_fetch(sha256: str, *, storage, name: str, weights: ModelWeights, relative: str | None, since: float) -> Path:
    """This host's copy of a blob from a remote store (S3), fetched once and checked against its sha256.

    A worker never reads another host's paths: what one host registered, every other host downloads into
    its own SEED_MODEL_CACHE. The cache is held to SEED_MODEL_CACHE_BYTES by evicting the least recently
    used files, never one this load has used (a model alone larger than the cap still loads).
    """
    folder = Path(settings.SEED_MODEL_CACHE) / "blobs"
    local = folder / sha256
    try:
        os.utime(local)  # used now: eviction takes the least recently used first
        return local
    except FileNotFoundError:
        pass  # not fetched yet, or evicted by another worker of this host a moment ago
    if not storage.exists(name):
        raise _missing(sha256, weights=weights, relative=relative)
    folder.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".download-")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, storage.open(name, "rb") as source:
            while chunk := source.read(8 * 1024 * 1024):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ApplicationError(
                f"model file {sha256} of {weights.name} came from the blob store "
                f"as bytes hashing to {digest.hexdigest()}: "
                "the stored copy is damaged; register the model again",
                extra={"code": "damaged_weights", "sha256": sha256},
            )
        os.replace(temp, local)
    finally:
        Path(temp).unlink(missing_ok=True)
    _cache_trim(folder=folder, since=since)
    return local


def _cache_trim(*, folder: Path, since: float) -> None:
    limit = settings.SEED_MODEL_CACHE_BYTES
    if not limit:
        return
    files = []
    for path in folder.iterdir():
        if path.name.startswith("."):
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue  # another worker of this host evicted it
        files.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in files)
    for mtime, size, path in sorted(files):
        if total <= limit:
            return
        if mtime >= since:
            continue
        path.unlink(missing_ok=True)
        total -= size
        logger.info("model cache: evicted %s (%s bytes) to stay under %s bytes", path.name, size, limit)


def links_layout(*, weights: ModelWeights, files: dict[str, str], folder: str, since: float) -> Path:
    """A folder of links laid out as registered, for diffusers to read.

    It is made once, atomically, under a name that also covers where its links point: a blob store
    that moved gets a folder of its own, so no folder that another worker may be reading is ever
    removed or rewritten.
    """
    sources = {
        rel: blob_local_path(sha256=sha, weights=weights, relative=rel, since=since) for rel, sha in files.items()
    }
    where = hashlib.sha256(
        json.dumps({rel: str(path) for rel, path in sources.items()}, sort_keys=True).encode()
    ).hexdigest()
    target = Path(settings.SEED_MODEL_CACHE) / f"{folder}-{where[:12]}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".layout-"))
    try:
        for relative, source in sources.items():
            link = _link_place(staging=staging, relative=relative, weights=weights)
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(source, link)
        os.rename(staging, target)
    except ApplicationError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.is_dir():
            raise
        # Another worker laid out the same folder first; theirs is identical.
    return target


def _link_place(*, staging: Path, relative: str, weights: ModelWeights) -> Path:
    """Where one file's link goes, proven inside the staging folder before anything is made.

    The services refuse unsafe names, but a row written before they did (or straight into the
    database) must not make the worker create folders and links wherever its name points.
    """
    try:
        validate_relative_file_name(relative)
    except ValidationError:
        escapes = True  # the registry's own rule for a file name: NUL, "..", a leading "/" …
    else:
        folder = staging.resolve()
        link = folder / relative
        place = link.parent.resolve() / link.name
        escapes = link.name in ("", ".", "..") or not place.parent.is_relative_to(folder)
    if escapes:
        raise ApplicationError(
            f"model {weights.name} ({weights.sha256[:12]}) names the file {relative[:120]!r}, "
            "which is not a plain file name inside its folder: refusing to load it",
            extra={"code": "unsafe_weights_file", "weights_sha256": weights.sha256},
        )
    return place
