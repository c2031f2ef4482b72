"""The SEED_* settings: one declaration, the table docs/operator.md shows, and the start-up check of the environment."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import run_checks

from config.checks import settings_problems_find
from config.settings_catalogue import (
    CATALOGUE,
    PATH,
    SETTINGS,
    Who,
    setting_parse,
    setting_read,
    settings_table_render,
)

ROOT = Path(__file__).resolve().parents[2]
# Where SEED_* names are read: the project's code, its tests and benches, and what deploys it.
READERS = ["config", "assets", "generation", "review", "delivery", "tests", "bench", "docker-compose.yml", "Makefile"]
# A whole name, not a prefix such as "SEED_S3_*" in prose.
NAME_PATTERN = re.compile(r"\bSEED_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])")
# assets.SEED_VERSION is the installed package's version, a Python name that no environment sets.
NOT_SETTINGS = {"SEED_VERSION"}
DECLARATION = ROOT / "config" / "settings_catalogue"


def names_read() -> dict[str, list[str]]:
    """Each SEED_* name found outside the declaration itself, with the files that name it."""
    found: dict[str, list[str]] = {}
    roots = [ROOT / reader for reader in READERS]
    for path in [file for root in roots for file in ([root] if root.is_file() else sorted(root.rglob("*")))]:
        if not path.is_file() or "__pycache__" in path.parts or DECLARATION in path.parents:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        for name in set(NAME_PATTERN.findall(text)) - NOT_SETTINGS:
            found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def docs_table() -> str:
    text = (ROOT / "docs" / "operator.md").read_text()
    match = re.search(r"<!-- settings table:[^\n]*-->\n(.*?)<!-- end of the settings table -->", text, re.S)
    assert match, "docs/operator.md has lost the markers around its settings table"
    return match.group(1).strip() + "\n"


@pytest.fixture
def environ(monkeypatch):
    """An environment with no SEED_* variable but those a test sets."""
    for name in [name for name in os.environ if name.startswith("SEED_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def seed_messages() -> list:
    return run_checks(tags=["seed"])


def test_the_docs_table_is_the_declaration():
    assert docs_table() == settings_table_render(), (
        "docs/operator.md's settings table differs from config/settings_catalogue/: paste the output of "
        "`python -m config.settings_catalogue` between its markers"
    )


def test_every_name_the_code_reads_is_declared_and_every_declared_name_is_read():
    found = names_read()
    undeclared = {name: files for name, files in found.items() if name not in CATALOGUE}
    unread = sorted(set(CATALOGUE) - set(found))
    assert not undeclared, f"read but not in config/settings_catalogue/: {undeclared}"
    assert not unread, f"declared in config/settings_catalogue/ but read nowhere: {unread}"


def test_each_name_is_declared_once():
    assert len(CATALOGUE) == len(SETTINGS)


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.default is not None], ids=lambda s: s.name)
def test_every_default_is_a_value_the_setting_accepts(setting):
    for default in [setting.default, setting.production_default]:
        if default is None:
            continue
        if isinstance(default, bool):
            text = "1" if default else "0"
        elif isinstance(default, list):
            text = ",".join(default)
        else:
            text = str(default)
        parsed = setting_parse(setting=setting, text=text)
        if setting.kind is not PATH:
            assert parsed == default


@pytest.mark.parametrize(
    ("name", "text", "check_id"),
    [
        ("SEED_MAX_UPLOAD_BYTES", "50MB", "seed.E010"),
        ("SEED_QC_PALETTE_MIN_SHARE", "2%", "seed.E010"),
        ("SEED_QC_MIN_DELTA_E", "nan", "seed.E010"),
        ("SEED_SPLIT_CLUSTERS", "maybe", "seed.E010"),
        ("SEED_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/8, 300.1.2.3/24", "seed.E010"),
        ("SEED_METRICS_ALLOW", "the office", "seed.E010"),
        ("SEED_BASE_URL", "seed.example.com", "seed.E010"),
        ("SEED_C2PA_TSA_URL", "ftp://tsa.example.com", "seed.E010"),
        ("SEED_API_TOKEN_RATE", "10 a minute", "seed.E010"),
        ("SEED_LOG_LEVEL", "verbose", "seed.E010"),
        ("SEED_C2PA_ALG", "rsa", "seed.E010"),
        ("SEED_MEDIA_ROOT", "", "seed.E010"),
        ("SEED_BIND", "localhost", "seed.E010"),
        ("SEED_S3_BUCKET", "Studio_Blobs", "seed.E010"),
        ("SEED_APP_DB_PASSWORD", "p@ss/word", "seed.E010"),
        ("SEED_QC_PALETTE_MIN_SHARE", "1.5", "seed.E011"),
        ("SEED_VERIFY_MAX_HASH_DISTANCE", "65", "seed.E011"),
        ("SEED_PG_PORT", "70000", "seed.E011"),
        ("SEED_Q_WORKERS", "0", "seed.E011"),
        ("SEED_MODEL_CACHE_BYTES", "-1", "seed.E011"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_setting_and_the_value(environ, name, text, check_id):
    environ.setenv(name, text)
    messages = seed_messages()
    assert [(message.id, message.is_serious()) for message in messages] == [(check_id, True)]
    assert f"{name}={text!r}" in messages[0].msg


def test_good_values_give_no_message(environ):
    for name, text in {
        "SEED_MAX_UPLOAD_BYTES": "1048576",
        "SEED_QC_PALETTE_MIN_SHARE": "0.5",
        "SEED_SPLIT_CLUSTERS": "yes",
        "SEED_WEBHOOK_ALLOWED_NETWORKS": "10.0.0.0/8, fd00::/8",
        "SEED_METRICS_ALLOW": "",
        "SEED_BASE_URL": "https://seed.example.com/",
        "SEED_API_TOKEN_RATE": "100/hour",
        "SEED_BIND": "unix:/run/seed.sock",
        "SEED_S3_BUCKET": "studio-blobs",
        "SEED_S3_ENDPOINT_URL": "http://minio:9000",
        "SEED_LOG_LEVEL": "WARNING",
        "SEED_Q_TIMEOUT": "600",
        "SEED_Q_RETRY": "900",
    }.items():
        environ.setenv(name, text)
    assert seed_messages() == []


def test_the_settings_read_the_default_in_place_of_a_bad_value(environ):
    environ.setenv("SEED_MAX_UPLOAD_BYTES", "1048576")
    assert setting_read(name="SEED_MAX_UPLOAD_BYTES") == 1048576
    environ.setenv("SEED_MAX_UPLOAD_BYTES", "50MB")
    assert setting_read(name="SEED_MAX_UPLOAD_BYTES") == CATALOGUE["SEED_MAX_UPLOAD_BYTES"].default
    environ.setenv("SEED_LOG_FORMAT", "xml")
    assert setting_read(name="SEED_LOG_FORMAT", production=True) == "json"


@pytest.mark.parametrize(
    ("values", "check_id"),
    [
        ({"SEED_Q_TIMEOUT": "3000"}, "seed.E013"),
        ({"SEED_Q_TIMEOUT": "600", "SEED_Q_RETRY": "600"}, "seed.E013"),
        ({"SEED_WORKER_HEARTBEAT_S": "90"}, "seed.E014"),
        ({"SEED_S3_ENDPOINT_URL": "http://minio:9000"}, "seed.W011"),
        # Built, not written: the misspelt name would otherwise read as a setting of the code to the test above.
        ({"SEED_MAX_UPLOAD_BYTES"[:-1]: "1048576"}, "seed.W010"),
    ],
)
def test_combinations_that_cannot_work_and_unknown_names(environ, values, check_id):
    for name, text in values.items():
        environ.setenv(name, text)
    assert [message.id for message in seed_messages()] == [check_id]


def test_production_needs_the_studios_signer_and_its_own_url_for_mail():
    signer = {name: f"/keys/{name.lower()}.pem" for name, setting in CATALOGUE.items() if setting.who is Who.REQUIRED}
    assert sorted(signer) == ["SEED_C2PA_CERT", "SEED_C2PA_KEY", "SEED_C2PA_TRUST_ANCHORS"]

    missing = settings_problems_find(environ={"SEED_C2PA_CERT": signer["SEED_C2PA_CERT"]}, production=True)
    assert [(message.id, message.msg.split()[0]) for message in missing] == [
        ("seed.E012", "SEED_C2PA_KEY"),
        ("seed.E012", "SEED_C2PA_TRUST_ANCHORS"),
    ]
    assert settings_problems_find(environ=signer, production=True) == []
    assert settings_problems_find(environ={}, production=False) == []

    mail = signer | {"EMAIL_HOST": "smtp.example.com"}
    assert [message.id for message in settings_problems_find(environ=mail, production=True)] == ["seed.E015"]
    mail["SEED_BASE_URL"] = "http://localhost:8000"
    assert [message.id for message in settings_problems_find(environ=mail, production=True)] == ["seed.E015"]
    mail["SEED_BASE_URL"] = "https://seed.example.com"
    assert settings_problems_find(environ=mail, production=True) == []


def clean_env(**values: str) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "SEED_"))}
    return env | values


def test_production_start_up_reports_bad_values_instead_of_a_traceback():
    env = clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="a-long-random-string-for-this-test-only-0123456789",
        SEED_MAX_UPLOAD_BYTES="50MB",
        SEED_WEBHOOK_ALLOWED_NETWORKS="10.0.0.0/33",
        SEED_C2PA_CERT="/keys/signer-chain.pem",
        SEED_C2PA_TRUST_ANCHORS="/keys/root.pem",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "(seed.E010) SEED_MAX_UPLOAD_BYTES='50MB': not an integer" in result.stderr
    assert "(seed.E010) SEED_WEBHOOK_ALLOWED_NETWORKS='10.0.0.0/33'" in result.stderr
    assert "(seed.E012) SEED_C2PA_KEY is not set" in result.stderr
    assert "SEED_C2PA_CERT is not set" not in result.stderr


def test_the_check_loads_no_model_or_signing_library():
    script = (
        "import sys, django; django.setup(); from django.core.checks import run_checks; "
        "print(run_checks(tags=['seed'])); print(sorted({'torch', 'diffusers', 'c2pa'} & set(sys.modules)))"
    )
    env = clean_env(DJANGO_SETTINGS_MODULE="config.settings.local", SEED_Q_WORKERS="0")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    ran, heavy = result.stdout.splitlines()
    assert "seed.E011" in ran
    assert heavy == "[]"


def test_the_web_process_refuses_to_start_on_a_bad_value():
    env = clean_env(
        DJANGO_SECRET_KEY="a-long-random-string-for-this-test-only-0123456789",
        SEED_MAX_UPLOAD_BYTES="50MB",
        SEED_C2PA_CERT="/keys/signer-chain.pem",
        SEED_C2PA_KEY="/keys/signer.key",
        SEED_C2PA_TRUST_ANCHORS="/keys/root.pem",
    )
    script = "import config.wsgi"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "ImproperlyConfigured: the settings are not usable" in result.stderr
    assert "(seed.E010) SEED_MAX_UPLOAD_BYTES='50MB': not an integer" in result.stderr
    good = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "SEED_MAX_UPLOAD_BYTES": "52428800"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert good.returncode == 0, good.stderr
