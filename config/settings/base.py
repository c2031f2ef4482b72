"""Settings shared by every environment; site-specific values come from the environment."""

import os
from pathlib import Path

from config.env import database_from_url, env_bool, env_int, env_list, env_networks, env_str
from config.localpg import DEFAULT_PORT
from config.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-local-development-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "assets",
    "generation",
    "review",
    "delivery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.RequestSizeLimitMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "config.middleware.FailedAttemptLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
# Staff sign in through the admin; there is no other login page.
LOGIN_URL = "admin:login"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        **database_from_url(
            env_str("DATABASE_URL", f"postgres://seed@127.0.0.1:{env_int('SEED_PG_PORT', DEFAULT_PORT)}/seed")
        ),
        # Reusing connections made enqueueing about 10x faster on these machines.
        "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("SEED_STATIC_ROOT", str(BASE_DIR / ".media" / "static")))
MEDIA_ROOT = Path(env_str("SEED_MEDIA_ROOT", str(BASE_DIR / ".media")))
MEDIA_URL = "media/"

# Blobs are content-addressed; "blobs" can be pointed at S3 (django-storages) by overriding STORAGES.
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT / "files")},
    },
    "blobs": {
        "BACKEND": "assets.storage.WriteOnceFileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT / "blobs")},
    },
    # Thumbnails and previews: derived, cacheable, not lineage.
    "derived": {
        "BACKEND": "assets.storage.WriteOnceFileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT / "derived")},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if env_str("SEED_S3_BUCKET", ""):
    # Any S3-compatible store (AWS, MinIO, R2) through django-storages: pip install '.[s3]'.
    # Credentials come from the usual AWS_* environment variables read by boto3.
    STORAGES["blobs"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("SEED_S3_BUCKET"),
            "endpoint_url": env_str("SEED_S3_ENDPOINT_URL", "") or None,
            "location": env_str("SEED_S3_PREFIX", "blobs"),
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
        },
    }
# Scratch space for hashing uploads before they are stored; a local disk even when blobs live on S3.
SEED_STAGING_DIR = Path(env_str("SEED_STAGING_DIR", str(MEDIA_ROOT / "staging")))

SEED_MAX_UPLOAD_BYTES = env_int("SEED_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
# A comparison grid makes one image per cell: past this many it is refused (A1111 caps its X/Y/Z plot too).
SEED_GRID_MAX_CELLS = env_int("SEED_GRID_MAX_CELLS", 200)
SEED_MAX_IMAGE_PIXELS = env_int("SEED_MAX_IMAGE_PIXELS", 64 * 1024 * 1024)
SEED_MAX_METADATA_BYTES = env_int("SEED_MAX_METADATA_BYTES", 64 * 1024)
SEED_MAX_ICC_BYTES = env_int("SEED_MAX_ICC_BYTES", 1024 * 1024)
# Reproduction packs come from other installs: caps on what an import reads before it trusts anything.
SEED_PACK_MAX_MEMBERS = env_int("SEED_PACK_MAX_MEMBERS", 20_000)
SEED_PACK_MAX_MANIFEST_BYTES = env_int("SEED_PACK_MAX_MANIFEST_BYTES", 64 * 1024 * 1024)
SEED_PACK_MAX_WEIGHTS_FILE_BYTES = env_int("SEED_PACK_MAX_WEIGHTS_FILE_BYTES", 20 * 1024**3)
SEED_PACK_MAX_BYTES = env_int("SEED_PACK_MAX_BYTES", 100 * 1024**3)
# Further checks on every uploaded image, by apps that know more than the lineage core (C2PA lives in delivery).
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "assets.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "assets.api.parsers.JSONParser",
        "assets.api.parsers.StrictMultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("SEED_API_PAGE_SIZE", 50),
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "assets.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"api-token": env_str("SEED_API_TOKEN_RATE", "10/min")},
    # Throttles key anonymous callers by address: 0 takes the peer's (X-Forwarded-For could be forged by anyone);
    # behind N reverse proxies set N, so the address the outermost proxy saw is used.
    "NUM_PROXIES": env_int("SEED_NUM_PROXIES", 0),
}
# API keys (POST /api/auth/token/) stop working this many days after they are issued.
SEED_API_TOKEN_DAYS = env_int("SEED_API_TOKEN_DAYS", 30)
# Guessing guards (config.middleware.FailedAttemptLimitMiddleware): past this many failed admin sign-ins, or requests
# for unknown, expired or revoked share links, from one address within a minute, that address gets 429 for the
# rest of the minute. The counts live in Django's cache; with no CACHES set that is the local-memory cache, which
# each process keeps for itself (each gunicorn worker counts apart).
SEED_LOGIN_FAILURES_PER_MINUTE = env_int("SEED_LOGIN_FAILURES_PER_MINUTE", 10)
SEED_SHARE_FAILURES_PER_MINUTE = env_int("SEED_SHARE_FAILURES_PER_MINUTE", 20)

