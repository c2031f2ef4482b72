"""Tests run on a real Postgres: DATABASE_URL when set, otherwise a throwaway cluster for this session."""

import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from config.localpg import Cluster, free_port
from config.localredis import RedisServer
from generation.services.models import tiny_paths_register
from tests.factories import image_file, make_brief, member


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    # SIGTERM (a CI time limit, kill of the process group) unwinds like Ctrl-C: fixtures then stop the
    # Postgres clusters, workers and web servers they started instead of leaving them running.
    signal.signal(signal.SIGTERM, _interrupt)


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


@pytest.fixture(scope="session")
def c2pa_keys(tmp_path_factory):
    """One development CA and signer for the whole run, made exactly as the set-up makes it."""
    from delivery.keys import dev_ca_create

    return dev_ca_create(folder=tmp_path_factory.mktemp("c2pa-keys"))


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path, c2pa_keys):
    """Every test gets empty storages, so a test can assert that nothing was written.

    Changing STORAGES through the settings fixture makes Django drop its cached storage backends.
    """
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    settings.SEED_STAGING_DIR = root / "staging"
    settings.SEED_MODEL_CACHE = root / "model-cache"
    settings.SEED_DELIVERY_DIR = root / "deliveries"
    settings.SEED_AUDIT_CHECKPOINT_DIR = root / "audit-checkpoints"
    settings.SEED_OUTBOX_DIR = root / "outbox"
    settings.SEED_C2PA_CERT, settings.SEED_C2PA_KEY = c2pa_keys["chain"], c2pa_keys["key"]
    settings.SEED_C2PA_TRUST_ANCHORS = c2pa_keys["root"]
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {**settings.STORAGES["blobs"], "OPTIONS": {"location": str(root / "blobs")}},
        "derived": {**settings.STORAGES["derived"], "OPTIONS": {"location": str(root / "derived")}},
    }
    return root


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """Debian's redis-server on a loopback port for the session, started only by the tests that use a Redis broker."""
    server = RedisServer(folder=tmp_path_factory.mktemp("redis"), port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_endpoint():
    from tests.s3 import S3Endpoint

    endpoint = S3Endpoint().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def s3_blobs(settings, s3_endpoint):
    """The blob store in an S3 bucket of its own (on the loopback endpoint) for this test."""
    bucket = s3_endpoint.bucket_create()
    settings.STORAGES = {**settings.STORAGES, "blobs": s3_endpoint.storage_settings(bucket=bucket)}
    return bucket


@pytest.fixture(scope="session")
def tiny_files():
    from generation.tiny import tiny_models_write

    folder = Path(tempfile.mkdtemp(prefix="seed-tiny-test-"))
    yield tiny_models_write(folder=folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def tiny(db, tiny_files):
    return tiny_paths_register(paths=tiny_files)


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """Queue inside the block; tasks run on the worker path when the block's transaction callbacks fire."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def cast(db):
    """Alice produces, Bob reviews internally, Dana reviews for Aurora (client A), Charlie for Borealis (client B)."""
    from assets.services.versions import version_import
    from review.roles import CLIENT_REVIEWER, INTERNAL_REVIEWER, PRODUCER, roles_ensure

    roles_ensure()  # transactional tests flush the groups that migrate made
    brief_a = make_brief(client_name="Aurora", title="Aurora hero")
    brief_b = make_brief(client_name="Borealis", title="Borealis hero")
    return {
        "alice": member("alice", PRODUCER),
        "bob": member("bob", INTERNAL_REVIEWER),
        "dana": member("dana", CLIENT_REVIEWER, brief_a.campaign.client),
        "charlie": member("charlie", CLIENT_REVIEWER, brief_b.campaign.client),
        "brief_a": brief_a,
        "brief_b": brief_b,
        "version_a": version_import(
            brief=brief_a, source=image_file("a_master.png", colour=(200, 10, 10)), label="A master"
        ),
        "version_a2": version_import(
            brief=brief_a, source=image_file("a_alt.png", colour=(10, 200, 10)), label="A alt"
        ),
        "version_b": version_import(brief=brief_b, source=image_file(colour=(10, 10, 200)), label="B master"),
    }
