"""Every SEED_* environment setting in one declaration: what it does, its default, the values it takes, who sets it.

config/settings read their SEED_* values through setting_read, the start-up check (config/checks.py) validates the
environment against this declaration, and the table in docs/operator.md is rendered from it
(`python -m config.settings_catalogue` prints it; tests/assets/test_settings_catalogue.py holds the two together).
Standard library only: the settings import it before Django is configured.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from config.localpg import DEFAULT_PORT


class OutOfRange(ValueError):
    """The value parses but lies outside the setting's bounds (a separate check id from one that does not parse)."""


class Who(enum.Enum):
    REQUIRED = "production: required"
    PRODUCTION = "production"
    ANY = "any, to tune"
    DEV = "development"
    TESTS = "tests, benches"


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


SETTINGS = (
    # Where things live.
    Setting(
        name="SEED_MEDIA_ROOT",
        kind=PATH,
        default="{BASE_DIR}/.media",
        who=Who.PRODUCTION,
        meaning="the root of every local folder below (`/data/media` in the Docker image)",
    ),
    Setting(
        name="SEED_STATIC_ROOT",
        kind=PATH,
        default="{BASE_DIR}/.media/static",
        who=Who.ANY,
        meaning="where `collectstatic` writes",
    ),
    Setting(
        name="SEED_STAGING_DIR",
        kind=PATH,
        default="{MEDIA_ROOT}/staging",
        who=Who.ANY,
        meaning="scratch for hashing uploads before they are stored; a local disk even with S3",
    ),
    Setting(
        name="SEED_SCRATCH_DIR",
        kind=PATH,
        default="{MEDIA_ROOT}/scratch",
        who=Who.ANY,
        meaning="worker scratch files",
    ),
    Setting(
        name="SEED_S3_BUCKET",
        kind=BUCKET,
        default="",
        who=Who.PRODUCTION,
        meaning="when set, blobs go to this S3-compatible bucket (django-storages; `pip install '.[s3]'`); every host "
        "of several must share it",
    ),
    Setting(
        name="SEED_S3_ENDPOINT_URL",
        kind=URL_OR_EMPTY,
        default="",
        who=Who.PRODUCTION,
        meaning="the S3 endpoint, e.g. MinIO's (empty: AWS); credentials in `AWS_*`",
    ),
    Setting(name="SEED_S3_PREFIX", kind=TEXT, default="blobs", who=Who.ANY, meaning="key prefix in the bucket"),
    # Limits on what comes in.
    Setting(
        name="SEED_MAX_UPLOAD_BYTES",
        kind=BYTES,
        default=50 * 1024**2,
        minimum=1,
        who=Who.ANY,
        meaning="largest request body",
    ),
    Setting(
        name="SEED_MAX_IMAGE_PIXELS",
        kind=INTEGER,
        default=64 * 1024**2,
        shown="`67108864` (64 Mpx)",
        minimum=1,
        who=Who.ANY,
        meaning="largest decoded image, in pixels (Pillow refuses twice this outright)",
    ),
    Setting(
        name="SEED_MAX_METADATA_BYTES",
        kind=BYTES,
        default=64 * 1024,
        minimum=1,
        who=Who.ANY,
        meaning="largest image metadata",
    ),
    Setting(
        name="SEED_MAX_ICC_BYTES",
        kind=BYTES,
        default=1024**2,
        minimum=1,
        who=Who.ANY,
        meaning="largest embedded ICC profile",
    ),
    Setting(
        name="SEED_GRID_MAX_CELLS",
        kind=INTEGER,
        default=200,
        minimum=1,
        who=Who.ANY,
        meaning="a comparison grid with more cells is refused (one image per cell)",
    ),
    Setting(
        name="SEED_PACK_MAX_MEMBERS",
        kind=INTEGER,
        default=20_000,
        minimum=1,
        who=Who.ANY,
        meaning="reproduction pack import: most archive members",
    ),
    Setting(
        name="SEED_PACK_MAX_MANIFEST_BYTES",
        kind=BYTES,
        default=64 * 1024**2,
        minimum=1,
        who=Who.ANY,
        meaning="… largest manifest",
    ),
    Setting(
        name="SEED_PACK_MAX_WEIGHTS_FILE_BYTES",
        kind=BYTES,
        default=20 * 1024**3,
        minimum=1,
        who=Who.ANY,
        meaning="… largest model file",
    ),
    Setting(
        name="SEED_PACK_MAX_BYTES",
        kind=BYTES,
        default=100 * 1024**3,
        minimum=1,
        who=Who.ANY,
        meaning="… largest pack",
    ),
    # The API and its guards.
    Setting(
        name="SEED_API_PAGE_SIZE",
        kind=INTEGER,
        default=50,
        minimum=1,
        maximum=1000,
        who=Who.ANY,
        meaning="API page size",
    ),
    Setting(
        name="SEED_API_TOKEN_RATE",
        kind=RATE,
        default="10/min",
        who=Who.ANY,
        meaning="token requests per address (`POST /api/auth/token/`)",
    ),
    Setting(
        name="SEED_API_TOKEN_DAYS",
        kind=DAYS,
        default=30,
        minimum=1,
        who=Who.ANY,
        meaning="API keys stop working this many days after they are issued",
    ),
    Setting(
        name="SEED_NUM_PROXIES",
        kind=INTEGER,
        default=0,
        minimum=0,
        who=Who.PRODUCTION,
        meaning="reverse proxies in front: throttles then use the address the outermost one saw (0: the peer's)",
    ),
    Setting(
        name="SEED_LOGIN_FAILURES_PER_MINUTE",
        kind=INTEGER,
        default=10,
        minimum=1,
        who=Who.ANY,
        meaning="failed admin sign-ins from one address in a minute before 429",
    ),
    Setting(
        name="SEED_SHARE_FAILURES_PER_MINUTE",
        kind=INTEGER,
        default=20,
        minimum=1,
        who=Who.ANY,
        meaning="unknown, expired or revoked share links from one address in a minute before 429",
    ),
    # Workers.
    Setting(
        name="SEED_Q_WORKERS",
        kind=INTEGER,
        default=1,
        minimum=1,
        who=Who.ANY,
        meaning="worker processes of the single cluster",
    ),
    Setting(
        name="SEED_Q_TIMEOUT",
        kind=SECONDS,
        default=1800,
        minimum=1,
        who=Who.ANY,
        meaning="task timeout (covers the job, not the worker's imports)",
    ),
    Setting(
        name="SEED_Q_RETRY",
        kind=SECONDS,
        default=2100,
        minimum=1,
        who=Who.ANY,
        meaning="before an unacknowledged task is handed out again; must exceed `SEED_Q_TIMEOUT`",
    ),
    Setting(
        name="SEED_Q_MAX_ATTEMPTS",
        kind=INTEGER,
        default=3,
        minimum=1,
        who=Who.ANY,
        meaning="attempts per task (django-q2 would read 0 as without end)",
    ),
    Setting(
        name="SEED_Q_QUEUE_LIMIT",
        kind=INTEGER,
        default=1,
        minimum=1,
        who=Who.ANY,
        meaning="tasks a cluster takes ahead of its workers",
    ),
    Setting(
        name="SEED_SPLIT_CLUSTERS",
        kind=BOOLEAN,
        default=False,
        who=Who.PRODUCTION,
        meaning='route work to the `gpu` and `cpu` clusters (see "Hosts")',
    ),
    Setting(
        name="SEED_Q_GPU_WORKERS",
        kind=INTEGER,
        default=1,
        minimum=1,
        who=Who.PRODUCTION,
        meaning="workers of the `gpu` cluster (one per GPU)",
    ),
    Setting(
        name="SEED_Q_CPU_WORKERS",
        kind=INTEGER,
        default=2,
        minimum=1,
        who=Who.PRODUCTION,
        meaning="workers of the `cpu` cluster",
    ),
    Setting(
        name="SEED_WORKER_HEARTBEAT_S",
        kind=SECONDS,
        default=30,
        minimum=1,
        who=Who.ANY,
        meaning="how often a worker touches its row; `seed_status` calls one silent for 90 s dead",
    ),
    Setting(
        name="SEED_TORCH_THREADS",
        kind=INTEGER,
        default=1,
        minimum=1,
        who=Who.ANY,
        meaning="CPU threads per derivation; recorded and pinned by `reproduce`; changes the bytes, so one number "
        "for the whole fleet",
    ),
    Setting(
        name="SEED_MODEL_CACHE",
        kind=PATH,
        default="{MEDIA_ROOT}/model-cache",
        who=Who.ANY,
        meaning="where a worker lays out model folders and keeps its verified copies of model files",
    ),
    Setting(
        name="SEED_MODEL_CACHE_BYTES",
        kind=BYTES,
        default=200 * 1024**3,
        minimum=0,
        who=Who.PRODUCTION,
        meaning="past this the least recently used model files go (0: no limit)",
    ),
    Setting(
        name="SEED_MODEL_CONFIGS",
        kind=PATH,
        default="{BASE_DIR}/generation/configs",
        who=Who.ANY,
        meaning="architecture configs for single-file checkpoints (never fetched from a hub)",
    ),
    Setting(
        name="SEED_PIPELINE_CACHE",
        kind=INTEGER,
        default=3,
        minimum=1,
        who=Who.ANY,
        meaning="loaded models a worker keeps (least recently used out)",
    ),
    Setting(
        name="SEED_PIPELINE_CACHE_BYTES",
        kind=BYTES,
        default=0,
        minimum=0,
        who=Who.ANY,
        meaning="… and their bytes (0: no limit)",
    ),
    # Observability.
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
    # Signing and delivery.
    Setting(
        name="SEED_DEV_KEYS_DIR",
        kind=PATH,
        default="{BASE_DIR}/.seed-keys",
        who=Who.DEV,
        meaning="where `c2pa_dev_ca` (and the demo, when it finds none) makes the development signer",
    ),
    Setting(
        name="SEED_C2PA_CERT",
        kind=PATH,
        default="{SEED_DEV_KEYS_DIR}/signer-chain.pem",
        who=Who.REQUIRED,
        meaning="the signer's certificate chain",
    ),
    Setting(
        name="SEED_C2PA_KEY",
        kind=PATH,
        default="{SEED_DEV_KEYS_DIR}/signer-key.pem",
        who=Who.REQUIRED,
        meaning="the signer's private key (PKCS#8); it signs the audit checkpoints too",
    ),
    Setting(
        name="SEED_C2PA_TRUST_ANCHORS",
        kind=PATH,
        default="{SEED_DEV_KEYS_DIR}/root.pem",
        who=Who.REQUIRED,
        meaning="the roots that verify it",
    ),
    Setting(
        name="SEED_STUDIO_NAME",
        kind=NAME,
        default="Seed studio",
        who=Who.PRODUCTION,
        meaning="written into EXIF Artist and the C2PA claim of delivered files",
    ),
    Setting(
        name="SEED_C2PA_ALG",
        kind=C2PA_ALG,
        default="es256",
        who=Who.ANY,
        meaning="the C2PA signer's algorithm (it must match the key)",
    ),
    Setting(
        name="SEED_C2PA_TSA_URL",
        kind=URL_OR_EMPTY,
        default="",
        who=Who.ANY,
        meaning="a time-stamp authority's URL for the C2PA signer (none when empty)",
    ),
    Setting(
        name="SEED_DELIVERY_DIR",
        kind=PATH,
        default="{MEDIA_ROOT}/deliveries",
        who=Who.ANY,
        meaning="delivered files and their zip bundle, under `<id>/`",
    ),
    Setting(
        name="SEED_AUDIT_CHECKPOINT_DIR",
        kind=PATH,
        default="{MEDIA_ROOT}/audit-checkpoints",
        who=Who.PRODUCTION,
        meaning="signed audit checkpoints; in production storage the database's users cannot write",
    ),
    Setting(
        name="SEED_DELIVERY_THREADS",
        kind=INTEGER,
        default=min(8, os.cpu_count() or 1),
        shown="CPUs, at most 8",
        minimum=1,
        who=Who.ANY,
        meaning="threads that crop, resize and check one delivery's variants",
    ),
    Setting(
        name="SEED_QC_MIN_DELTA_E",
        kind=NUMBER,
        default=10.0,
        minimum=0,
        maximum=100,
        who=Who.ANY,
        meaning="QC: least ΔE2000 between an image's dominant colour and its page background",
    ),
    Setting(
        name="SEED_QC_PALETTE_DELTA_E",
        kind=NUMBER,
        default=12.0,
        minimum=0,
        maximum=100,
        who=Who.ANY,
        meaning="QC: how close (ΔE2000) a pixel must be to a brand colour to count",
    ),
    Setting(
        name="SEED_QC_PALETTE_MIN_SHARE",
        kind=NUMBER,
        default=0.02,
        minimum=0,
        maximum=1,
        who=Who.ANY,
        meaning="QC: the share of pixels brand colours must cover together",
    ),
    Setting(
        name="SEED_VERIFY_MAX_HASH_DISTANCE",
        kind=INTEGER,
        default=10,
        minimum=0,
        maximum=64,
        who=Who.ANY,
        meaning='`verify`: a copy is "perceptual" within this many bits of the 64-bit hash',
    ),
    # Notifications, watches and webhooks.
    Setting(
        name="SEED_BASE_URL",
        kind=URL,
        default="http://127.0.0.1:8000",
        who=Who.PRODUCTION,
        meaning="absolute links in e-mails; production that sends mail (`EMAIL_HOST`) needs the site's own",
    ),
    Setting(
        name="SEED_OUTBOX_DIR",
        kind=PATH,
        default="{MEDIA_ROOT}/outbox",
        who=Who.ANY,
        meaning="without `EMAIL_HOST`, every message is written here as `.eml`",
    ),
    Setting(
        name="SEED_REMINDER_LEAD_HOURS",
        kind=HOURS,
        default=24,
        minimum=0,
        who=Who.ANY,
        meaning="reminder this long before a round's deadline to invitees who have not decided",
    ),
    Setting(
        name="SEED_LICENCE_WARN_DAYS",
        kind=DAYS,
        default=30,
        minimum=0,
        who=Who.ANY,
        meaning="producers hear of deliveries whose licences run out within this many days",
    ),
    Setting(
        name="SEED_WATCH_CADENCE_DAYS",
        kind=DAYS,
        default=7,
        minimum=1,
        who=Who.ANY,
        meaning="the reproducibility watch re-checks each final-approved master this often",
    ),
    Setting(
        name="SEED_WATCH_BUDGET_S",
        kind=SECONDS,
        default=3600,
        minimum=0,
        maximum=24 * 3600,
        who=Who.ANY,
        meaning="… spending at most this many worker seconds a night",
    ),
    Setting(
        name="SEED_WEBHOOK_TRIES",
        kind=INTEGER,
        default=5,
        minimum=1,
        who=Who.ANY,
        meaning="tries per webhook event (backing off 1, 5, 25 … minutes)",
    ),
    Setting(
        name="SEED_WEBHOOK_DISABLE_AFTER",
        kind=INTEGER,
        default=10,
        minimum=1,
        who=Who.ANY,
        meaning="consecutive failures that switch an endpoint off",
    ),
    Setting(
        name="SEED_WEBHOOK_TIMEOUT",
        kind=SECONDS,
        default=10,
        minimum=1,
        maximum=300,
        who=Who.ANY,
        meaning="per webhook call",
    ),
    Setting(
        name="SEED_WEBHOOK_ALLOWED_NETWORKS",
        kind=NETWORKS,
        default=[],
        who=Who.ANY,
        meaning="webhooks may call only public addresses, except inside these networks (a receiver on the "
        "studio's LAN)",
    ),
    Setting(
        name="SEED_WEBHOOK_KEY",
        kind=SECRET,
        default="",
        shown="empty (derived from `DJANGO_SECRET_KEY`)",
        who=Who.PRODUCTION,
        meaning="seals endpoint secrets at rest; set it to rotate `DJANGO_SECRET_KEY` without losing them",
    ),
    # Read outside Django's settings.
    Setting(
        name="SEED_BIND",
        kind=BIND,
        default="0.0.0.0:8000",
        who=Who.PRODUCTION,
        meaning="where gunicorn listens (`config/gunicorn.conf.py`)",
    ),
    Setting(
        name="SEED_WEB_WORKERS",
        kind=INTEGER,
        default=3,
        minimum=1,
        who=Who.PRODUCTION,
        meaning="gunicorn's worker processes",
    ),
    Setting(
        name="SEED_PG_PORT",
        kind=INTEGER,
        default=DEFAULT_PORT,
        minimum=1,
        maximum=65535,
        who=Who.DEV,
        meaning="port of the project-local Postgres (`config/localpg.py`), used when `DATABASE_URL` is unset",
    ),
    Setting(
        name="SEED_PGDATA",
        kind=PATH,
        default="{BASE_DIR}/.pgdata",
        who=Who.DEV,
        meaning="data folder of the project-local Postgres",
    ),
    Setting(
        name="SEED_APP_DB_PASSWORD",
        kind=PASSWORD,
        default=None,
        shown="none: required by `docker-compose.yml`",
        who=Who.PRODUCTION,
        meaning="password of `seed_app`, the role the web app and the workers connect as (`config/postgres/roles.sh`)",
    ),
    Setting(
        name="SEED_APP_DB_USER",
        kind=NAME,
        default="seed_app",
        shown="`seed_app` (set by `docker-compose.yml`)",
        who=Who.PRODUCTION,
        meaning="that role's name, for `config/postgres/roles.sh`",
    ),
    Setting(
        name="SEED_KEYS_DIR",
        kind=PATH,
        default="./keys",
        who=Who.PRODUCTION,
        meaning="`docker-compose.yml`: the host folder of the signing keys, mounted read-only at `/keys`",
    ),
    Setting(
        name="SEED_MODEL_STORE",
        kind=PATH,
        default="./models",
        who=Who.PRODUCTION,
        meaning="`docker-compose.yml`: the GPU host's model files, mounted read-only into the worker at `/models`",
    ),
    Setting(
        name="SEED_RELIABILITY",
        kind=RELIABILITY,
        default="short",
        who=Who.TESTS,
        meaning="`full` runs the 500-job, 20-kill fault suite (`make reliability`)",
    ),
    Setting(
        name="SEED_FUZZ_EXAMPLES",
        kind=INTEGER,
        default=6,
        minimum=1,
        who=Who.TESTS,
        meaning="examples per API fuzz test (`tests/security/test_api_fuzz.py`)",
    ),
    Setting(
        name="SEED_TEST_ARTIFACTS",
        kind=PATH,
        default="{BASE_DIR}/.test-artifacts",
        who=Who.TESTS,
        meaning="where the browser tests leave their screenshots",
    ),
    Setting(
        name="SEED_Q_POLL",
        kind=TEXT,
        default="default",
        who=Who.TESTS,
        meaning="a label `bench/notify.py` prints for the worker poll it ran with (it sets nothing)",
    ),
)
CATALOGUE: Mapping[str, Setting] = {setting.name: setting for setting in SETTINGS}


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


def settings_table_render() -> str:
    """The table docs/operator.md shows, in the order of the declaration."""
    lines = ["| setting | default | values | who sets it | what it does |", "| --- | --- | --- | --- | --- |"]
    lines += [
        f"| `{setting.name}` | {setting_default_describe(setting=setting)} | "
        f"{setting_values_describe(setting=setting)} | {setting.who.value} | {setting.meaning} |"
        for setting in SETTINGS
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(settings_table_render(), end="")