SPECTACULAR_SETTINGS = {
    "TITLE": "Seed API",
    "DESCRIPTION": "Briefs, references, prompts, model weights, versions and their lineage.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "assets.api.schema.error_responses_add"],
    "ENUM_NAME_OVERRIDES": {
        "OperationEnum": "assets.models.Operation",
        "DerivationStateEnum": "assets.models.Derivation.State",
        "ReproductionStateEnum": "generation.models.ReproductionRun.State",
        "DeliveryStateEnum": "delivery.models.Delivery.State",
        "RerunVerdictEnum": "assets.imagehash.RERUN_VERDICTS",
        "DecisionVerdictEnum": "review.models.Decision.Verdict",
    },
}

# django-q2 with the ORM broker on our own Postgres. The broker is at-least-once: tasks are
# idempotent, `retry` exceeds `timeout` so a long task is not handed out twice, and attempts are finite.
Q_CLUSTER = {
    "name": "seed",
    "orm": "default",
    "workers": env_int("SEED_Q_WORKERS", 1),
    "timeout": env_int("SEED_Q_TIMEOUT", 1800),
    "retry": env_int("SEED_Q_RETRY", 2100),
    "max_attempts": env_int("SEED_Q_MAX_ATTEMPTS", 3),
    # Tasks a cluster takes ahead of its workers: more would sit locked in a busy (or dead) worker's memory
    # while another GPU idles, until `retry` hands them out again.
    "queue_limit": env_int("SEED_Q_QUEUE_LIMIT", 1),
    "catch_up": False,
    # Our tasks record their own failures and return; one that raises lost the database mid-run. Left unacknowledged,
    # the broker hands it out again after `retry` (up to max_attempts) instead of dropping a job that never ran.
    "ack_failures": False,
    "save_limit": 1000,
    # Joined by `Q_CLUSTER_NAME=gpu|cpu manage.py qcluster` when SEED_SPLIT_CLUSTERS routes work to them
    # (assets.services.queues): each takes only its own queue and runs only its own schedules.
    "ALT_CLUSTERS": {
        "gpu": {"workers": env_int("SEED_Q_GPU_WORKERS", 1)},
        "cpu": {"workers": env_int("SEED_Q_CPU_WORKERS", 2)},
    },
}
SEED_SPLIT_CLUSTERS = env_bool("SEED_SPLIT_CLUSTERS", False)
# A worker process touches its row (assets.WorkerProcess) this often; `seed_status` calls one silent for 90 s dead.
SEED_WORKER_HEARTBEAT_S = env_int("SEED_WORKER_HEARTBEAT_S", 30)

