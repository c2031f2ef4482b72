"""Production settings pass Django's deploy checks; logs are JSON lines on stdout and never carry a share token."""

import datetime as dt
import io
import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from config.logging import JsonFormatter, OutageEchoFilter, PlainFormatter, logging_config
from config.middleware import DatabaseUnavailableMiddleware
from review.models import ShareLink
from review.services.rounds import round_open
from review.services.share_links import share_link_create, share_link_revoke

ROOT = Path(__file__).resolve().parents[2]


def sample_env() -> dict:
    """The documented example env, as an operator would fill it in."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "SEED_", "DATABASE_URL"))}
    for line in (ROOT / "config" / "production.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    return env


def manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_has_no_warnings_with_the_sample_env(c2pa_keys):
    env = sample_env() | {
        "SEED_C2PA_CERT": str(c2pa_keys["chain"]),
        "SEED_C2PA_KEY": str(c2pa_keys["key"]),
        "SEED_C2PA_TRUST_ANCHORS": str(c2pa_keys["root"]),
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)" in result.stdout


def test_check_deploy_fails_on_an_unusable_signer_or_trust_anchor(c2pa_keys, tmp_path):
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    env = sample_env() | {
        "SEED_C2PA_CERT": str(c2pa_keys["chain"]),
        "SEED_C2PA_KEY": str(tmp_path / "missing.pem"),
        "SEED_C2PA_TRUST_ANCHORS": str(empty),
    }
    result = manage("check", "--deploy", env=env)
    assert result.returncode == 1
    assert "seed.E002" in result.stderr and "missing.pem cannot be read" in result.stderr
    assert "seed.E003" in result.stderr and "empty.pem is empty" in result.stderr and "seed.E001" not in result.stderr


def test_production_settings_are_strict():
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k) for k in ["
        "'DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', 'SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT', 'CSRF_TRUSTED_ORIGINS', 'ALLOWED_HOSTS', "
        "'SEED_MAX_UPLOAD_BYTES', 'SEED_MAX_IMAGE_PIXELS', 'DATA_UPLOAD_MAX_MEMORY_SIZE', 'MIDDLEWARE']} | "
        "{'log_formatter': s.LOGGING['handlers']['stdout']['formatter'], "
        "'log_stream': s.LOGGING['handlers']['stdout']['stream']}))"
    )
    result = manage("shell", "-c", script, env=sample_env())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    assert (
        values["SECURE_HSTS_SECONDS"] >= 31536000
        and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
        and values["SECURE_SSL_REDIRECT"]
    )
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://seed.example.com"]
    assert values["ALLOWED_HOSTS"] == ["seed.example.com"]
    assert values["SEED_MAX_UPLOAD_BYTES"] == 52428800 and values["SEED_MAX_IMAGE_PIXELS"] == 67108864
    assert values["DATA_UPLOAD_MAX_MEMORY_SIZE"] <= 5 * 1024 * 1024
    assert "config.middleware.RequestSizeLimitMiddleware" in values["MIDDLEWARE"]
    assert (values["log_formatter"], values["log_stream"]) == ("json", "ext://sys.stdout")


def test_production_refuses_to_start_without_a_secret_key():
    env = sample_env()
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def _record(message, *args, **extra) -> logging.LogRecord:
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_level_logger_status_and_mask_share_tokens():
    token = secrets.token_urlsafe(32)
    request = RequestFactory().get(f"/review/s/{token}/image/3/")
    line = JsonFormatter().format(_record("Not Found: %s", request.path, status_code=404, request=request))
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "django.request" and entry["status"] == 404
    assert entry["path"] == "/review/s/[redacted]/image/3/" and entry["method"] == "GET"
    assert token not in line
    plain = PlainFormatter("%(message)s").format(_record('"GET /review/s/%s/ HTTP/1.1" 200', token))
    assert plain == '"GET /review/s/[redacted]/ HTTP/1.1" 200'


@pytest.fixture
def captured_logs():
    """Every record from every logger, formatted as production formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(name) for name in logging_config(json_lines=True, level="INFO")["loggers"]]
    targets = [logging.getLogger(), *loggers]
    for target in targets:
        target.addHandler(handler)
    yield stream
    for target in targets:
        target.removeHandler(handler)


@pytest.mark.django_db
def test_share_tokens_never_reach_the_logs_whatever_the_answer(cast, captured_logs):
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    tokens = {}
    for state in ("live", "expired", "revoked"):
        link, tokens[state] = share_link_create(
            review_round=review_round, created_by=cast["alice"], expires=timezone.localdate() + dt.timedelta(days=3)
        )
        if state == "expired":
            ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
        if state == "revoked":
            share_link_revoke(link=link, revoked_by=cast["alice"])
    tokens["tampered"] = tokens["live"][:-2] + ("AA" if not tokens["live"].endswith("AA") else "BB")
    browser = Client()
    answers = {}
    for state, token in tokens.items():
        page = browser.get(reverse("share-page", args=[token]))
        image = browser.get(reverse("share-image", args=[token, cast["version_a"].pk]))
        missing = browser.get(reverse("share-image", args=[token, cast["version_b"].pk]))
        posted = browser.post(
            reverse("share-decisions", args=[token]),
            {"version": 10**9, "guest_name": "Eve", "verdict": "approve"},
            content_type="application/json",
        )
        answers[state] = (page.status_code, image.status_code, missing.status_code, posted.status_code)
        assert page["Referrer-Policy"] == "strict-origin"  # scheme and host only: never the token
    assert answers["live"][:3] == (200, 200, 404)
    assert answers["expired"][0] == answers["revoked"][0] == 410 and answers["tampered"][0] == 404
    output = captured_logs.getvalue()
    assert "/review/s/[redacted]/" in output  # the unknown version's 404 was logged, masked
    for token in tokens.values():
        assert token not in output


def test_database_outage_answers_503_with_retry_after(caplog):
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    error = OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'
    )
    request = RequestFactory().get("/api/versions/")
    api = middleware.process_exception(request, error)
    assert api.status_code == 503 and api["Retry-After"] == "5"
    assert json.loads(api.content) == {
        "message": "the database is unavailable; retry shortly",
        "extra": {"code": "database_unavailable"},
    }
    admin = middleware.process_exception(RequestFactory().get("/admin/"), error)
    assert admin.status_code == 503 and admin["Content-Type"].startswith("text/plain")
    assert middleware.process_exception(RequestFactory().get("/api/versions/"), ValueError("not ours")) is None
    # One line per interval, not one per request; Django's own line for each 503 is dropped by the handler's filter.
    lines = [record for record in caplog.records if record.name == "config.middleware"]
    assert len(lines) == 1 and lines[0].levelname == "ERROR" and "0 more" in lines[0].getMessage()
    echo = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Service Unavailable: %s", ("/api/versions/",), None
    )
    echo.request = request
    assert not OutageEchoFilter().filter(echo)
    echo.request = RequestFactory().get("/api/versions/")
    assert OutageEchoFilter().filter(echo)


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_refused_before_it_is_read(cast, settings):
    settings.SEED_MAX_UPLOAD_BYTES = 1000
    client = Client()
    client.force_login(cast["alice"])
    answer = client.generic(
        "POST",
        "/api/references/",
        b"x" * 10,
        CONTENT_TYPE="application/octet-stream",
        CONTENT_LENGTH=str(2 * 1024 * 1024),
    )
    assert answer.status_code == 413
    assert answer.json()["extra"]["code"] == "too_large"
