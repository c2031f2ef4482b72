"""Seed's URLs plus a floor: plain Django views returning the same rows as JsonResponse, no DRF.

They authenticate the same token and return the same page of versions (with its count) and the same
lineage graph, so the ratio measures what the API layer costs on top of the queries.
"""

from django.http import JsonResponse
from django.urls import path

from assets.errors import ApplicationError
from assets.models import Version
from assets.selectors import lineage_graph, versions_list
from assets.services.tokens import api_token_use
from config.urls import urlpatterns as seed_urlpatterns

PAGE = 50


def _user(request):
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Token":
        return None
    try:
        return api_token_use(key=key).user
    except ApplicationError:
        return None


def plain_versions(request):
    if _user(request) is None:
        return JsonResponse({"message": "sign in"}, status=401)
    rows = versions_list().filter(brief_id=request.GET["brief"]).order_by("-created_at", "-id")
    results = [
        {
            "id": v.pk,
            "brief": v.brief_id,
            "sha256": v.blob_id,
            "width": v.width,
            "height": v.height,
            "format": v.format,
            "seed": v.seed,
            "label": v.label,
            "status": v.status,
            "triage": v.triage,
            "derivation": {
                "id": v.generated_by.derivation.pk,
                "op": v.generated_by.derivation.op,
                "phase": v.generated_by.derivation.phase,
                "state": v.generated_by.derivation.state,
            },
            "image_url": f"/blobs/{v.blob_id}/",
            "thumbnail_url": f"/blobs/{v.blob_id}/thumb/256/",
            "created_at": v.created_at.isoformat(),
        }
        for v in rows[:PAGE]
    ]
    return JsonResponse({"count": rows.count(), "next": None, "previous": None, "results": results})


def plain_lineage(request, pk: int):
    if _user(request) is None:
        return JsonResponse({"message": "sign in"}, status=401)
    return JsonResponse(lineage_graph(version=Version.objects.get(pk=pk)).as_dict())


urlpatterns = [
    path("bench/plain/versions/", plain_versions),
    path("bench/plain/lineage/<int:pk>/", plain_lineage),
    *seed_urlpatterns,
]
