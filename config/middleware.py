"""Request-level guards that hold for every view: the API, the admin and the share pages."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

from config.logging import OUTAGE_LOGGED

logger = logging.getLogger(__name__)

# Multipart framing and the form fields around a file.
FORM_OVERHEAD_BYTES = 1024 * 1024
RETRY_AFTER_SECONDS = 5
# During an outage every request fails alike: one line per interval says so, with the count in between.
OUTAGE_LOG_SECONDS = 30


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
        logger.error("database unavailable: answering 503 (%s more since the last such line); %s %s: %s",
                     answered, request.method, request.path, exception)
