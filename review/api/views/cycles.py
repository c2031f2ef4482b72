"""Approval cycles through the API: a brief's stats, and the cycles of a brief or a client as JSON or CSV."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import briefs_visible_to
from review.api.permissions import visible_brief
from review.cycles import cycles_csv, cycles_of
from review.selectors import brief_cycle_stats


class BriefCycleStatsView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        return Response(brief_cycle_stats(brief=visible_brief(request, pk), viewer=request.user))


def _cycles_response(request, briefs, name: str):
    kind = request.query_params.get("as", "json").lower()
    if kind not in ("json", "csv"):
        return Response({"message": "as must be json or csv", "extra": {}}, status=status.HTTP_400_BAD_REQUEST)
    cycles = cycles_of(briefs=briefs, viewer=request.user)
    if kind == "json":
        return Response(cycles)
    response = HttpResponse(cycles_csv(cycles), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-cycles.csv"'
    return response


_CYCLES_AS = OpenApiParameter("as", str, enum=["json", "csv"], description="json (default) or csv, one line per round")


class BriefCyclesView(APIView):
    """Rounds to final approval, hours per round, hours waiting on each reviewer, the bottleneck, GPU-seconds."""

    @extend_schema(
        parameters=[_CYCLES_AS],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, pk):
        brief = visible_brief(request, pk)
        return _cycles_response(request, briefs_visible_to(user=request.user).filter(pk=brief.pk), f"brief-{brief.pk}")


class ClientCyclesView(APIView):
    """The same across every brief of a client the user may see."""

    @extend_schema(
        parameters=[_CYCLES_AS],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, pk):
        briefs = briefs_visible_to(user=request.user).filter(campaign__client_id=pk)
        if not briefs.exists():
            raise NotFound("no such client, or none of its briefs is visible to you")
        return _cycles_response(request, briefs, f"client-{pk}")
