"""The environment fingerprint recorded with every derivation (workers add their ML fields to it)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment_fingerprint_base() -> dict:
    """What every process can report cheaply, without importing the ML stack."""
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": {name: _package_version(name) for name in ("seed", "Pillow", "Django")},
    }
