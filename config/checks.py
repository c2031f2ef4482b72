"""The start-up check of the SEED_* environment against its declaration (config/settings_catalogue/).

Registered by assets' AppConfig, so every command that runs the system checks (check, migrate, runserver,
qcluster …) runs it. The settings fall back to the default on a value they cannot use (setting_read), so what an
operator sees of a bad value is this check's message naming the setting and the value. Ids: seed.E010–E016 and
seed.W010–W011; delivery/checks.py holds seed.E001–E003 (the signer's files, with --deploy).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.core.checks import CheckMessage, Error
from django.core.checks import Warning as CheckWarning

from config.settings_catalogue import (
    CATALOGUE,
    OutOfRange,
    Who,
    setting_default,
    setting_default_describe,
    setting_parse,
    setting_values_describe,
)

PRODUCTION_SETTINGS = "config.settings.production"
# What redis-py's from_url reads; anything else raises in the web process at the first send.
REDIS_SCHEMES = ("redis", "rediss", "unix")


def _value(*, environ: Mapping[str, str], name: str) -> object:
    """What the settings use: the environment's value, or the default where it is unset or already reported."""
    setting = CATALOGUE[name]
    if name in environ:
        try:
            return setting_parse(setting=setting, text=environ[name])
        except ValueError:
            pass
    return setting_default(setting=setting, places={})


def _values_check(*, environ: Mapping[str, str]) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for name, setting in CATALOGUE.items():
        if name not in environ:
            continue
        text, hint = environ[name], f"{name}: {setting_values_describe(setting=setting)}"
        try:
            setting_parse(setting=setting, text=text)
        except OutOfRange as exc:
            messages.append(Error(f"{name}={text!r} is {exc}", hint=hint, id="seed.E011"))
        except ValueError as exc:
            messages.append(Error(f"{name}={text!r}: {exc}", hint=hint, id="seed.E010"))
    messages += [
        CheckWarning(
            f"{name} is set but Seed has no such setting",
            hint="a misspelt name leaves the real setting at its default; docs/operator.md lists them all",
            id="seed.W010",
        )
        for name in sorted(environ)
        if name.startswith("SEED_") and name not in CATALOGUE
    ]
    return messages


def _combinations_check(*, environ: Mapping[str, str]) -> list[CheckMessage]:
    from assets.metrics import WORKER_SILENT_AFTER

    messages: list[CheckMessage] = []
    timeout, retry = _value(environ=environ, name="SEED_Q_TIMEOUT"), _value(environ=environ, name="SEED_Q_RETRY")
    if retry <= timeout:
        messages.append(
            Error(
                f"SEED_Q_RETRY ({retry} s) does not exceed SEED_Q_TIMEOUT ({timeout} s)",
                hint="the broker would hand a task that is still running to a second worker; make the retry longer",
                id="seed.E013",
            )
        )
    heartbeat, silent = _value(environ=environ, name="SEED_WORKER_HEARTBEAT_S"), WORKER_SILENT_AFTER.total_seconds()
    if heartbeat >= silent:
        messages.append(
            Error(
                f"SEED_WORKER_HEARTBEAT_S ({heartbeat} s) is not under the {silent:g} s after which a silent worker "
                "counts as dead",
                hint="live workers would show as dead between their beats (the default beats three times in that time)",
                id="seed.E014",
            )
        )
    on_redis = [
        name
        for name in ("SEED_Q_BROKER", "SEED_Q_GPU_BROKER", "SEED_Q_CPU_BROKER")
        if _value(environ=environ, name=name) == "redis"
    ]
    if on_redis and not environ.get("SEED_REDIS_URL"):
        messages.append(
            Error(
                f"{', '.join(on_redis)} set to redis, but SEED_REDIS_URL is empty",
                hint="name the Redis server, e.g. SEED_REDIS_URL=redis://redis:6379/0",
                id="seed.E016",
            )
        )
    elif on_redis and urlsplit(environ["SEED_REDIS_URL"]).scheme not in REDIS_SCHEMES:
        # Not the value: it may carry the server's password. Unchecked, every send would raise after its commit.
        messages.append(
            Error(
                f"{', '.join(on_redis)} set to redis, but SEED_REDIS_URL is not a redis://, rediss:// or unix:// URL",
                hint="name the Redis server, e.g. SEED_REDIS_URL=redis://redis:6379/0",
                id="seed.E016",
            )
        )
    if not environ.get("SEED_S3_BUCKET"):
        messages += [
            CheckWarning(
                f"{name} is set but SEED_S3_BUCKET is not, so blobs stay on the local disk",
                hint="set SEED_S3_BUCKET too, or drop the S3 settings",
                id="seed.W011",
            )
            for name in ("SEED_S3_ENDPOINT_URL", "SEED_S3_PREFIX")
            if environ.get(name)
        ]
    return messages


def _production_check(*, environ: Mapping[str, str]) -> list[CheckMessage]:
    messages: list[CheckMessage] = [
        Error(
            f"{name} is not set: production would use its development default, "
            f"{setting_default_describe(setting=setting).replace('`', '')}",
            hint=f"set {name} to the studio's own ({setting.meaning})",
            id="seed.E012",
        )
        for name, setting in CATALOGUE.items()
        if setting.who is Who.REQUIRED and not environ.get(name)
    ]
    base_url = _value(environ=environ, name="SEED_BASE_URL")
    if environ.get("EMAIL_HOST") and _loopback(host=urlsplit(base_url).hostname or ""):
        messages.append(
            Error(
                f"SEED_BASE_URL is {base_url} while EMAIL_HOST sends mail",
                hint="every link in a sent message would point at the recipient's own machine; set the site's URL",
                id="seed.E015",
            )
        )
    return messages


def _loopback(*, host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_problems_find(*, environ: Mapping[str, str], production: bool) -> list[CheckMessage]:
    """Every problem of these environment values, the production-only ones too when production is set."""
    problems = _values_check(environ=environ) + _combinations_check(environ=environ)
    return problems + _production_check(environ=environ) if production else problems


def settings_check(app_configs, **kwargs) -> list[CheckMessage]:
    # Production is the production settings having been imported, not DJANGO_SETTINGS_MODULE naming them: a site's
    # own settings module that builds on them counts too.
    return settings_problems_find(environ=os.environ, production=PRODUCTION_SETTINGS in sys.modules)
