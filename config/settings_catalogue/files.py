"""Where things live, and limits on what comes in."""

from __future__ import annotations

from config.settings_catalogue.kinds import BUCKET, BYTES, INTEGER, PATH, TEXT, URL_OR_EMPTY
from config.settings_catalogue.setting import Setting, Who

SETTINGS = (
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
)
