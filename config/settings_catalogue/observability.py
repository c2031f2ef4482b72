"""Observability: metrics and logs."""

from __future__ import annotations

from config.settings_catalogue.kinds import LOG_FORMAT, LOG_LEVEL, NETWORKS, SECRET
from config.settings_catalogue.setting import Setting, Who

SETTINGS = (
    Setting(
        name="SEED_METRICS_TOKEN",
        kind=SECRET,
        default="",
        who=Who.PRODUCTION,
        meaning="`GET /metrics` answers `Authorization: Bearer` this token",
    ),
    Setting(
        name="SEED_METRICS_ALLOW",
        kind=NETWORKS,
        default=[],
        who=Who.PRODUCTION,
        meaning="… or requests from these networks (the direct peer); with neither set, 404",
    ),
    Setting(
        name="SEED_LOG_FORMAT",
        kind=LOG_FORMAT,
        default="plain",
        production_default="json",
        who=Who.ANY,
        meaning="one line per record on stdout; `json` for log shippers (gunicorn's own lines: `json` unless `plain`)",
    ),
    Setting(name="SEED_LOG_LEVEL", kind=LOG_LEVEL, default="INFO", who=Who.ANY, meaning="log level"),
)