# GET /metrics (Prometheus) answers a request with "Authorization: Bearer SEED_METRICS_TOKEN" or from an address in
# SEED_METRICS_ALLOW (CIDRs, e.g. 10.0.0.0/8); with neither set, it is off (404).
SEED_METRICS_TOKEN = env_str("SEED_METRICS_TOKEN", "")
SEED_METRICS_ALLOW = env_list("SEED_METRICS_ALLOW", [])
if env_str("PROMETHEUS_MULTIPROC_DIR", ""):
    # Every process of this host (gunicorn's workers, a cluster's workers) writes its metrics there; made before
    # prometheus_client is imported, which needs it to exist.
    Path(env_str("PROMETHEUS_MULTIPROC_DIR")).mkdir(parents=True, exist_ok=True)

# Errors of the web app and the workers go to Sentry only when SENTRY_DSN is set; nothing is sent otherwise.
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    from config.observability import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env_str("SENTRY_ENVIRONMENT", "production"),
        traces_sample_rate=float(env_str("SENTRY_TRACES_SAMPLE_RATE", "0")),
    )

# One line per record on stdout; JSON for log shippers when SEED_LOG_FORMAT=json (production's default).
LOGGING = logging_config(
    json_lines=env_str("SEED_LOG_FORMAT", "plain") == "json", level=env_str("SEED_LOG_LEVEL", "INFO")
)

# `manage.py demo` runs these stages in order; each app appends its own.

# Worker: where registered model folders are laid out for diffusers (links into the blob store),
# and where single-file checkpoints find their architecture's config (never fetched from a hub).
SEED_MODEL_CACHE = Path(env_str("SEED_MODEL_CACHE", str(MEDIA_ROOT / "model-cache")))
# A worker whose blobs live in S3 keeps its own copy of each model file it used here, verified by sha256;
# past this many bytes the least recently used go (0: no limit).
SEED_MODEL_CACHE_BYTES = env_int("SEED_MODEL_CACHE_BYTES", 200 * 1024**3)
SEED_MODEL_CONFIGS = Path(env_str("SEED_MODEL_CONFIGS", str(BASE_DIR / "generation" / "configs")))
# Threads torch uses on CPU for each derivation; recorded with it and pinned again by `reproduce`. The count changes
# the bytes, so it is one fixed number for the whole fleet, not each host's core count: raise it on every host at once.
SEED_TORCH_THREADS = env_int("SEED_TORCH_THREADS", 1)
# Loaded models a worker keeps (base pipelines, ControlNets, VAEs): the least recently used go first past either limit.
SEED_PIPELINE_CACHE = env_int("SEED_PIPELINE_CACHE", 3)
SEED_PIPELINE_CACHE_BYTES = env_int("SEED_PIPELINE_CACHE_BYTES", 0)
SEED_SCRATCH_DIR = Path(env_str("SEED_SCRATCH_DIR", str(MEDIA_ROOT / "scratch")))

# `reproduce` re-runs these non-generation operations with the worker's own code.

