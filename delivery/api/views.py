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
from assets.api.parsers import JSONParser, StrictMultiPartParser
from assets.api.permissions import internal_only, visible_row
from assets.errors import ApplicationError
from assets.models import DerivedFile, Reference, Version
from delivery.api import serializers as s
from delivery.models import ChannelPreset, Delivery
from delivery.selectors import deliveries_visible_to, file_verify
from delivery.services.deliveries import delivery_create, delivery_override
from generation.services.finishing import (
    Layer,
    finishing_create,
    mask_refine_create,
    matte_create,
    palette_snap_create,
    upscale_create,
    vectorise_create,
)


class PresetViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.PresetSerializer
    queryset = ChannelPreset.objects.all()
    lookup_field = "slug"


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = s.DeliverySerializer
    filterset_fields = ["version", "state"]

    def get_queryset(self):
        return deliveries_visible_to(user=self.request.user).prefetch_related(
            "presets", "items__preset", "items__version"
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


class _VersionFinishingView(APIView):
    parser_classes = [JSONParser, StrictMultiPartParser, FormParser]

    def version(self, request, pk):
        internal_only(request, "assets.add_derivation")
        return get_object_or_404(versions_visible_to(user=request.user), pk=pk)

    def created(self, derivation) -> Response:
        return Response(s.FinishingSerializer(derivation).data, status=status.HTTP_201_CREATED)


class VersionFinishingView(_VersionFinishingView):
    @extend_schema(
        request={"multipart/form-data": s.FinishingCreateSerializer, "application/json": s.FinishingCreateSerializer},
        responses={201: s.FinishingSerializer},
    )
    def post(self, request, pk):
        version = self.version(request, pk)
        data = s.FinishingCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        v = data.validated_data
        params = v.get("params") or {}
        if not isinstance(params, dict):
            raise ApplicationError("params must be a JSON object")
        layers = [_layer(request, item) for item in v.get("layers") or []]
        return self.created(
            finishing_create(
                version=version,
                op=v["op"],
                params=params,
                lut_file=v.get("lut"),
                font_file=v.get("font"),
                profile_file=v.get("profile"),
                layers=layers,
                created_by=request.user,
            )
        )


def _layer(request, item: dict) -> Layer:
    """A composite layer from ids; rows of another client are missing, as everywhere in the API."""
    source = (
        visible_row(request, Version, item["version"])
        if "version" in item
        else visible_row(request, Reference, item["reference"])
    )
    return Layer(source=source, mask=visible_row(request, DerivedFile, item["mask"]) if "mask" in item else None)


class VersionUpscaleView(_VersionFinishingView):
    @extend_schema(request=s.UpscaleCreateSerializer, responses={201: s.FinishingSerializer})
    def post(self, request, pk):
        version = self.version(request, pk)
        data = s.UpscaleCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        v = data.validated_data
        return self.created(
            upscale_create(
                version=version,
                target_width=v["target_width"],
                target_height=v["target_height"],
                upscaler=v.get("upscaler"),
                created_by=request.user,
            )
        )


class VersionPaletteSnapView(_VersionFinishingView):
    @extend_schema(request=s.PaletteSnapSerializer, responses={201: s.FinishingSerializer})
    def post(self, request, pk):
        version = self.version(request, pk)
        data = s.PaletteSnapSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return self.created(palette_snap_create(version=version, created_by=request.user, **data.validated_data))


class VersionMatteView(_VersionFinishingView):
    @extend_schema(request=s.MatteCreateSerializer, responses={201: s.FinishingSerializer})
    def post(self, request, pk):
        """Background removal: a cut-out version (PNG with alpha) and its mask (a derived file) once the worker ran."""
        version = self.version(request, pk)
        data = s.MatteCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return self.created(matte_create(version=version, created_by=request.user, **data.validated_data))


class VersionVectoriseView(_VersionFinishingView):
    @extend_schema(request=s.VectoriseCreateSerializer, responses={201: s.FinishingSerializer})
    def post(self, request, pk):
        """Raster to SVG with vtracer; the SVG is a derived file, downloaded as an attachment."""
        version = self.version(request, pk)
        data = s.VectoriseCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return self.created(vectorise_create(version=version, options=data.validated_data, created_by=request.user))


class MaskRefineView(_VersionFinishingView):
    @extend_schema(request=s.MaskRefineSerializer, responses={201: s.FinishingSerializer})
    def post(self, request, pk):
        """A new mask from a recorded one, grown or shrunk and feathered."""
        internal_only(request, "assets.add_derivation")
        mask = visible_row(request, DerivedFile, pk)
        data = s.MaskRefineSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return self.created(mask_refine_create(mask=mask, created_by=request.user, **data.validated_data))
