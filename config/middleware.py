"""Request-level guards that hold for every view: the API, the admin and the share pages."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from rest_framework.throttling import BaseThrottle

from config.logging import OUTAGE_LOGGED

logger = logging.getLogger(__name__)

# Multipart framing and the form fields around a file.
FORM_OVERHEAD_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 5
# During an outage every request fails alike: one line per interval says so, with the count in between.
OUTAGE_LOG_SECONDS = 30
FAILED_ATTEMPT_WINDOW_SECONDS = 60


def error_answer(request, status: int, message: str, code: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"message": message, "extra": {"code": code}}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class RequestSizeLimitMiddleware:
    """Refuse a body larger than the upload limit before anything reads it (Django spools files to disk)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.SEED_MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_answer(request, 400, "the Content-Length header is not a number", "bad_request")
        if length > limit:
            return error_answer(request, 413, f"the request body is {length} bytes; the limit is {limit}", "too_large")
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """While Postgres is unreachable, answer 503 with Retry-After instead of a 500 error page.

    Django drops a broken connection at the end of the request, so the first request after the
    database is back connects afresh: nothing has to be restarted.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._lock = threading.Lock()
        self._logged_at: float | None = None
        self._since_logged = 0

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)):
            return None
        self._outage_log(request, exception)
        setattr(request, OUTAGE_LOGGED, True)
        response = error_answer(request, 503, "the database is unavailable; retry shortly", "database_unavailable")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def _outage_log(self, request, exception) -> None:
        now = time.monotonic()
        with self._lock:
            if self._logged_at is not None and now - self._logged_at < OUTAGE_LOG_SECONDS:
                self._since_logged += 1
                return
            answered, self._since_logged, self._logged_at = self._since_logged, 0, now
        logger.error(
            "database unavailable: answering 503 (%s more since the last such line); %s %s: %s",
            answered,
            request.method,
            request.path,
            exception,
        )


class FailedAttemptLimitMiddleware:
    """Slow down guessing where a password or a link's token is the only credential: the admin sign-in and share links.

    Failed attempts are counted per address for a minute (SEED_LOGIN_FAILURES_PER_MINUTE,
    SEED_SHARE_FAILURES_PER_MINUTE); past the limit that address is answered 429 until the minute is out, right
    guesses included, so guessing on cannot tell a hit from a miss. Only failures count: a reviewer paging through
    a round or a producer signing in is never held up.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        guard = self._guard(request)
        if guard is None:
            return self.get_response(request)
        scope, limit, failed = guard
        # The address as DRF's throttles see it (SEED_NUM_PROXIES), so the API and the pages agree on who is asking.
        key = f"seed-failed-attempts:{scope}:{BaseThrottle().get_ident(request)}"
        if cache.get(key, 0) >= limit:
            response = error_answer(
                request, 429, "too many failed attempts from this address; try again in a minute", "throttled"
            )
            response["Retry-After"] = str(FAILED_ATTEMPT_WINDOW_SECONDS)
            return response
        response = self.get_response(request)
        if failed(response):
            self._count(key)
        return response

    @staticmethod
    def _guard(request):
        if request.method == "POST" and request.path == reverse("admin:login"):
            # A sign-in that works redirects; a refused one shows the form again.
            return "admin-login", settings.SEED_LOGIN_FAILURES_PER_MINUTE, lambda response: response.status_code != 302
        if request.path.startswith(reverse("share-page", kwargs={"token": "-"}).removesuffix("-/")):
            # Unknown tokens answer 404, expired or revoked ones 410.
            return (
                "share-link",
                settings.SEED_SHARE_FAILURES_PER_MINUTE,
                lambda response: response.status_code in (404, 410),
            )
        return None

    @staticmethod
    def _count(key: str) -> None:
        # The window starts at the first failure and is not extended by later ones.
        cache.add(key, 0, timeout=FAILED_ATTEMPT_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # the window closed between the two calls
            cache.add(key, 1, timeout=FAILED_ATTEMPT_WINDOW_SECONDS)