# C2PA signing. The set-up (`manage.py c2pa_dev_ca`) makes a development CA and signer in .seed-keys/;
# production points these at the studio's own certificate chain, key and trust anchors.
# Where `manage.py c2pa_dev_ca` (and the demo, when it finds none) makes the development signer.
SEED_DEV_KEYS_DIR = Path(env_str("SEED_DEV_KEYS_DIR", str(BASE_DIR / ".seed-keys")))
_KEYS = SEED_DEV_KEYS_DIR
SEED_C2PA_CERT = Path(env_str("SEED_C2PA_CERT", str(_KEYS / "signer-chain.pem")))
SEED_C2PA_KEY = Path(env_str("SEED_C2PA_KEY", str(_KEYS / "signer-key.pem")))
SEED_C2PA_TRUST_ANCHORS = Path(env_str("SEED_C2PA_TRUST_ANCHORS", str(_KEYS / "root.pem")))
# Written into EXIF Artist and the C2PA claim of delivered files.
SEED_STUDIO_NAME = env_str("SEED_STUDIO_NAME", "Seed studio")
SEED_C2PA_ALG = env_str("SEED_C2PA_ALG", "es256")
SEED_C2PA_TSA_URL = env_str("SEED_C2PA_TSA_URL", "")
# Delivered files live under MEDIA_ROOT/deliveries/<id>/ next to their zip bundle.
SEED_DELIVERY_DIR = Path(env_str("SEED_DELIVERY_DIR", str(MEDIA_ROOT / "deliveries")))
# Signed audit checkpoints live outside the database (in production: storage the database's users cannot write).
SEED_AUDIT_CHECKPOINT_DIR = Path(env_str("SEED_AUDIT_CHECKPOINT_DIR", str(MEDIA_ROOT / "audit-checkpoints")))
# Channel variants of one delivery are cropped, resized and checked side by side on this many threads
# (Pillow and numpy release the GIL); signing stays in order.
SEED_DELIVERY_THREADS = env_int("SEED_DELIVERY_THREADS", min(8, os.cpu_count() or 1))
# QC: least ΔE2000 between an image's dominant colour and its page background; how close a pixel must be
# to a brand colour to count; the share of pixels brand colours must cover together.
SEED_QC_MIN_DELTA_E = float(env_str("SEED_QC_MIN_DELTA_E", "10"))
SEED_QC_PALETTE_DELTA_E = float(env_str("SEED_QC_PALETTE_DELTA_E", "12"))
SEED_QC_PALETTE_MIN_SHARE = float(env_str("SEED_QC_PALETTE_MIN_SHARE", "0.02"))
# verify: a copy is "perceptual" when its 64-bit perceptual hash differs in at most this many bits.
SEED_VERIFY_MAX_HASH_DISTANCE = env_int("SEED_VERIFY_MAX_HASH_DISTANCE", 10)

# Notifications. Mail uses Django's own setting names; without EMAIL_HOST every message is written as an
# .eml file under MEDIA_ROOT/outbox instead of being sent (the demo and development).
SEED_BASE_URL = env_str("SEED_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Seed <seed@localhost>")
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "review.mail.OutboxBackend"
SEED_OUTBOX_DIR = Path(env_str("SEED_OUTBOX_DIR", str(MEDIA_ROOT / "outbox")))
# A reminder goes this long before a round's deadline to invitees who have not decided.
SEED_REMINDER_LEAD_HOURS = env_int("SEED_REMINDER_LEAD_HOURS", 24)
# Producers hear of deliveries whose inherited licences run out within this many days.
SEED_LICENCE_WARN_DAYS = env_int("SEED_LICENCE_WARN_DAYS", 30)
# The reproducibility watch re-runs each final-approved master this often (sooner when the worker's environment
# changes), spending at most this many worker seconds a night.
SEED_WATCH_CADENCE_DAYS = env_int("SEED_WATCH_CADENCE_DAYS", 7)
SEED_WATCH_BUDGET_S = env_int("SEED_WATCH_BUDGET_S", 3600)
# Webhook deliveries: tries per event (backing off 1, 5, 25 … minutes), and consecutive failures that disable
# an endpoint.
SEED_WEBHOOK_TRIES = env_int("SEED_WEBHOOK_TRIES", 5)
SEED_WEBHOOK_DISABLE_AFTER = env_int("SEED_WEBHOOK_DISABLE_AFTER", 10)
SEED_WEBHOOK_TIMEOUT = env_int("SEED_WEBHOOK_TIMEOUT", 10)
# Webhooks may call only public addresses, except inside these networks (a receiver on the studio's own LAN).
SEED_WEBHOOK_ALLOWED_NETWORKS = env_networks("SEED_WEBHOOK_ALLOWED_NETWORKS", [])
# Seals endpoint secrets at rest; empty: derived from SECRET_KEY (set it to rotate SECRET_KEY without losing them).
SEED_WEBHOOK_KEY = env_str("SEED_WEBHOOK_KEY", "")
