"""Read outside Django's settings: gunicorn, docker-compose, the local Postgres, tests and benches."""

from __future__ import annotations

from config.localpg import DEFAULT_PORT
from config.settings_catalogue.kinds import BIND, INTEGER, NAME, PASSWORD, PATH, RELIABILITY, TEXT
from config.settings_catalogue.setting import Setting, Who

SETTINGS = (
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
