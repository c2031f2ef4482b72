"""Settings shared by every environment; site-specific values come from the environment."""

from pathlib import Path

from config.env import database_from_url, env_bool, env_int, env_list, env_str
from config.logging import logging_config
from config.settings_catalogue import setting_read

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
            env_str("DATABASE_URL", f"postgres://seed@127.0.0.1:{setting_read(name='SEED_PG_PORT')}/seed")
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
# Defaults of the SEED_* paths are relative to these (config/settings_catalogue.py).
_PLACES = {"BASE_DIR": BASE_DIR}
STATIC_ROOT = setting_read(name="SEED_STATIC_ROOT", places=_PLACES)
MEDIA_ROOT = setting_read(name="SEED_MEDIA_ROOT", places=_PLACES)
_PLACES["MEDIA_ROOT"] = MEDIA_ROOT
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
_S3_BUCKET = setting_read(name="SEED_S3_BUCKET")
if _S3_BUCKET:
    # Any S3-compatible store (AWS, MinIO, R2) through django-storages: pip install '.[s3]'.
    # Credentials come from the usual AWS_* environment variables read by boto3.
    STORAGES["blobs"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _S3_BUCKET,
            "endpoint_url": setting_read(name="SEED_S3_ENDPOINT_URL") or None,
            "location": setting_read(name="SEED_S3_PREFIX"),
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": True,
        },
    }
# Scratch space for hashing uploads before they are stored; a local disk even when blobs live on S3.
SEED_STAGING_DIR = setting_read(name="SEED_STAGING_DIR", places=_PLACES)

SEED_MAX_UPLOAD_BYTES = setting_read(name="SEED_MAX_UPLOAD_BYTES")
# A comparison grid makes one image per cell: past this many it is refused (A1111 caps its X/Y/Z plot too).
SEED_GRID_MAX_CELLS = setting_read(name="SEED_GRID_MAX_CELLS")
SEED_MAX_IMAGE_PIXELS = setting_read(name="SEED_MAX_IMAGE_PIXELS")
SEED_MAX_METADATA_BYTES = setting_read(name="SEED_MAX_METADATA_BYTES")
SEED_MAX_ICC_BYTES = setting_read(name="SEED_MAX_ICC_BYTES")
# Reproduction packs come from other installs: caps on what an import reads before it trusts anything.
SEED_PACK_MAX_MEMBERS = setting_read(name="SEED_PACK_MAX_MEMBERS")
SEED_PACK_MAX_MANIFEST_BYTES = setting_read(name="SEED_PACK_MAX_MANIFEST_BYTES")
SEED_PACK_MAX_WEIGHTS_FILE_BYTES = setting_read(name="SEED_PACK_MAX_WEIGHTS_FILE_BYTES")
SEED_PACK_MAX_BYTES = setting_read(name="SEED_PACK_MAX_BYTES")
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
    "PAGE_SIZE": setting_read(name="SEED_API_PAGE_SIZE"),
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "assets.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"api-token": setting_read(name="SEED_API_TOKEN_RATE")},
    # Throttles key anonymous callers by address: 0 takes the peer's (X-Forwarded-For could be forged by anyone);
    # behind N reverse proxies set N, so the address the outermost proxy saw is used.
    "NUM_PROXIES": setting_read(name="SEED_NUM_PROXIES"),
}
# API keys (POST /api/auth/token/) stop working this many days after they are issued.
SEED_API_TOKEN_DAYS = setting_read(name="SEED_API_TOKEN_DAYS")
# Guessing guards (config.middleware.FailedAttemptLimitMiddleware): past this many failed admin sign-ins, or requests
# for unknown, expired or revoked share links, from one address within a minute, that address gets 429 for the
# rest of the minute. The counts live in Django's cache; with no CACHES set that is the local-memory cache, which
# each process keeps for itself (each gunicorn worker counts apart).
SEED_LOGIN_FAILURES_PER_MINUTE = setting_read(name="SEED_LOGIN_FAILURES_PER_MINUTE")
SEED_SHARE_FAILURES_PER_MINUTE = setting_read(name="SEED_SHARE_FAILURES_PER_MINUTE")

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
        "DerivationStateEnum": "assets.models.Derivation.State",
        "ReproductionStateEnum": "generation.models.ReproductionRun.State",
        "DeliveryStateEnum": "delivery.models.Delivery.State",
        "RerunVerdictEnum": "assets.imagehash.RERUN_VERDICTS",
        "DecisionVerdictEnum": "review.models.Decision.Verdict",
        "VersionCheckVerdictEnum": "assets.models.VersionCheck.Verdict",
        # A model's kind and file format: named once, as the list and the detail (with a LoRA's story) both carry them.
        "ModelWeightsKindEnum": "assets.models.ModelWeights.Kind",
        "ModelWeightsFormatEnum": "assets.models.ModelWeights.Format",
    },
}

