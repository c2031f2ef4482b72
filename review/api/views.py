from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import (
    briefs_visible_to,
    is_client_user,
    reads_lineage,
    versions_visible_to,
    visible,
)
from assets.api.permissions import internal_only
from assets.api.serializers import DerivedFileSerializer, VersionSerializer
from assets.models import Version
from generation.models import GridJob
from review.api import serializers as s
from review.contact_sheet import contact_sheet_pdf, contact_sheet_render
from review.cycles import cycles_csv, cycles_of
from review.models import ChecklistItem, Note, NotificationPreference, ShareLink
from review.selectors import (
    brief_cycle_stats,
    current_decisions,
    invitees_by_round,
    maybe_later_pool,
    notes_open_on,
    recipe_diff,
    round_notes,
    rounds_visible_to,
)
from review.services.curation import (
    checklist_ensure,
    checklist_item_add,
    checklist_tick,
    rating_set,
    versions_triage,
)
from review.services.invitations import invitation_viewed
from review.services.notes import note_add, note_fix, note_mask_save, note_resolve
from review.services.notifications import notification_preference_set
from review.services.rounds import PinInput, decision_record, grid_round_open, round_close, round_open
from review.services.share_links import share_link_create, share_link_revoke


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"you need the {permission} permission for this")


def _visible_version(request, pk) -> Version:
    return get_object_or_404(versions_visible_to(user=request.user), pk=pk)


def _visible_brief(request, pk):
    return get_object_or_404(briefs_visible_to(user=request.user), pk=pk)


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
        _require(request, "review.add_reviewround")
        data = s.RoundCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        brief = _visible_brief(request, values["brief"])
        versions = [_visible_version(request, pk) for pk in values["versions"]]
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
        _require(request, "review.change_reviewround")
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
        _require(request, "review.add_decision")
        data = s.DecisionCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        decision = decision_record(
            review_round=review_round,
            version=_visible_version(request, values["version"]),
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
            version=_visible_version(request, values["version"]),
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
        _require(request, "review.add_sharelink")
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
        _require(request, "review.change_sharelink")
        return Response(s.ShareLinkSerializer(share_link_revoke(link=self.get_object(), revoked_by=request.user)).data)


class VersionRatingView(APIView):
    @extend_schema(request=s.RatingSerializer, responses=s.RatingSerializer)
    def post(self, request, pk):
        _require(request, "review.add_rating")
        data = s.RatingSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        rating = rating_set(
            version=_visible_version(request, pk), reviewer=request.user, stars=data.validated_data["stars"]
        )
        return Response({"stars": rating.stars})


class VersionChecklistView(APIView):
    @extend_schema(request=s.TickSerializer, responses=s.TickSerializer)
    def post(self, request, pk):
        _require(request, "review.add_checklisttick")
        data = s.TickSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        version = _visible_version(request, pk)
        item = get_object_or_404(ChecklistItem, pk=data.validated_data["item"], brief=version.brief)
        tick = checklist_tick(version=version, item=item, checked=data.validated_data["checked"], reviewer=request.user)
        return Response({"item": tick.item_id, "checked": tick.checked})


class VersionTriageView(APIView):
    @extend_schema(request=s.TriageSerializer, responses=s.TriageSerializer)
    def post(self, request):
        _require(request, "assets.change_version")
        data = s.TriageSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        versions = [_visible_version(request, pk) for pk in data.validated_data["versions"]]
        versions_triage(versions=versions, triage=data.validated_data["triage"], actor=request.user)
        return Response(data.validated_data)


class VersionDiffView(APIView):
    @extend_schema(responses=s.DiffRowSerializer(many=True))
    def get(self, request, pk, other):
        """What changed in the recipe (prompts, models, parameters): for those who may read both versions' lineage."""
        before, after = _visible_version(request, pk), _visible_version(request, other)
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
        brief = _visible_brief(request, pk)
        if request.user.has_perm("review.add_checklistitem"):
            items = checklist_ensure(brief=brief)
        else:
            items = visible(ChecklistItem.objects.filter(brief=brief, active=True), user=request.user)
        return Response(s.ChecklistItemSerializer(items, many=True).data)

    @extend_schema(request=s.ChecklistItemSerializer, responses={201: s.ChecklistItemSerializer})
    def post(self, request, pk):
        _require(request, "review.add_checklistitem")
        data = s.ChecklistItemSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        item = checklist_item_add(brief=_visible_brief(request, pk), label=data.validated_data["label"])
        return Response(s.ChecklistItemSerializer(item).data, status=status.HTTP_201_CREATED)


class BriefPoolView(APIView):
    @extend_schema(responses=VersionSerializer(many=True))
    def get(self, request, pk):
        if is_client_user(user=request.user):
            raise PermissionDenied("the reuse pool is internal")
        pool = maybe_later_pool(brief=_visible_brief(request, pk)).select_related("generated_by__derivation")
        return Response(VersionSerializer(pool, many=True).data)


class BriefCycleStatsView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, pk):
        return Response(brief_cycle_stats(brief=_visible_brief(request, pk), viewer=request.user))


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
        brief = _visible_brief(request, pk)
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


