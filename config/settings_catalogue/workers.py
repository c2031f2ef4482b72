"""Workers: the task clusters, their timeouts, and the models they keep."""

from __future__ import annotations

from config.settings_catalogue.kinds import BOOLEAN, BYTES, INTEGER, PATH, SECONDS, SECRET, choices_kind_make
from config.settings_catalogue.setting import Setting, Who

BROKER = choices_kind_make(choices=("orm", "redis"))

SETTINGS = (
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
        name="SEED_Q_BROKER",
        kind=BROKER,
        default="orm",
        who=Who.ANY,
        meaning="the single cluster's broker: `orm` (Postgres) or `redis` (at `SEED_REDIS_URL`)",
    ),
    Setting(
        name="SEED_Q_GPU_BROKER",
        kind=BROKER,
        default="orm",
        who=Who.PRODUCTION,
        meaning="the `gpu` cluster's broker",
    ),
    Setting(
        name="SEED_Q_CPU_BROKER",
        kind=BROKER,
        default="orm",
        who=Who.PRODUCTION,
        meaning="the `cpu` cluster's broker (notifications, webhooks, deliveries: the many small tasks)",
    ),
    Setting(
        name="SEED_REDIS_URL",
        kind=SECRET,
        default="",
        who=Who.ANY,
        meaning="`redis://[:password@]host:port/db` of the Redis broker, for the queues set to `redis`",
    ),
    Setting(
        name="SEED_Q_RESEND_S",
        kind=SECONDS,
        default=60,
        minimum=5,
        who=Who.ANY,
        meaning="how often the run lifecycle looks for runs whose task a broker lost (a dead worker's claim older "
        "than `SEED_Q_TIMEOUT`, or a queued run its broker no longer holds) and sends them again",
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
    Setting(
        name="SEED_CPU_OFFLOAD",
        kind=BOOLEAN,
        default=False,
        who=Who.ANY,
        meaning="on a GPU, keep each loaded base model's parts in CPU memory and move one at a time to the GPU "
        "(diffusers' model CPU offload): FLUX fits a smaller card, each step is slower; recorded with the "
        "derivations it ran; on CPU it changes nothing",
    ),
)
