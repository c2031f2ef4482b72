"""The API and its guards."""

from __future__ import annotations

from config.settings_catalogue.kinds import DAYS, INTEGER, RATE
from config.settings_catalogue.setting import Setting, Who

SETTINGS = (
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
)