class MyNotificationsView(APIView):
    """How the signed-in user hears about reviews: immediately, in a daily digest, or not at all."""

    @extend_schema(responses=s.NotificationPreferenceSerializer)
    def get(self, request):
        preference = NotificationPreference.objects.filter(user=request.user).first()
        return Response({"mode": preference.mode if preference else NotificationPreference.Mode.IMMEDIATE})

    @extend_schema(request=s.NotificationPreferenceSerializer, responses=s.NotificationPreferenceSerializer)
    def put(self, request):
        data = s.NotificationPreferenceSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        preference = notification_preference_set(user=request.user, mode=data.validated_data["mode"])
        return Response({"mode": preference.mode})


class NoteViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A thread: reply, resolve, reopen. Client users see their client rounds' notes that are not internal."""

    serializer_class = s.NoteSerializer

    def get_queryset(self):
        return visible(Note.objects.all(), user=self.request.user)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "for_client": is_client_user(user=self.request.user)}

    @extend_schema(request=s.NoteCreateSerializer, responses={201: s.NoteSerializer})
    @action(detail=True, methods=["post"])
    def replies(self, request, pk=None):
        parent = self.get_object()
        data = s.NoteCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        reply = note_add(
            review_round=parent.review_round,
            version=parent.version,
            text=data.validated_data["text"],
            markup=data.validated_data["markup"],
            author=request.user,
            parent=parent,
        )
        return Response(s.NoteSerializer(reply).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.NoteFixSerializer, responses={201: s.NoteSerializer})
    @action(detail=True, methods=["post"])
    def fix(self, request, pk=None):
        """Fix this region: an inpaint job of the area the note's markup encloses."""
        note = self.get_object()
        data = s.NoteFixSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        fixed = note_fix(
            note=note,
            user=request.user,
            prompt_text=data.validated_data["prompt"],
            feather=data.validated_data["feather"],
        )
        return Response(
            s.NoteSerializer(fixed, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=s.NoteMaskSerializer, responses={201: DerivedFileSerializer})
    @action(detail=True, methods=["post"])
    def mask(self, request, pk=None):
        """Keep the region the note's markup encloses as a mask of its version (for inpaint and composite layers)."""
        data = s.NoteMaskSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        saved = note_mask_save(note=self.get_object(), user=request.user, feather=data.validated_data["feather"])
        return Response(DerivedFileSerializer(saved).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.NoteSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        resolved = note_resolve(note=self.get_object(), user=request.user)
        return Response(s.NoteSerializer(resolved, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=s.NoteSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return Response(
            s.NoteSerializer(
                note_resolve(note=self.get_object(), user=request.user, resolved=False),
                context=self.get_serializer_context(),
            ).data
        )


class VersionOpenNotesView(APIView):
    """Unresolved threads on this version and its ancestors: what the next version must address."""

    @extend_schema(responses=s.NoteSerializer(many=True))
    def get(self, request, pk):
        version = _visible_version(request, pk)
        client = is_client_user(user=request.user)
        notes = notes_open_on(version=version, for_client=client).filter(
            review_round__in=rounds_visible_to(user=request.user)
        )
        return Response(s.NoteSerializer(notes, many=True, context={"for_client": client}).data)