# django-q2, each cluster on the broker its setting names (assets.services.queues.queue_broker): the ORM broker on our
# own Postgres, or Redis. The broker is at-least-once: tasks are idempotent, `retry` exceeds `timeout` so a long task
# is not handed out twice, and attempts are finite.
Q_CLUSTER = {
    "name": "seed",
    "orm": "default",
    "broker_class": "assets.services.queues.queue_broker",
    # What django-q2 itself would connect with; our brokers connect to SEED_REDIS_URL (queue_broker).
    "redis": setting_read(name="SEED_REDIS_URL") or "redis://127.0.0.1:6379/0",
    "workers": setting_read(name="SEED_Q_WORKERS"),
    "timeout": setting_read(name="SEED_Q_TIMEOUT"),
    "retry": setting_read(name="SEED_Q_RETRY"),
    "max_attempts": setting_read(name="SEED_Q_MAX_ATTEMPTS"),
    # Tasks a cluster takes ahead of its workers: more would sit locked in a busy (or dead) worker's memory
    # while another GPU idles, until `retry` hands them out again.
    "queue_limit": setting_read(name="SEED_Q_QUEUE_LIMIT"),
    "catch_up": False,
    # Our tasks record their own failures and return; one that raises lost the database mid-run. Left unacknowledged,
    # the broker hands it out again after `retry` (up to max_attempts) instead of dropping a job that never ran.
    "ack_failures": False,
    # A run records its own outcome on its row: a success kept here too would cost the cluster's one monitor process a
    # locking read of every kept result per task (the prune), its ceiling on either broker. Failures are kept.
    "save_limit": -1,
    # Joined by `Q_CLUSTER_NAME=gpu|cpu manage.py qcluster` when SEED_SPLIT_CLUSTERS routes work to them
    # (assets.services.queues): each takes only its own queue and runs only its own schedules.
    "ALT_CLUSTERS": {
        "gpu": {"workers": setting_read(name="SEED_Q_GPU_WORKERS")},
        "cpu": {"workers": setting_read(name="SEED_Q_CPU_WORKERS")},
    },
}
SEED_SPLIT_CLUSTERS = setting_read(name="SEED_SPLIT_CLUSTERS")
SEED_Q_BROKER = setting_read(name="SEED_Q_BROKER")
SEED_Q_GPU_BROKER = setting_read(name="SEED_Q_GPU_BROKER")
SEED_Q_CPU_BROKER = setting_read(name="SEED_Q_CPU_BROKER")
SEED_REDIS_URL = setting_read(name="SEED_REDIS_URL")
SEED_Q_RESEND_S = setting_read(name="SEED_Q_RESEND_S")
# A worker process touches its row (assets.WorkerProcess) this often; `seed_status` calls one silent for 90 s dead.
SEED_WORKER_HEARTBEAT_S = setting_read(name="SEED_WORKER_HEARTBEAT_S")

# GET /metrics (Prometheus) answers a request with "Authorization: Bearer SEED_METRICS_TOKEN" or from an address in
# SEED_METRICS_ALLOW (CIDRs, e.g. 10.0.0.0/8); with neither set, it is off (404).
SEED_METRICS_TOKEN = setting_read(name="SEED_METRICS_TOKEN")
SEED_METRICS_ALLOW = setting_read(name="SEED_METRICS_ALLOW")
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
    json_lines=setting_read(name="SEED_LOG_FORMAT") == "json", level=setting_read(name="SEED_LOG_LEVEL")
)

# `manage.py demo` runs these stages in order; each app appends its own.

# Worker: where registered model folders are laid out for diffusers (links into the blob store),
# and where single-file checkpoints find their architecture's config (never fetched from a hub).
SEED_MODEL_CACHE = setting_read(name="SEED_MODEL_CACHE", places=_PLACES)
# A worker whose blobs live in S3 keeps its own copy of each model file it used here, verified by sha256;
# past this many bytes the least recently used go (0: no limit).
SEED_MODEL_CACHE_BYTES = setting_read(name="SEED_MODEL_CACHE_BYTES")
SEED_MODEL_CONFIGS = setting_read(name="SEED_MODEL_CONFIGS", places=_PLACES)
# Threads torch uses on CPU for each derivation; recorded with it and pinned again by `reproduce`. The count changes
# the bytes, so it is one fixed number for the whole fleet, not each host's core count: raise it on every host at once.
SEED_TORCH_THREADS = setting_read(name="SEED_TORCH_THREADS")
# Loaded models a worker keeps (base pipelines, ControlNets, VAEs): the least recently used go first past either limit.
SEED_PIPELINE_CACHE = setting_read(name="SEED_PIPELINE_CACHE")
SEED_PIPELINE_CACHE_BYTES = setting_read(name="SEED_PIPELINE_CACHE_BYTES")
# On a GPU, loaded base models wait in CPU memory and move to the GPU one part at a time (off: all on the GPU).
SEED_CPU_OFFLOAD = setting_read(name="SEED_CPU_OFFLOAD")
SEED_SCRATCH_DIR = setting_read(name="SEED_SCRATCH_DIR", places=_PLACES)

