"""Signing and delivery."""

from __future__ import annotations

import os

from config.settings_catalogue.kinds import C2PA_ALG, INTEGER, NAME, NUMBER, PATH, URL_OR_EMPTY
from config.settings_catalogue.setting import Setting, Who

SETTINGS = (
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
)
