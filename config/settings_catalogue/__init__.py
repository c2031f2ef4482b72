"""Every SEED_* environment setting in one declaration: what it does, its default, the values it takes, who sets it.

config/settings read their SEED_* values through setting_read, the start-up check (config/checks.py) validates the
environment against this declaration, and the table in docs/operator.md is rendered from it
(`python -m config.settings_catalogue` prints it; tests/assets/test_settings_catalogue.py holds the two together).
Standard library only: the settings import it before Django is configured.

Each area's settings live in their own module; SETTINGS joins them in the order the table shows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from config.settings_catalogue import api, delivery, files, notifications, observability, outside, workers
from config.settings_catalogue.kinds import (
    BIND,
    BOOLEAN,
    BUCKET,
    BYTES,
    C2PA_ALG,
    DAYS,
    HOURS,
    INTEGER,
    LOG_FORMAT,
    LOG_LEVEL,
    NAME,
    NETWORKS,
    NUMBER,
    PASSWORD,
    PATH,
    RATE,
    RELIABILITY,
    SECONDS,
    SECRET,
    TEXT,
    URL,
    URL_OR_EMPTY,
    Kind,
    choices_kind_make,
)
from config.settings_catalogue.setting import (
    OutOfRange,
    Setting,
    Who,
    setting_default,
    setting_default_describe,
    setting_parse,
    setting_values_describe,
)

SETTINGS = (
    *files.SETTINGS,
    *api.SETTINGS,
    *workers.SETTINGS,
    *observability.SETTINGS,
    *delivery.SETTINGS,
    *notifications.SETTINGS,
    *outside.SETTINGS,
)
CATALOGUE: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}


def setting_read(*, name: str, places: Mapping[str, object] | None = None, production: bool = False) -> object:
    """The setting's value from the environment, else its default (a path's {PLACE}s filled in from places).

    A value that does not parse or lies out of bounds gives the default too: the settings still load, and the
    start-up check (config/checks.py) names the setting and the value, where a traceback would have.
    """
    setting = CATALOGUE[name]
    text = os.environ.get(name)
    if text is not None:
        try:
            return setting_parse(setting=setting, text=text)
        except ValueError:
            pass
    return setting_default(setting=setting, places=places or {}, production=production)


def settings_table_render() -> str:
    """The table docs/operator.md shows, in the order of the declaration."""
    lines = ["| setting | default | values | who sets it | what it does |", "| --- | --- | --- | --- | --- |"]
    lines += [
        f"| `{setting.name}` | {setting_default_describe(setting=setting)} | "
        f"{setting_values_describe(setting=setting)} | {setting.who.value} | {setting.meaning} |"
        for setting in SETTINGS
    ]
    return "\n".join(lines) + "\n"


__all__ = [
    "BIND",
    "BOOLEAN",
    "BUCKET",
    "BYTES",
    "C2PA_ALG",
    "CATALOGUE",
    "DAYS",
    "HOURS",
    "INTEGER",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "NAME",
    "NETWORKS",
    "NUMBER",
    "PASSWORD",
    "PATH",
    "RATE",
    "RELIABILITY",
    "SECONDS",
    "SECRET",
    "SETTINGS",
    "TEXT",
    "URL",
    "URL_OR_EMPTY",
    "Kind",
    "OutOfRange",
    "Setting",
    "Who",
    "choices_kind_make",
    "setting_default",
    "setting_default_describe",
    "setting_parse",
    "setting_read",
    "setting_values_describe",
    "settings_table_render",
]
