"""Curation through the API: ratings, checklists, triage, recipe diffs and the reuse pool."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import is_client_user, reads_lineage, visible
from assets.api.serializers import VersionSerializer
from review.api import serializers as s
from review.api.permissions import permission_require, visible_brief, visible_version
from review.models import ChecklistItem
from review.selectors import maybe_later_pool, recipe_diff
from review.services.curation import checklist_ensure, checklist_item_add, checklist_tick, rating_set, versions_triage


class VersionRatingView(APIView):
    @extend_schema(request=s.RatingSerializer, responses=s.RatingSerializer)
    def post(self, request, pk):
        permission_require(request, "review.add_rating")
        data = s.RatingSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        rating = rating_set(
            version=visible_version(request, pk), reviewer=request.user, stars=data.validated_data["stars"]
        )
        return Response({"stars": rating.stars})


class VersionChecklistView(APIView):
    @extend_schema(request=s.TickSerializer, responses=s.TickSerializer)
    def post(self, request, pk):
        permission_require(request, "review.add_checklisttick")
        data = s.TickSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        version = visible_version(request, pk)
        item = get_object_or_404(ChecklistItem, pk=data.validated_data["item"], brief=version.brief)
        tick = checklist_tick(version=version, item=item, checked=data.validated_data["checked"], reviewer=request.user)
        return Response({"item": tick.item_id, "checked": tick.checked})


class VersionTriageView(APIView):
    @extend_schema(request=s.TriageSerializer, responses=s.TriageSerializer)
    def post(self, request):
        permission_require(request, "assets.change_version")
        data = s.TriageSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        versions = [visible_version(request, pk) for pk in data.validated_data["versions"]]
        versions_triage(versions=versions, triage=data.validated_data["triage"], actor=request.user)
        return Response(data.validated_data)


class VersionDiffView(APIView):
    @extend_schema(responses=s.DiffRowSerializer(many=True))
    def get(self, request, pk, other):
        """What changed in the recipe (prompts, models, parameters): for those who may read both versions' lineage."""
        before, after = visible_version(request, pk), visible_version(request, other)
        for version in (before, after):
            if not reads_lineage(user=request.user, brief=version.brief):
                raise NotFound(f"the lineage of version {version.pk} is not shared with you")
        return Response(recipe_diff(before=before, after=after))


class BriefChecklistView(APIView):
    @extend_schema(responses=s.ChecklistItemSerializer(many=True))
    def get(self, request, pk):
        """The studio's checklist of the brief. Client users are refused (it is studio curation); only those who may
        edit it have the default checklist laid down on first read, so no one else's GET writes."""
        if is_client_user(user=request.user):
            raise PermissionDenied("the checklist is internal")
        brief = visible_brief(request, pk)
        if request.user.has_perm("review.add_checklistitem"):
            items = checklist_ensure(brief=brief)
        else:
            items = visible(ChecklistItem.objects.filter(brief=brief, active=True), user=request.user)
        return Response(s.ChecklistItemSerializer(items, many=True).data)

    @extend_schema(request=s.ChecklistItemSerializer, responses={201: s.ChecklistItemSerializer})
    def post(self, request, pk):
        permission_require(request, "review.add_checklistitem")
        data = s.ChecklistItemSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        item = checklist_item_add(brief=visible_brief(request, pk), label=data.validated_data["label"])
        return Response(s.ChecklistItemSerializer(item).data, status=status.HTTP_201_CREATED)


class BriefPoolView(APIView):
    @extend_schema(responses=VersionSerializer(many=True))
    def get(self, request, pk):
        if is_client_user(user=request.user):
            raise PermissionDenied("the reuse pool is internal")
        pool = maybe_later_pool(brief=visible_brief(request, pk)).select_related("generated_by__derivation")
        return Response(VersionSerializer(pool, many=True).data)
