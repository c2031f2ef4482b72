"""Rounds through the API: open, list, close, decide, discuss, contact sheets and share links; a grid opened as a
round."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import is_client_user, visible
from assets.api.permissions import internal_only
from generation.models import GridJob
from review.api import serializers as s
from review.api.permissions import permission_require, visible_brief, visible_version
from review.contact_sheet import contact_sheet_pdf, contact_sheet_render
from review.models import ShareLink
from review.selectors import blobs_locked_for, current_decisions, invitees_by_round, round_notes, rounds_visible_to
from review.services.invitations import invitation_viewed
from review.services.notes import note_add
from review.services.rounds import PinInput, decision_record, grid_round_open, round_close, round_open
from review.services.share_links import share_link_create, share_link_revoke


def _previews_only(review_round, user) -> frozenset[int]:
    """The round's versions the user may not download in full: the PDF embeds them at preview size."""
    held = list(review_round.versions.values_list("pk", "blob_id"))
    locked = blobs_locked_for(user=user, blob_ids={blob_id for _, blob_id in held})
    return frozenset(pk for pk, blob_id in held if blob_id in locked)


class RoundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.RoundSerializer
    filterset_fields = ["brief", "stage", "status"]

    def get_queryset(self):
        return rounds_visible_to(user=self.request.user).prefetch_related("versions", "reviewers", "items")

    def list(self, request, *args, **kwargs):
        """A page of rounds with whom each waits on, worked out for the page at once (not a round at a time)."""
        rounds = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        invitees = invitees_by_round(rounds=rounds, viewer=request.user)
        for review_round in rounds:
            review_round._invitees = invitees[review_round.pk]
        return self.get_paginated_response(self.get_serializer(rounds, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        review_round = self.get_object()
        invitation_viewed(review_round=review_round, user=request.user)
        return Response(self.get_serializer(review_round).data)

    @extend_schema(request=s.RoundCreateSerializer, responses={201: s.RoundSerializer})
    def create(self, request):
        permission_require(request, "review.add_reviewround")
        data = s.RoundCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        brief = visible_brief(request, values["brief"])
        versions = [visible_version(request, pk) for pk in values["versions"]]
        review_round = round_open(
            brief=brief,
            versions=versions,
            stage=values["stage"],
            opened_by=request.user,
            reviewers=values["reviewers"],
            commenters=values["commenters"],
            guests=values["guests"],
            rule=values["rule"],
            title=values["title"],
            deadline=values["deadline"],
        )
        return Response(
            s.RoundSerializer(review_round, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=None, responses=s.RoundSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        permission_require(request, "review.change_reviewround")
        closed = round_close(review_round=self.get_object(), closed_by=request.user)
        return Response(s.RoundSerializer(closed, context={"request": request}).data)

    @extend_schema(
        request=s.DecisionCreateSerializer, responses={200: s.DecisionSerializer(many=True), 201: s.DecisionSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def decisions(self, request, pk=None):
        review_round = self.get_object()
        client = is_client_user(user=request.user)
        if request.method == "GET":
            return Response(
                s.DecisionSerializer(current_decisions(review_round=review_round, for_client=client), many=True).data
            )
        permission_require(request, "review.add_decision")
        data = s.DecisionCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        decision = decision_record(
            review_round=review_round,
            version=visible_version(request, values["version"]),
            verdict=values["verdict"],
            comment=values["comment"],
            pins=[PinInput(**pin) for pin in values["pins"]],
            reviewer=request.user,
            internal=values["internal"],
        )
        return Response(s.DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.NoteCreateSerializer, responses={200: s.NoteSerializer(many=True), 201: s.NoteSerializer})
    @action(detail=True, methods=["get", "post"])
    def notes(self, request, pk=None):
        review_round = self.get_object()
        client = is_client_user(user=request.user)
        if request.method == "GET":
            return Response(
                s.NoteSerializer(
                    round_notes(review_round=review_round, for_client=client), many=True, context={"for_client": client}
                ).data
            )
        data = s.NoteCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if "version" not in values:
            return Response(
                {"message": "version: a new thread needs the version it is about", "extra": {}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        note = note_add(
            review_round=review_round,
            version=visible_version(request, values["version"]),
            text=values["text"],
            markup=values["markup"],
            internal=values["internal"],
            author=request.user,
        )
        return Response(s.NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("as", str, enum=["png", "pdf"], description="file type (default png)"),
            OpenApiParameter("paper", str, enum=["A4", "Letter"], description="PDF paper (default A4)"),
            OpenApiParameter(
                "per_page", int, enum=[1, 2, 4, 6, 9, 12], description="PDF versions per page (default 6)"
            ),
        ],
        responses={(200, "image/png"): OpenApiTypes.BINARY, (200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"], url_path="contact-sheet")
    def contact_sheet(self, request, pk=None):
        review_round = self.get_object()
        kind = request.query_params.get("as", "png").lower()
        if kind not in ("png", "pdf"):
            return Response({"message": "as must be png or pdf", "extra": {}}, status=status.HTTP_400_BAD_REQUEST)
        if kind == "pdf":
            try:
                per_page = int(request.query_params.get("per_page", 6))
            except ValueError:
                return Response(
                    {"message": "per_page must be a number", "extra": {}}, status=status.HTTP_400_BAD_REQUEST
                )
            data = contact_sheet_pdf(
                review_round=review_round,
                for_client=is_client_user(user=request.user),
                paper=request.query_params.get("paper", "A4"),
                per_page=per_page,
                previews_only=_previews_only(review_round, request.user),
            )
        else:
            data = contact_sheet_render(
                review_round=review_round, image_format="PNG", for_client=is_client_user(user=request.user)
            )
        response = HttpResponse(data, content_type="application/pdf" if kind == "pdf" else "image/png")
        response["Content-Disposition"] = (
            f'attachment; filename="round-{review_round.brief_id}-{review_round.number}.{kind}"'
        )
        return response

    @extend_schema(request=s.ShareLinkCreateSerializer, responses={201: s.ShareLinkCreatedSerializer})
    @action(detail=True, methods=["post"], url_path="share-links")
    def share_links(self, request, pk=None):
        permission_require(request, "review.add_sharelink")
        data = s.ShareLinkCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        link, token = share_link_create(
            review_round=self.get_object(),
            expires=data.validated_data["expires"],
            created_by=request.user,
            label=data.validated_data["label"],
            can_decide=data.validated_data["can_decide"],
        )
        body = s.ShareLinkSerializer(link).data | {
            "token": token,
            "url": request.build_absolute_uri(reverse("share-page", args=[token])),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class GridRoundView(APIView):
    @extend_schema(request=None, responses={201: s.GridRoundSerializer})
    def post(self, request, pk):
        """Open an internal review round of the grid's cells."""
        internal_only(request, "review.add_reviewround")
        grid = get_object_or_404(visible(GridJob.objects.all(), user=request.user), pk=pk)
        review_round = grid_round_open(grid=grid, opened_by=request.user)
        return Response({"round": review_round.pk}, status=status.HTTP_201_CREATED)


class ShareLinkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.ShareLinkSerializer
    filterset_fields = ["review_round"]

    def get_queryset(self):
        return visible(ShareLink.objects.all(), user=self.request.user)

    @extend_schema(request=None, responses=s.ShareLinkSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        permission_require(request, "review.change_sharelink")
        return Response(s.ShareLinkSerializer(share_link_revoke(link=self.get_object(), revoked_by=request.user)).data)
