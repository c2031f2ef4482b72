"""The machine-read checks of a version, for the studio: read them (the round's page polls until they are in), see
the picture of a measure, overrule a verdict. Client users are refused: what they see is what reviewers decide."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import is_client_user, versions_visible_to, visible
from assets.machine_check_selectors import machine_checks_of, machine_checks_pending
from assets.models import VersionCheck
from assets.services.machine_checks import machine_check_overrule
from assets.views import blob_response

OVERRULE_PERMISSION = "assets.change_versioncheck"


class VersionCheckSerializer(serializers.ModelSerializer):
    final_verdict = serializers.CharField(read_only=True)
    overruled_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    artefact = serializers.SerializerMethodField()

    class Meta:
        model = VersionCheck
        fields = [
            "id",
            "version",
            "key",
            "kind",
            "label",
            "measure",
            "verdict",
            "detail",
            "artefact",
            "computed_at",
            "overruled_verdict",
            "overruled_by",
            "overruled_at",
            "overrule_reason",
            "final_verdict",
        ]
        read_only_fields = fields

    def get_artefact(self, check) -> str | None:
        return reverse("versioncheck-artefact", args=[check.pk]) if check.artefact_id else None


class VersionChecksSerializer(serializers.Serializer):
    pending = serializers.BooleanField(help_text="The worker has not finished measuring since they were asked for")
    checks = VersionCheckSerializer(many=True)


class OverruleSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(
        choices=["pass", "warn", "fail", ""], help_text="Empty: back to the machine's verdict"
    )
    reason = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


def _studio_only(request) -> None:
    if is_client_user(user=request.user):
        raise PermissionDenied("machine-read checks are the studio's own; clients see what reviewers decide")


def _visible_check(request, pk) -> VersionCheck:
    _studio_only(request)
    check = visible(VersionCheck.objects.filter(pk=pk), user=request.user).select_related("overruled_by").first()
    if check is None:
        raise NotFound(f"check {pk} does not exist")
    return check


class VersionChecksView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=VersionChecksSerializer)
    def get(self, request, pk):
        """The version's checks as measured so far, and whether the worker is still measuring."""
        _studio_only(request)
        if not versions_visible_to(user=request.user).filter(pk=pk).exists():
            raise NotFound(f"version {pk} does not exist")
        checks = machine_checks_of(version_ids=[pk]).get(pk, [])
        pending = pk in machine_checks_pending(version_ids=[pk])
        return Response({"pending": pending, "checks": VersionCheckSerializer(checks, many=True).data})


class VersionCheckOverruleView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=OverruleSerializer, responses=VersionCheckSerializer)
    def post(self, request, pk):
        """The reviewer's verdict in place of the machine's, with the reason (audited); an empty verdict restores the
        machine's."""
        check = _visible_check(request, pk)
        if not request.user.has_perm(OVERRULE_PERMISSION):
            raise PermissionDenied(f"you need the {OVERRULE_PERMISSION} permission for this")
        data = OverruleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        check = machine_check_overrule(check_id=check.pk, user=request.user, **data.validated_data)
        return Response(VersionCheckSerializer(check).data)


class VersionCheckArtefactView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={(200, "image/png"): bytes})
    def get(self, request, pk):
        """The picture of the measure (the sharpness map), to lay over the image."""
        check = _visible_check(request, pk)
        if check.artefact_id is None:
            raise NotFound(f"check {pk} has no picture")
        return blob_response(request, check.artefact, cache="private, max-age=3600")
