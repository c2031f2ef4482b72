"""API keys kept as digests that expire; guessing slowed on the token endpoint, the admin sign-in and share links;
share tokens and credentials kept out of Sentry events."""

import datetime as dt
import hashlib
import json
import secrets

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from assets.models import ApiToken
from config.observability import event_scrub
from review.services.rounds import round_open
from review.services.share_links import share_link_create

pytestmark = pytest.mark.django_db

PASSWORD = "erin-pass-123"


@pytest.fixture(autouse=True)
def counts_cleared():
    """Throttle counts live in the cache, which outlives a test: each test starts and leaves with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def erin(db):
    return get_user_model().objects.create_user("erin", password=PASSWORD, is_staff=True, is_superuser=True)


def _issued(**credentials):
    return APIClient().post(
        "/api/auth/token/", {"username": "erin", "password": PASSWORD, **credentials}, format="json"
    )


def _briefs(key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/briefs/")


def test_a_key_is_shown_once_kept_as_its_digest_and_expires_after_the_configured_days(erin, settings):
    settings.SEED_API_TOKEN_DAYS = 7
    answer = _issued()
    assert answer.status_code == 200, answer.content
    key = answer.json()["token"]
    row = ApiToken.objects.get(user=erin)
    assert row.digest == hashlib.sha256(key.encode()).hexdigest() and row.prefix == key[:8]
    assert key not in json.dumps(list(ApiToken.objects.values()), default=str)
    expires = dt.datetime.fromisoformat(answer.json()["expires"])
    assert abs(expires - (timezone.now() + dt.timedelta(days=7))) < dt.timedelta(minutes=1)
    assert _briefs(key).status_code == 200
    assert ApiToken.objects.get(pk=row.pk).last_used_at is not None


def test_an_expired_key_is_refused_with_401_and_says_so(erin):
    key = _issued().json()["token"]
    ApiToken.objects.filter(user=erin).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    answer = _briefs(key)
    assert answer.status_code == 401
    assert "expired" in answer.json()["message"] and "/api/auth/token/" in answer.json()["message"]


def test_a_disabled_accounts_key_and_an_unknown_key_are_refused_with_401(erin):
    key = _issued().json()["token"]
    erin.is_active = False
    erin.save(update_fields=["is_active"])
    assert "disabled" in _briefs(key).json()["message"]
    assert _briefs(key).status_code == 401
    unknown = _briefs(secrets.token_urlsafe(32))
    assert unknown.status_code == 401 and "not valid" in unknown.json()["message"]


def test_a_password_change_ends_every_key_of_the_account(erin):
    key = _issued().json()["token"]
    erin.last_name = "Unchanged password"
    erin.save()
    assert _briefs(key).status_code == 200  # saving the account for anything else leaves its keys alone
    erin.set_password("a-new-pass-456")
    erin.save()
    answer = _briefs(key)
    assert answer.status_code == 401 and "not valid" in answer.json()["message"]
    assert not ApiToken.objects.filter(user=erin).exists()


def test_a_wrong_password_gets_no_key(erin):
    answer = _issued(password="wrong")
    assert answer.status_code == 400 and "credentials" in answer.json()["message"]
    assert not ApiToken.objects.exists()


def test_the_eleventh_token_request_in_a_minute_is_throttled(erin):
    for attempt in range(10):
        assert _issued(password="wrong" if attempt % 2 else PASSWORD).status_code in (200, 400)
    throttled = _issued()
    assert throttled.status_code == 429
    assert "throttled" in throttled.json()["message"] and int(throttled["Retry-After"]) > 0
    assert ApiToken.objects.count() == 5


def _sign_in(password: str, address: str = "10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(
        "/admin/login/", {"username": "erin", "password": password, "next": "/admin/"}
    )


def test_repeated_bad_admin_sign_ins_get_429_from_that_address_only(erin, settings):
    settings.SEED_LOGIN_FAILURES_PER_MINUTE = 3
    assert _sign_in(PASSWORD).status_code == 302  # a sign-in that works is not a failure
    for _ in range(3):
        assert _sign_in("wrong").status_code == 200
    refused = _sign_in(PASSWORD)
    assert refused.status_code == 429 and "too many failed attempts" in refused.content.decode()
    assert refused["Retry-After"] == "60"
    assert _sign_in(PASSWORD, address="10.0.0.2").status_code == 302


def test_hammering_invalid_share_tokens_gets_429_while_a_working_link_is_never_held_up(cast, settings):
    settings.SEED_SHARE_FAILURES_PER_MINUTE = 3
    review_round = round_open(
        brief=cast["brief_a"],
        versions=[cast["version_a"]],
        stage="client",
        opened_by=cast["alice"],
        reviewers=[cast["dana"]],
    )
    _, token = share_link_create(
        review_round=review_round, created_by=cast["alice"], expires=timezone.localdate() + dt.timedelta(days=3)
    )
    guest, guesser = Client(REMOTE_ADDR="10.0.0.5"), Client(REMOTE_ADDR="10.0.0.6")
    for _ in range(5):
        assert guest.get(f"/review/s/{token}/").status_code == 200
    for _ in range(3):
        assert guesser.get(f"/review/s/{secrets.token_urlsafe(32)}/").status_code == 404
    refused = guesser.get(f"/review/s/{secrets.token_urlsafe(32)}/")
    assert refused.status_code == 429 and "too many failed attempts" in refused.content.decode()
    assert guesser.get(f"/review/s/{token}/").status_code == 429  # a hit cannot be told from a miss while refused
    assert guest.get(f"/review/s/{token}/").status_code == 200


def test_sentry_events_carry_no_share_token_api_key_or_session():
    share, key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    event = {
        "transaction": f"/review/s/{share}/notes/",
        "request": {
            "url": f"https://seed.example.com/review/s/{share}/notes/",
            "method": "POST",
            "query_string": f"page=2&token={share}",
            "headers": {
                "Authorization": f"Token {key}",
                "Cookie": "sessionid=abc; csrftoken=def",
                "Referer": f"https://seed.example.com/review/s/{share}/",
                "User-Agent": "Mozilla/5.0",
            },
            "cookies": {"sessionid": "abc"},
            "env": {"SERVER_NAME": "web"},
        },
        "breadcrumbs": {
            "values": [
                {"category": "django.request", "message": f"GET /review/s/{share}/image/7/", "level": "info"},
                {"category": "httplib", "data": {"url": f"http://127.0.0.1:8000/review/s/{share}/", "method": "GET"}},
                {"category": "log", "message": f"retrying with Token {key}"},
            ]
        },
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"no round for /review/s/{share}/",
                    "stacktrace": {"frames": [{"function": "share_page", "vars": {"path": f"/review/s/{share}/"}}]},
                }
            ]
        },
        "spans": [{"op": "http.server", "description": f"GET /review/s/{share}/notes/"}],
    }
    scrubbed = json.dumps(event_scrub(event, {}))
    assert share not in scrubbed and key not in scrubbed
    assert "abc" not in scrubbed and "def" not in scrubbed
    cleaned = event_scrub(event, {})
    assert cleaned["request"]["url"] == "https://seed.example.com/review/s/[redacted]/notes/"
    assert cleaned["request"]["query_string"] == "page=2&token=[redacted]"
    assert cleaned["request"]["headers"]["User-Agent"] == "Mozilla/5.0"
    assert cleaned["request"]["method"] == "POST" and cleaned["breadcrumbs"]["values"][0]["level"] == "info"
    assert cleaned["breadcrumbs"]["values"][2]["message"] == "retrying with Token [redacted]"
