"""Finishing on a version through the API: the operations that start here, and one endpoint each for those that
need more than parameters (an upscale's slot, a matte's model, a palette snap, a vectorise, a mask refine)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser
from rest_framework.response import Response
from rest_framework.views import APIView

from assets.access import versions_visible_to
from assets.api.fields import VisibleRelatedField
from assets.api.parsers import JSONParser, StrictMultiPartParser
from assets.api.permissions import internal_only, visible_row
from assets.models import DerivedFile, ModelWeights, Reference, Version
from assets.operations import operation_names, operations_all
from generation.api.serializers import JSONValueField
from generation.services.finishing import (
    Layer,
    finishing_create,
    mask_refine_create,
    matte_create,
    palette_snap_create,
    upscale_create,
    vectorise_create,
)


class FinishingCreateSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=[], help_text="One of the operations listed at /api/operations/ to start here")
    params = JSONValueField(required=False, help_text='The operation\'s parameters, e.g. {"exposure": 0.3, …}')
    lut = serializers.FileField(required=False, help_text=".cube 3D LUT (op lut)")
    font = serializers.FileField(required=False, help_text="TrueType/OpenType font (op text_overlay)")
    profile = serializers.FileField(required=False, help_text="ICC profile (op icc)")
    layers = JSONValueField(
        required=False,
        help_text='Op composite: [{"version": id} or {"reference": id}, with an '
        'optional "mask": id of a recorded mask (white where the layer shows)}, …], bottom first',
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read when the request comes, so every operation declared to start from the API is offered.
        self.fields["op"].choices = operation_names(starts="api")

    def validate_layers(self, value):
        if not isinstance(value, list) or not value or not all(isinstance(item, dict) for item in value):
            raise serializers.ValidationError("expected a non-empty list of layers")
        for position, item in enumerate(value):
            unknown = sorted(set(item) - {"version", "reference", "mask"})
            if unknown or ("version" in item) == ("reference" in item):
                raise serializers.ValidationError(
                    f"layer {position}: give a version or a reference (and optionally a "
                    f"mask){'; unknown ' + ', '.join(unknown) if unknown else ''}"
                )
            if not all(isinstance(item[key], int) and not isinstance(item[key], bool) for key in item):
                raise serializers.ValidationError(f"layer {position}: ids are integers")
        return value


class MatteCreateSerializer(serializers.Serializer):
    matting = VisibleRelatedField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.MATTING),
        help_text="A registered ONNX matting model (kind matting)",
    )
    model_family = serializers.ChoiceField(
        choices=["u2net", "isnet", "birefnet"],
        default="u2net",
        help_text="How the model wants its input: U²-Net 320 px, IS-Net or BiRefNet 1024 px",
    )
    grow = serializers.IntegerField(default=0, min_value=-100, max_value=100, help_text="Pixels; negative shrinks")
    feather = serializers.FloatField(default=0.0, min_value=0.0, max_value=100.0, help_text="Edge softness, pixels")


class MaskRefineSerializer(serializers.Serializer):
    grow = serializers.IntegerField(default=0, min_value=-100, max_value=100, help_text="Pixels; negative shrinks")
    feather = serializers.FloatField(default=0.0, min_value=0.0, max_value=100.0, help_text="Edge softness, pixels")


class VectoriseCreateSerializer(serializers.Serializer):
    colour_mode = serializers.ChoiceField(choices=["color", "binary"], required=False)
    hierarchical = serializers.ChoiceField(choices=["stacked", "cutout"], required=False)
    mode = serializers.ChoiceField(choices=["spline", "polygon", "none"], required=False)
    filter_speckle = serializers.IntegerField(
        required=False, min_value=0, max_value=128, help_text="Drop patches under this size (px)"
    )
    colour_precision = serializers.IntegerField(
        required=False, min_value=1, max_value=8, help_text="Significant bits per channel"
    )
    layer_difference = serializers.IntegerField(
        required=False, min_value=0, max_value=255, help_text="Colour difference between layers"
    )
    corner_threshold = serializers.IntegerField(required=False, min_value=0, max_value=180, help_text="Degrees")
    length_threshold = serializers.FloatField(required=False, min_value=3.5, max_value=10.0)
    splice_threshold = serializers.IntegerField(required=False, min_value=0, max_value=180, help_text="Degrees")
    path_precision = serializers.IntegerField(
        required=False, min_value=0, max_value=10, help_text="Decimal places in paths"
    )


class UpscaleCreateSerializer(serializers.Serializer):
    target_width = serializers.IntegerField(min_value=1, max_value=65536)
    target_height = serializers.IntegerField(min_value=1, max_value=65536)
    upscaler = VisibleRelatedField(
        queryset=ModelWeights.objects.filter(kind=ModelWeights.Kind.UPSCALER), required=False, allow_null=True
    )


class PaletteSnapSerializer(serializers.Serializer):
    pull = serializers.FloatField(default=0.6, min_value=0.01, max_value=1.0)
    strength = serializers.FloatField(default=1.0, min_value=0.0, max_value=1.0)


class FinishingSerializer(serializers.Serializer):
    derivation = serializers.IntegerField(source="pk")
    op = serializers.CharField()
    state = serializers.CharField()
    params = serializers.JSONField()


class OperationSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    phase = serializers.CharField()
    params = serializers.ListField(child=serializers.DictField())
    roles = serializers.ListField(child=serializers.CharField())
    files = serializers.ListField(child=serializers.DictField())
    c2pa_action = serializers.CharField()
    digital_source_type = serializers.CharField(allow_null=True)
    rerun = serializers.CharField()
    starts = serializers.ListField(child=serializers.CharField())


class _VersionFinishingView(APIView):
    parser_classes = [JSONParser, StrictMultiPartParser, FormParser]

    def version(self, request, pk):
        internal_only(request, "assets.add_derivation")
        return get_object_or_404(versions_visible_to(user=request.user), pk=pk)

    def created(self, derivation) -> Response:
        return Response(FinishingSerializer(derivation).data, status=status.HTTP_201_CREATED)


class VersionFinishingView(_VersionFinishingView):
    @extend_schema(
        request={"multipart/form-data": FinishingCreateSerializer, "application/json": FinishingCreateSerializer},
        responses={201: FinishingSerializer},
    )
    def post(self, request, pk):
        version = self.version(request, pk)
        data = FinishingCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        v = data.validated_data
        layers = [_layer(request, item) for item in v.get("layers") or []]
        return self.created(
            finishing_create(
                version=version,
                op=v["op"],
                params=v.get("params", {}),
                # Each uploaded file is named by the input role it fills; one the operation does not read is refused.
                files=dict(request.FILES.items()),
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
    @extend_schema(request=UpscaleCreateSerializer, responses={201: FinishingSerializer})
    def post(self, request, pk):
        version = self.version(request, pk)
        data = UpscaleCreateSerializer(data=request.data, context={"request": request})
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
    @extend_schema(request=PaletteSnapSerializer, responses={201: FinishingSerializer})
    def post(self, request, pk):
        version = self.version(request, pk)
        data = PaletteSnapSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return self.created(palette_snap_create(version=version, created_by=request.user, **data.validated_data))


class VersionMatteView(_VersionFinishingView):
    @extend_schema(request=MatteCreateSerializer, responses={201: FinishingSerializer})
    def post(self, request, pk):
        """Background removal: a cut-out version (PNG with alpha) and its mask (a derived file) once the worker ran."""
        version = self.version(request, pk)
        data = MatteCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return self.created(matte_create(version=version, created_by=request.user, **data.validated_data))


class VersionVectoriseView(_VersionFinishingView):
    @extend_schema(request=VectoriseCreateSerializer, responses={201: FinishingSerializer})
    def post(self, request, pk):
        """Raster to SVG with vtracer; the SVG is a derived file, downloaded as an attachment."""
        version = self.version(request, pk)
        data = VectoriseCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return self.created(vectorise_create(version=version, options=data.validated_data, created_by=request.user))


class MaskRefineView(_VersionFinishingView):
    @extend_schema(request=MaskRefineSerializer, responses={201: FinishingSerializer})
    def post(self, request, pk):
        """A new mask from a recorded one, grown or shrunk and feathered."""
        internal_only(request, "assets.add_derivation")
        mask = visible_row(request, DerivedFile, pk)
        data = MaskRefineSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return self.created(mask_refine_create(mask=mask, created_by=request.user, **data.validated_data))


class OperationsView(APIView):
    """Every operation this install records: its parameters, the inputs it reads, how it reads in C2PA, whether
    `reproduce` re-runs it and how it is started."""

    @extend_schema(responses={200: OperationSerializer(many=True)})
    def get(self, request):
        return Response([spec.describe() for spec in operations_all()])
