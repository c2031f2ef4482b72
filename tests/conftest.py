"""Tests run on a real Postgres: DATABASE_URL when set, otherwise a throwaway cluster for this session."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from config.localpg import Cluster, free_port


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    from django.conf import settings

    if os.environ.get("DATABASE_URL"):
        yield
        return
    data_dir = Path(tempfile.mkdtemp(prefix="seed-test-pg-")) / "data"
    cluster = Cluster(data_dir=data_dir, port=free_port(), fast=True)
    cluster.up()
    settings.DATABASES["default"].update(HOST="127.0.0.1", PORT=str(cluster.port), CONN_MAX_AGE=0)
    try:
        yield
    finally:
        from django.db import connections

        connections.close_all()
        cluster.stop()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test gets empty storages, so a test can assert that nothing was written.

    Changing STORAGES through the settings fixture makes Django drop its cached storage backends.
    """
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    settings.SEED_STAGING_DIR = root / "staging"
    settings.SEED_MODEL_CACHE = root / "model-cache"
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {**settings.STORAGES["blobs"], "OPTIONS": {"location": str(root / "blobs")}},
        "derived": {**settings.STORAGES["derived"], "OPTIONS": {"location": str(root / "derived")}},
    }
    return root
