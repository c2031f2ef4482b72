"""A worker whose blob store is S3 reads model files only from its own cache, fetched by sha256 and checked."""

import hashlib
import os
import time
from pathlib import Path

import pytest
from django.conf import settings

from assets.errors import ApplicationError
from assets.models import blob_storage_name
from generation.loader import weights_path


def _cached(root: Path) -> dict[str, int]:
    folder = root / "blobs"
    return {path.name: path.stat().st_size for path in folder.iterdir()} if folder.is_dir() else {}


def test_model_files_come_from_the_store_into_this_hosts_cache_checked_by_hash(s3_blobs, tiny, media_root):
    base = tiny["base"]
    folder = weights_path(weights=base)
    assert not (media_root / "blobs").exists(), "the registry wrote to a local blob folder instead of S3"
    cache = Path(settings.SEED_MODEL_CACHE)
    for relative, sha256 in base.files.items():
        target = (folder / relative).resolve()
        assert target == (cache / "blobs" / sha256).resolve()
        assert hashlib.sha256(target.read_bytes()).hexdigest() == sha256
    assert not [path for path in (cache / "blobs").iterdir() if path.name.startswith(".")], (
        "a download left a temp file"
    )

    fetched = _cached(cache)
    assert weights_path(weights=base) == folder and _cached(cache) == fetched  # a second use downloads nothing


def test_a_damaged_copy_in_the_store_is_refused_and_nothing_is_cached(s3_blobs, s3_endpoint, tiny):
    lora = tiny["lora_a"]
    s3_endpoint.client().put_object(
        Bucket=s3_blobs, Key=f"blobs/{blob_storage_name(lora.blob_id)}", Body=b"not the weights"
    )
    with pytest.raises(ApplicationError, match="damaged") as raised:
        weights_path(weights=lora)
    assert raised.value.extra["code"] == "damaged_weights"
    assert _cached(Path(settings.SEED_MODEL_CACHE)) == {}


def test_a_file_missing_from_the_store_names_the_model_to_register_again(s3_blobs, s3_endpoint, tiny):
    lora = tiny["lora_b"]
    s3_endpoint.client().delete_object(Bucket=s3_blobs, Key=f"blobs/{blob_storage_name(lora.blob_id)}")
    with pytest.raises(ApplicationError, match="register it again") as raised:
        weights_path(weights=lora)
    assert raised.value.extra["code"] == "missing_weights"


def test_the_cache_keeps_to_its_size_by_evicting_the_least_recently_used(s3_blobs, tiny, settings):
    first, second, third = tiny["lora_a"], tiny["lora_b"], tiny["upscaler_x2"]
    cache = Path(settings.SEED_MODEL_CACHE)
    weights_path(weights=first)
    weights_path(weights=second)
    sizes = _cached(cache)
    settings.SEED_MODEL_CACHE_BYTES = sizes[first.blob_id] + sizes[second.blob_id]
    an_hour_ago = time.time() - 3600
    os.utime(cache / "blobs" / second.blob_id, (an_hour_ago, an_hour_ago))
    os.utime(cache / "blobs" / first.blob_id, (an_hour_ago + 60, an_hour_ago + 60))

    weights_path(weights=third)
    left = _cached(cache)
    assert second.blob_id not in left, "the least recently used file stayed past the cap"
    assert third.blob_id in left
    assert sum(left.values()) <= settings.SEED_MODEL_CACHE_BYTES or list(left) == [third.blob_id]

    link = weights_path(weights=second)  # evicted, then used again: fetched again, its link valid
    assert hashlib.sha256(link.resolve().read_bytes()).hexdigest() == second.blob_id
