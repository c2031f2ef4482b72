"""One SEED_* setting's declaration: who sets it, its bounds, how a text becomes its value, how the table shows it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from config.settings_catalogue.kinds import BYTES, PATH, Kind


class OutOfRange(ValueError):
    """The value parses but lies outside the setting's bounds (a separate check id from one that does not parse)."""


class Who(enum.Enum):
    REQUIRED = "production: required"
    PRODUCTION = "production"
    ANY = "any, to tune"
    DEV = "development"
    TESTS = "tests, benches"


@dataclass(frozen=True, kw_only=True)
class Setting:
    name: str
    kind: Kind
    # The parsed value (None: there is none); for a path, a template whose {PLACE}s the reader fills in (BASE_DIR,
    # MEDIA_ROOT …).
    default: object
    meaning: str
    who: Who
    minimum: float | None = None
    maximum: float | None = None
    # The table's default, where the value itself depends on the machine.
    shown: str = ""
    production_default: object = None


def setting_parse(*, setting: Setting, text: str) -> object:
    """The value an environment text stands for; ValueError (OutOfRange past a bound) says what is wrong with it."""
    value = setting.kind.parse(text=text)
    if setting.minimum is not None and value < setting.minimum:
        raise OutOfRange(f"less than {setting.minimum:g}")
    if setting.maximum is not None and value > setting.maximum:
        raise OutOfRange(f"more than {setting.maximum:g}")
    return value


def setting_default(*, setting: Setting, places: Mapping[str, object], production: bool = False) -> object:
    if production and setting.production_default is not None:
        return setting.production_default
    if setting.kind is PATH:
        return Path(str(setting.default).format_map(places))
    # A list default is shared by every reader; each gets its own.
    return list(setting.default) if isinstance(setting.default, list) else setting.default


def _bytes_describe(*, value: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if value >= size and value % size == 0:
            return f"`{value}` ({value // size} {unit})"
    return f"`{value}`"


def setting_default_describe(*, setting: Setting) -> str:
    if setting.shown:
        return setting.shown
    default = setting.default
    if setting.kind is PATH:
        described = f"`{str(default).replace('{BASE_DIR}/', '').replace('{', '').replace('}', '')}`"
    elif isinstance(default, bool):
        described = "on" if default else "off"
    elif default in ("", []):
        described = "empty"
    elif setting.kind is BYTES and isinstance(default, int):
        described = _bytes_describe(value=default)
    elif isinstance(default, float):
        described = f"`{default:g}`"
    else:
        described = f"`{default}`"
    if setting.production_default is not None:
        described += f" (`{setting.production_default}` in production)"
    return described


def setting_values_describe(*, setting: Setting) -> str:
    low, high = setting.minimum, setting.maximum
    if low is not None and high is not None:
        return f"{setting.kind.label}, {low:g} to {high:g}"
    if low is not None:
        return f"{setting.kind.label} ≥ {low:g}"
    if high is not None:
        return f"{setting.kind.label} ≤ {high:g}"
    return setting.kind.label
