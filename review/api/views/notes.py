"""Note threads through the API: replies, fixes, masks, resolving, and the threads still open on a version."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import is_client_user, visible
from assets.api.serializers import DerivedFileSerializer
from review.api import serializers as s
from review.api.permissions import visible_version
from review.models import Note
from review.selectors import notes_open_on, rounds_visible_to
from review.services.notes import note_add, note_fix, note_mask_save, note_resolve


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
        version = visible_version(request, pk)
        client = is_client_user(user=request.user)
        notes = notes_open_on(version=version, for_client=client).filter(
            review_round__in=rounds_visible_to(user=request.user)
        )
        return Response(s.NoteSerializer(notes, many=True, context={"for_client": client}).data)