# `reproduce` re-runs these non-generation operations with the worker's own code.

# C2PA signing. The set-up (`manage.py c2pa_dev_ca`) makes a development CA and signer in .seed-keys/;
# production points these at the studio's own certificate chain, key and trust anchors.
# Where `manage.py c2pa_dev_ca` (and the demo, when it finds none) makes the development signer.
SEED_DEV_KEYS_DIR = setting_read(name="SEED_DEV_KEYS_DIR", places=_PLACES)
_PLACES["SEED_DEV_KEYS_DIR"] = SEED_DEV_KEYS_DIR
SEED_C2PA_CERT = setting_read(name="SEED_C2PA_CERT", places=_PLACES)
SEED_C2PA_KEY = setting_read(name="SEED_C2PA_KEY", places=_PLACES)
SEED_C2PA_TRUST_ANCHORS = setting_read(name="SEED_C2PA_TRUST_ANCHORS", places=_PLACES)
# Written into EXIF Artist and the C2PA claim of delivered files.
SEED_STUDIO_NAME = setting_read(name="SEED_STUDIO_NAME")
SEED_C2PA_ALG = setting_read(name="SEED_C2PA_ALG")
SEED_C2PA_TSA_URL = setting_read(name="SEED_C2PA_TSA_URL")
# Delivered files live under MEDIA_ROOT/deliveries/<id>/ next to their zip bundle.
SEED_DELIVERY_DIR = setting_read(name="SEED_DELIVERY_DIR", places=_PLACES)
# Signed audit checkpoints live outside the database (in production: storage the database's users cannot write).
SEED_AUDIT_CHECKPOINT_DIR = setting_read(name="SEED_AUDIT_CHECKPOINT_DIR", places=_PLACES)
# Channel variants of one delivery are cropped, resized and checked side by side on this many threads
# (Pillow and numpy release the GIL); signing stays in order.
SEED_DELIVERY_THREADS = setting_read(name="SEED_DELIVERY_THREADS")
# QC: least ΔE2000 between an image's dominant colour and its page background; how close a pixel must be
# to a brand colour to count; the share of pixels brand colours must cover together.
SEED_QC_MIN_DELTA_E = setting_read(name="SEED_QC_MIN_DELTA_E")
SEED_QC_PALETTE_DELTA_E = setting_read(name="SEED_QC_PALETTE_DELTA_E")
SEED_QC_PALETTE_MIN_SHARE = setting_read(name="SEED_QC_PALETTE_MIN_SHARE")
# verify: a copy is "perceptual" when its 64-bit perceptual hash differs in at most this many bits.
SEED_VERIFY_MAX_HASH_DISTANCE = setting_read(name="SEED_VERIFY_MAX_HASH_DISTANCE")

# Notifications. Mail uses Django's own setting names; without EMAIL_HOST every message is written as an
# .eml file under MEDIA_ROOT/outbox instead of being sent (the demo and development).
SEED_BASE_URL = setting_read(name="SEED_BASE_URL").rstrip("/")
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Seed <seed@localhost>")
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "review.mail.OutboxBackend"
SEED_OUTBOX_DIR = setting_read(name="SEED_OUTBOX_DIR", places=_PLACES)
# A reminder goes this long before a round's deadline to invitees who have not decided.
SEED_REMINDER_LEAD_HOURS = setting_read(name="SEED_REMINDER_LEAD_HOURS")
# Producers hear of deliveries whose inherited licences run out within this many days.
SEED_LICENCE_WARN_DAYS = setting_read(name="SEED_LICENCE_WARN_DAYS")
# The reproducibility watch re-runs each final-approved master this often (sooner when the worker's environment
# changes), spending at most this many worker seconds a night.
SEED_WATCH_CADENCE_DAYS = setting_read(name="SEED_WATCH_CADENCE_DAYS")
SEED_WATCH_BUDGET_S = setting_read(name="SEED_WATCH_BUDGET_S")
# Webhook deliveries: tries per event (backing off 1, 5, 25 … minutes), and consecutive failures that disable
# an endpoint.
SEED_WEBHOOK_TRIES = setting_read(name="SEED_WEBHOOK_TRIES")
SEED_WEBHOOK_DISABLE_AFTER = setting_read(name="SEED_WEBHOOK_DISABLE_AFTER")
SEED_WEBHOOK_TIMEOUT = setting_read(name="SEED_WEBHOOK_TIMEOUT")
# Webhooks may call only public addresses, except inside these networks (a receiver on the studio's own LAN).
SEED_WEBHOOK_ALLOWED_NETWORKS = setting_read(name="SEED_WEBHOOK_ALLOWED_NETWORKS")
# Seals endpoint secrets at rest; empty: derived from SECRET_KEY (set it to rotate SECRET_KEY without losing them).
SEED_WEBHOOK_KEY = setting_read(name="SEED_WEBHOOK_KEY")
