"""Tests: the database is a throwaway cluster started by tests/conftest.py (or DATABASE_URL)."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, STORAGES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Each test run gets its own media root; tests that need isolation override it per test.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="seed-test-media-"))
STORAGES = {
    **STORAGES,
    "default": {**STORAGES["default"], "OPTIONS": {"location": str(MEDIA_ROOT / "files")}},
    "blobs": {**STORAGES["blobs"], "OPTIONS": {"location": str(MEDIA_ROOT / "blobs")}},
    "derived": {**STORAGES["derived"], "OPTIONS": {"location": str(MEDIA_ROOT / "derived")}},
}
SEED_STAGING_DIR = MEDIA_ROOT / "staging"
# Transactional tests empty the tables with TRUNCATE between tests, which the append-only tables otherwise refuse.
_options = DATABASES["default"].setdefault("OPTIONS", {})
_options["options"] = f"{_options.get('options', '')} -c seed.allow_truncate=on".strip()
# Every test client calls from 127.0.0.1 and the cache outlives a test: refused share links and sign-ins of unrelated
# tests would add up to the guard's limit. The guard's own tests set theirs.
SEED_LOGIN_FAILURES_PER_MINUTE = SEED_SHARE_FAILURES_PER_MINUTE = 10_000
SEED_MODEL_CACHE = MEDIA_ROOT / "model-cache"
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
SEED_C2PA_CERT = MEDIA_ROOT / "keys" / "signer-chain.pem"
SEED_C2PA_KEY = MEDIA_ROOT / "keys" / "signer-key.pem"
SEED_C2PA_TRUST_ANCHORS = MEDIA_ROOT / "keys" / "root.pem"
SEED_DELIVERY_DIR = MEDIA_ROOT / "deliveries"
SEED_AUDIT_CHECKPOINT_DIR = MEDIA_ROOT / "audit-checkpoints"
