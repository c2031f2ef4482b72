from django.urls import reverse
from rest_framework import serializers

from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.models import Version
from delivery.marks import delivered_marks
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
            "disclosure_required",
            "recipe_exposure",
            "ai_label_placement",
            "ai_label_text",
            "position",
            "active",
        ]


class DeliveryItemSerializer(VisibleModelSerializer):
    preset = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    sha256 = serializers.CharField(source="version.blob_id", read_only=True)
    marks = serializers.SerializerMethodField(
        help_text="The AI marks recorded for the file: c2pa_manifest (its state), soft_binding (bool), iptc_ai (the "
        "IPTC AI fields' names) and visible_label ({text, placement} or null)"
    )

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
            "marks",
        ]

    def get_marks(self, item) -> dict:
        return delivered_marks(item=item)


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


class VerifiedIngredientSerializer(serializers.Serializer):
    title = serializers.CharField(allow_null=True)
    relationship = serializers.CharField(help_text="parentOf | componentOf | inputTo")
    manifest = serializers.CharField(allow_null=True, help_text="The label of the ingredient's own C2PA manifest")
    state = serializers.ChoiceField(
        choices=["valid", "invalid", "absent"], help_text="Whether its own manifest validates; absent: it has none"
    )
    codes = serializers.ListField(child=serializers.CharField(), help_text="C2PA failure codes of its manifest")


class VerificationSerializer(serializers.Serializer):
    manifest = serializers.ChoiceField(choices=["trusted", "valid_untrusted", "unverifiable", "invalid", "absent"])
    match = serializers.ChoiceField(
        choices=["exact", "soft_binding", "perceptual", "none"],
        help_text="exact: the bytes; soft_binding: the ISCC content code with aspect and size, which names the "
        "delivered file; perceptual: the picture only (files delivered before Seed kept manifests)",
    )
    distance = serializers.IntegerField(
        allow_null=True, help_text="Bits of the 64-bit content code or perceptual hash that differ (0 for exact)"
    )
    repository_manifest = serializers.CharField(
        allow_null=True, help_text="The manifest Seed keeps for the file found: GET /api/c2pa/manifests/{id}"
    )
    lineage_page = serializers.CharField(allow_null=True)
    alike = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Versions of files delivered alike (the same crop at another size): a copy cannot tell them apart",
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
    marks = serializers.DictField(
        help_text="The AI marks the file carries: c2pa_manifest (its state), soft_binding (true when the manifest has "
        "a c2pa.soft-binding assertion), iptc_ai (the IPTC AI fields in its XMP, by IPTC's names) and visible_label "
        "({text, placement} recorded when Seed delivered it, or null)"
    )
    ingredients = VerifiedIngredientSerializer(many=True)
    ingredient_statements = serializers.ListField(
        child=serializers.CharField(), help_text="One sentence for each ingredient whose own manifest does not validate"
    )
