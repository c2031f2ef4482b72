"""The one check every hostile-input test ends with: nothing written anywhere."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.apps import apps

COUNTED_APPS = ("assets", "generation", "review", "delivery")


def media_state(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app in COUNTED_APPS
        for model in apps.get_app_config(app).get_models()
    }


@pytest.fixture
def untouched(media_root):
    """Asserts after the test that neither the database nor the media root changed."""
    media_root.mkdir(parents=True, exist_ok=True)
    before = (row_counts(), media_state(media_root))
    yield
    assert (row_counts(), media_state(media_root)) == before
