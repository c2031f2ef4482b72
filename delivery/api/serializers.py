from django.urls import reverse
from rest_framework import serializers

from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.models import ModelWeights, Version
from delivery.models import DEFAULT_NAME_TEMPLATE, ChannelPreset, Delivery, DeliveryItem
from generation.api.serializers import JSONValueField
from generation.finishing import FINISHING_OPS


class PresetSerializer(VisibleModelSerializer):
    class Meta:
        model = ChannelPreset
        fields = [
            "id",
            "slug",
            "name",
            "width",
            "height",
            "format",
            "quality",
            "colour_profile",
            "crop_rule",
            "kind",
            "section",
            "background_colour",
            "min_delta_e",
            "print_width_mm",
            "min_ppi",
            "position",
            "active",
        ]


class DeliveryItemSerializer(VisibleModelSerializer):
    preset = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    sha256 = serializers.CharField(source="version.blob_id", read_only=True)

    class Meta:
        model = DeliveryItem
        fields = [
            "id",
            "preset",
            "version",
            "file_name",
            "width",
            "height",
            "format",
            "size",
            "sha256",
            "manifest_state",
            "manifest_bytes",
            "qc",
        ]


class DeliverySerializer(VisibleModelSerializer):
    presets = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    items = DeliveryItemSerializer(many=True, read_only=True)
    bundle_url = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "version",
            "approval",
            "presets",
            "name_template",
            "state",
            "error",
            "qc",
            "override_reason",
            "overridden_by",
            "overridden_at",
            "progress_step",
            "progress_total",
            "bundle_name",
            "bundle_sha256",
            "bundle_size",
            "bundle_url",
            "items",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "wall_seconds",
        ]

    def get_bundle_url(self, delivery) -> str | None:
        return reverse("delivery-bundle", args=[delivery.pk]) if delivery.state == Delivery.State.SUCCEEDED else None


class DeliveryCreateSerializer(serializers.Serializer):
    version = VisibleRelatedField(queryset=Version.objects.all())
    presets = serializers.ListField(
        child=serializers.SlugField(),
        required=False,
        allow_empty=False,
        help_text="Preset slugs; all active presets when left out",
    )
    name_template = serializers.CharField(default=DEFAULT_NAME_TEMPLATE, max_length=200)
    override_reason = serializers.CharField(
        default="",
        allow_blank=True,
        max_length=2000,
        help_text="Producers only: deliver even if QC fails, for this reason",
    )


class OverrideSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class VerifySerializer(serializers.Serializer):
    file = serializers.FileField()


class VerificationSerializer(serializers.Serializer):
    manifest = serializers.ChoiceField(choices=["trusted", "valid_untrusted", "unverifiable", "invalid", "absent"])
    match = serializers.ChoiceField(choices=["exact", "perceptual", "none"])
    distance = serializers.IntegerField(
        allow_null=True, help_text="Bits of the 64-bit perceptual hash that differ (0 for exact)"
    )
    version_id = serializers.IntegerField(allow_null=True)
    delivery_id = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField()
    media_type = serializers.CharField()
    preset = serializers.CharField(allow_null=True)
    file_name = serializers.CharField(allow_null=True)
    manifest_codes = serializers.ListField(child=serializers.CharField())
    claimed = serializers.DictField(allow_null=True)
    approval = serializers.DictField(
        allow_null=True,
        help_text="The sign-off the file carries (com.seed.approval) or its "
        "delivery's: client, round, stage, approving roles and organisations, time, master "
        "sha256, and pixels: exact | changed",
    )
    approval_statement = serializers.CharField(allow_null=True)


class FinishingCreateSerializer(serializers.Serializer):
    op = serializers.ChoiceField(choices=[op for op in FINISHING_OPS if op not in ("upscale", "matte")])
    params = JSONValueField(required=False, help_text='The operation\'s parameters, e.g. {"exposure": 0.3, …}')
    lut = serializers.FileField(required=False, help_text=".cube 3D LUT (op lut)")
    font = serializers.FileField(required=False, help_text="TrueType/OpenType font (op text_overlay)")
    profile = serializers.FileField(required=False, help_text="ICC profile (op icc)")
    layers = JSONValueField(
        required=False,
        help_text='Op composite: [{"version": id} or {"reference": id}, with an '
        'optional "mask": id of a recorded mask (white where the layer shows)}, …], bottom first',
    )

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
