"""Notifications, watches and webhooks."""

from __future__ import annotations

from config.settings_catalogue.kinds import DAYS, HOURS, INTEGER, NETWORKS, PATH, SECONDS, SECRET, URL
from config.settings_catalogue.setting import Setting, Who

SETTINGS = (
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
)
