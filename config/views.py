"""Error pages Django renders itself: under /api/ they answer in the API's error shape, not HTML."""

from __future__ import annotations

from django.views import defaults

from config.middleware import error_answer


def not_found(request, exception):
    if request.path.startswith("/api/"):
        return error_answer(request, 404, f"no API route matches {request.path}", "not_found")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return error_answer(request, 500, "the server failed to answer this request; it has been logged", "server_error")
    return defaults.server_error(request)
