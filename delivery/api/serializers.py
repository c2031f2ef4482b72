from django.urls import reverse
from rest_framework import serializers

from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.models import Version
from delivery.models import DEFAULT_NAME_TEMPLATE, ChannelPreset, Delivery, DeliveryItem


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
