"""The kinds of value a SEED_* setting takes: how each parses an environment text and how the table names it."""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True, kw_only=True)
class Kind:
    label: str
    parse: Callable[..., object]


def _integer_parse(*, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("not an integer") from None


def _number_parse(*, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _boolean_parse(*, text: str) -> bool:
    if text.lower() in {"1", "true", "yes", "on"}:
        return True
    if text.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("not a boolean (1/0, true/false, yes/no, on/off)")


def _text_parse(*, text: str) -> str:
    return text


def _name_parse(*, text: str) -> str:
    if not text.strip():
        raise ValueError("empty: a name is needed")
    return text


def _path_parse(*, text: str) -> Path:
    # An empty value would silently become the working directory.
    if not text.strip():
        raise ValueError("empty: a path is needed")
    return Path(text)


def _url_parse(*, text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("not an http:// or https:// URL with a host")
    return text


def _url_or_empty_parse(*, text: str) -> str:
    return _url_parse(text=text) if text else text


def _networks_parse(*, text: str) -> list[str]:
    networks = [item.strip() for item in text.split(",") if item.strip()]
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(f"{network!r} is not a CIDR network (such as 10.0.0.0/8 or fd00::/8)") from None
    return networks


def _rate_parse(*, text: str) -> str:
    # Django REST framework reads a rate as a count and the first letter of its period.
    if not re.fullmatch(r"[0-9]+/[smhd][a-z]*", text):
        raise ValueError("not a rate such as 10/min, 100/hour or 5/s")
    return text


def _bind_parse(*, text: str) -> str:
    if (text.startswith("unix:") and len(text) > len("unix:")) or re.fullmatch(r"fd://[0-9]+", text):
        return text
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("not HOST:PORT, unix:PATH or fd://N")
    return text


def _bucket_parse(*, text: str) -> str:
    if text and not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", text):
        raise ValueError("not an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)")
    return text


def _password_parse(*, text: str) -> str:
    # docker-compose.yml writes it into DATABASE_URL as it is.
    if not re.fullmatch(r"[A-Za-z0-9._~-]+", text):
        raise ValueError("empty or has characters a URL would misread: use letters, digits and - . _ ~")
    return text


def choices_kind_make(*, choices: tuple[str, ...]) -> Kind:
    def parse(*, text: str) -> str:
        if text not in choices:
            raise ValueError(f"not one of {', '.join(choices)}")
        return text

    quoted = [f"`{choice}`" for choice in choices]
    label = " or ".join(quoted) if len(quoted) == 2 else f"one of {', '.join(quoted)}"
    return Kind(label=label, parse=parse)


INTEGER = Kind(label="integer", parse=_integer_parse)
BYTES = Kind(label="bytes", parse=_integer_parse)
SECONDS = Kind(label="seconds", parse=_integer_parse)
HOURS = Kind(label="hours", parse=_integer_parse)
DAYS = Kind(label="days", parse=_integer_parse)
NUMBER = Kind(label="number", parse=_number_parse)
BOOLEAN = Kind(label="boolean (1/0, true/false, yes/no, on/off)", parse=_boolean_parse)
TEXT = Kind(label="text", parse=_text_parse)
SECRET = Kind(label="text, secret", parse=_text_parse)
NAME = Kind(label="text, not empty", parse=_name_parse)
PATH = Kind(label="path", parse=_path_parse)
URL = Kind(label="http(s) URL", parse=_url_parse)
URL_OR_EMPTY = Kind(label="http(s) URL or empty", parse=_url_or_empty_parse)
NETWORKS = Kind(label="comma-separated CIDR networks", parse=_networks_parse)
RATE = Kind(label="rate: N/s, N/min, N/hour or N/day", parse=_rate_parse)
BIND = Kind(label="HOST:PORT, unix:PATH or fd://N", parse=_bind_parse)
BUCKET = Kind(label="S3 bucket name or empty", parse=_bucket_parse)
PASSWORD = Kind(label="letters, digits, `-._~`", parse=_password_parse)
LOG_FORMAT = choices_kind_make(choices=("plain", "json"))
LOG_LEVEL = choices_kind_make(choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
C2PA_ALG = choices_kind_make(choices=("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519"))
RELIABILITY = choices_kind_make(choices=("short", "full"))
