from django.conf import settings
from django.core.files.storage import storages
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import versions_visible_to
from assets.api.parsers import StrictMultiPartParser
from assets.api.permissions import internal_only
from assets.errors import ApplicationError
from delivery.api import serializers as s
from delivery.models import ChannelPreset, Delivery
from delivery.selectors import deliveries_visible_to, file_verify
from delivery.services.deliveries import delivery_create, delivery_override


class PresetViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.PresetSerializer
    queryset = ChannelPreset.objects.all()
    lookup_field = "slug"


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.DeliverySerializer
    filterset_fields = ["version", "state"]

    def get_queryset(self):
        return deliveries_visible_to(user=self.request.user).prefetch_related(
            "presets", "items__preset", "items__version", "items__version__credentials"
        )

    @extend_schema(request=s.DeliveryCreateSerializer, responses={201: s.DeliverySerializer})
    def create(self, request):
        internal_only(request, "delivery.add_delivery")
        data = s.DeliveryCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        v = data.validated_data
        version = get_object_or_404(versions_visible_to(user=request.user), pk=v["version"].pk)
        presets = None
        if "presets" in v:
            found = {preset.slug: preset for preset in ChannelPreset.objects.filter(slug__in=v["presets"])}
            unknown = [slug for slug in v["presets"] if slug not in found]
            if unknown:
                raise ApplicationError(f"unknown preset(s): {', '.join(unknown)}", extra={"unknown": unknown})
            presets = [found[slug] for slug in dict.fromkeys(v["presets"])]
        delivery = delivery_create(
            version=version,
            presets=presets,
            name_template=v["name_template"],
            override_reason=v["override_reason"],
            created_by=request.user,
        )
        return Response(
            s.DeliverySerializer(self.get_queryset().get(pk=delivery.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=s.OverrideSerializer, responses=s.DeliverySerializer)
    @action(detail=True, methods=["post"])
    def override(self, request, pk=None):
        internal_only(request, "delivery.override_qc")
        delivery = self.get_object()
        data = s.OverrideSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        delivery_override(delivery=delivery, reason=data.validated_data["reason"], user=request.user)
        return Response(s.DeliverySerializer(self.get_queryset().get(pk=delivery.pk)).data)


class DeliveryBundleView(APIView):
    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request, pk):
        delivery = get_object_or_404(deliveries_visible_to(user=request.user), pk=pk)
        if delivery.state != Delivery.State.SUCCEEDED:
            raise NotFound(f"delivery {pk} has no bundle ({delivery.get_state_display().lower()})")
        storage = storages["blobs"]
        if delivery.bundle is None or not storage.exists(delivery.bundle.storage_name):
            raise NotFound(f"the bundle of delivery {pk} is missing from the blob store")
        return FileResponse(
            storage.open(delivery.bundle.storage_name, "rb"),
            as_attachment=True,
            filename=delivery.bundle_name,
            content_type=delivery.bundle.media_type,
        )


class VerifyView(APIView):
    parser_classes = [StrictMultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": s.VerifySerializer}, responses=s.VerificationSerializer)
    def post(self, request):
        data = s.VerifySerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > settings.SEED_MAX_UPLOAD_BYTES:
            raise ApplicationError(
                f"file is {upload.size} bytes; the limit is {settings.SEED_MAX_UPLOAD_BYTES}",
                extra={"code": "too_large"},
            )
        result = file_verify(data=upload.read(), user=request.user, name=upload.name)
        return Response(s.VerificationSerializer(result.as_dict()).data)
