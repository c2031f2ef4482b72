"""Tiny real models: written once per session, registered per test through the production registry."""

import shutil
import tempfile
from pathlib import Path

import pytest

from generation.services.models import tiny_paths_register

FAST = {"steps": 4, "cfg": 7.0, "width": 64, "height": 64, "sampler": "dpmpp_2m_karras"}


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
