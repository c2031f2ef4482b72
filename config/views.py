"""Pages of the project itself: error pages (under /api/ in the API's error shape, not HTML) and the metrics scrape."""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseNotFound
from django.views import defaults

from config.middleware import error_answer


def not_found(request, exception):
    if request.path.startswith("/api/"):
        return error_answer(request, 404, f"no API route matches {request.path}", "not_found")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return error_answer(
            request, 500, "the server failed to answer this request; it has been logged", "server_error"
        )
    return defaults.server_error(request)


def metrics(request):
    """Prometheus scrape: this host's metrics and every cluster's queue, for a caller with the token or from an
    allowed network; off (404) until one of them is configured."""
    from assets.metrics import METRICS_OFF, METRICS_REFUSED, exposition, metrics_access

    allowed = metrics_access(
        authorization=request.headers.get("Authorization", ""), address=request.META.get("REMOTE_ADDR", "")
    )
    if allowed is None:
        return HttpResponseNotFound(METRICS_OFF, content_type="text/plain")
    if not allowed:
        response = HttpResponse(METRICS_REFUSED, status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="seed-metrics"'
        return response
    from prometheus_client import CONTENT_TYPE_LATEST

    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
