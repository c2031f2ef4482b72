from django.urls import reverse
from rest_framework import serializers

from assets.access import is_client_user
from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.models import (
    Brief,
    Campaign,
    Client,
    Derivation,
    DerivedFile,
    Licence,
    ModelWeights,
    Prompt,
    PromptTemplate,
    Reference,
    ReproducibilityCheck,
    Version,
)


class ImageUrlsMixin(serializers.Serializer):
    sha256 = serializers.CharField(source="blob_id", read_only=True)
    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    def get_image_url(self, obj) -> str:
        return reverse("blob-image", args=[obj.blob_id])

    def get_thumbnail_url(self, obj) -> str:
        return reverse("blob-thumbnail", args=[obj.blob_id, 256])


class ClientSerializer(VisibleModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "name", "shares_lineage", "created_at"]
        read_only_fields = ["shares_lineage"]


class CampaignSerializer(VisibleModelSerializer):
    class Meta:
        model = Campaign
        fields = ["id", "client", "name", "created_at"]


class BriefSerializer(VisibleModelSerializer):
    client = serializers.IntegerField(source="campaign.client_id", read_only=True)

    class Meta:
        model = Brief
        fields = [
            "id",
            "campaign",
            "client",
            "title",
            "palette",
            "aspect",
            "channels",
            "content_type",
            "negative_prompt",
            "notes",
            "commercial_use",
            "ai_training",
            "created_at",
        ]
        read_only_fields = ["id", "client", "created_at"]


class BriefCreateSerializer(serializers.Serializer):
    campaign = VisibleRelatedField(queryset=Campaign.objects.all())
    title = serializers.CharField(max_length=200)
    palette = serializers.ListField(child=serializers.CharField(max_length=7), required=False, default=list)
    aspect = serializers.CharField(max_length=9, required=False, default="1:1")
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=Brief.Channel.choices), required=False, default=list
    )
    content_type = serializers.ChoiceField(
        choices=Brief.ContentType.choices, required=False, default=Brief.ContentType.CAMPAIGN
    )
    negative_prompt = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    commercial_use = serializers.BooleanField(required=False, default=True)
    ai_training = serializers.ChoiceField(choices=Brief.AiUse.choices, required=False, default=Brief.AiUse.NOT_ALLOWED)


class ReferenceSerializer(ImageUrlsMixin, VisibleModelSerializer):
    class Meta:
        model = Reference
        fields = [
            "id",
            "brief",
            "title",
            "notes",
            "width",
            "height",
            "format",
            "sha256",
            "image_url",
            "thumbnail_url",
            "created_at",
        ]


class DerivedFileSerializer(VisibleModelSerializer):
    sha256 = serializers.CharField(source="blob_id", read_only=True)
    media_type = serializers.CharField(source="blob.media_type", read_only=True)
    made_by = serializers.CharField(source="derivation.op", read_only=True, allow_null=True, default=None)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = DerivedFile
        fields = [
            "id",
            "brief",
            "source",
            "kind",
            "derivation",
            "made_by",
            "refined_from",
            "label",
            "width",
            "height",
            "sha256",
            "media_type",
            "download_url",
            "created_at",
        ]

    def get_download_url(self, obj) -> str:
        return reverse("derivedfile-download", args=[obj.pk])


class MaskUploadSerializer(serializers.Serializer):
    source = VisibleRelatedField(queryset=Version.objects.all(), help_text="The version the mask belongs to")
    file = serializers.FileField(help_text="PNG or WebP the version's size, white where the subject is (or its alpha)")
    label = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ReferenceCreateSerializer(serializers.Serializer):
    brief = VisibleRelatedField(queryset=Brief.objects.all())
    image = serializers.FileField(help_text="PNG, JPEG or WebP")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class PromptTemplateSerializer(VisibleModelSerializer):
    class Meta:
        model = PromptTemplate
        fields = ["id", "brief", "name", "text", "negative_text", "placeholders", "created_at"]
        read_only_fields = ["id", "placeholders", "created_at"]
        extra_kwargs = {"negative_text": {"required": False}}


class PromptRenderSerializer(serializers.Serializer):
    values = serializers.DictField(child=serializers.CharField(allow_blank=True), help_text="{placeholder: text}")


class PromptSerializer(VisibleModelSerializer):
    class Meta:
        model = Prompt
        fields = ["id", "brief", "template", "text", "negative_text", "values", "digest", "created_at"]


class ModelWeightsSerializer(VisibleModelSerializer):
    class Meta:
        model = ModelWeights
        fields = [
            "id",
            "kind",
            "architecture",
            "name",
            "source_name",
            "source_version",
            "sha256",
            "short_hash",
            "size",
            "format",
            "files",
            "notes",
            "created_at",
        ]


class DerivationSummarySerializer(VisibleModelSerializer):
    class Meta:
        model = Derivation
        fields = ["id", "op", "phase", "state"]


class VersionSerializer(ImageUrlsMixin, VisibleModelSerializer):
    derivation = DerivationSummarySerializer(source="generated_by.derivation", read_only=True)

    class Meta:
        model = Version
        fields = [
            "id",
            "brief",
            "sha256",
            "width",
            "height",
            "format",
            "seed",
            "label",
            "status",
            "triage",
            "derivation",
            "image_url",
            "thumbnail_url",
            "created_at",
        ]

    def to_representation(self, instance):
        """A client reads no studio curation (triage), and a seed only where the studio shares the lineage."""
        data = super().to_representation(instance)
        request = self.context.get("request")
        if request is not None and is_client_user(user=request.user):
            data.pop("triage")
            if not instance.brief.campaign.client.shares_lineage:
                data.pop("seed")
        return data


class VersionImportSerializer(serializers.Serializer):
    brief = VisibleRelatedField(queryset=Brief.objects.all())
    image = serializers.FileField(help_text="PNG, JPEG or WebP")
    parents = VisibleRelatedField(queryset=Version.objects.all(), many=True, required=False, default=list)
    references = VisibleRelatedField(queryset=Reference.objects.all(), many=True, required=False, default=list)
    pool_versions = VisibleRelatedField(
        queryset=Version.objects.all(),
        many=True,
        required=False,
        default=list,
        help_text="Versions from the client's other briefs reused as references (the 'maybe later' pool)",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    label = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    licences = VisibleRelatedField(
        queryset=Licence.objects.all(),
        many=True,
        required=False,
        default=list,
        help_text="Licences the imported file comes under",
    )


class DerivationSerializer(VisibleModelSerializer):
    class Meta:
        model = Derivation
        fields = [
            "id",
            "brief",
            "op",
            "phase",
            "params",
            "environment",
            "state",
            "error",
            "progress_step",
            "progress_total",
            "attempts",
            "run_notes",
            "cancelled_by",
            "cancelled_at",
            "created_at",
            "started_at",
            "finished_at",
            "wall_seconds",
            "gpu_seconds",
        ]


class LineageSerializer(serializers.Serializer):
    root = serializers.CharField()
    nodes = serializers.ListField(child=serializers.DictField())
    edges = serializers.ListField(child=serializers.DictField())


class ImagesImportSerializer(serializers.Serializer):
    brief = VisibleRelatedField(queryset=Brief.objects.all())
    files = serializers.ListField(
        child=serializers.FileField(),
        allow_empty=False,
        max_length=100,
        help_text="PNG, JPEG or WebP files from AUTOMATIC1111, ComfyUI, InvokeAI, Fooocus or anywhere",
    )
    licences = VisibleRelatedField(
        queryset=Licence.objects.all(),
        many=True,
        required=False,
        default=list,
        help_text="Licences that cover every imported file",
    )


class LicenceSerializer(VisibleModelSerializer):
    model_weights = VisibleRelatedField(queryset=ModelWeights.objects.all(), many=True, required=False)
    references = VisibleRelatedField(queryset=Reference.objects.all(), many=True, required=False)
    versions = VisibleRelatedField(
        queryset=Version.objects.all(), many=True, required=False, help_text="Imported images only"
    )

    class Meta:
        model = Licence
        fields = [
            "id",
            "name",
            "spdx_id",
            "commercial_use",
            "attribution",
            "source_url",
            "expires_on",
            "notes",
            "model_weights",
            "references",
            "versions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class InheritedLicenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    spdx_id = serializers.CharField()
    commercial_use = serializers.BooleanField()
    attribution = serializers.CharField()
    source_url = serializers.CharField()
    expires_on = serializers.DateField(allow_null=True)
    via = serializers.ListField(child=serializers.DictField(), help_text="[{kind, id, name}] that carried it in")


class RightsProblemSerializer(serializers.Serializer):
    licence = serializers.IntegerField()
    problem = serializers.ChoiceField(choices=["non_commercial", "expired"])
    detail = serializers.CharField()


class ReproducibilityCheckSerializer(VisibleModelSerializer):
    class Meta:
        model = ReproducibilityCheck
        fields = [
            "id",
            "verdict",
            "cause",
            "detail",
            "distance",
            "fingerprint_diff",
            "reproduced_sha256",
            "trigger",
            "wall_seconds",
            "checked_at",
        ]


class RightsSerializer(serializers.Serializer):
    licences = InheritedLicenceSerializer(many=True)
    problems = RightsProblemSerializer(many=True, help_text="What the licences forbid for this brief today")
    attribution = serializers.ListField(child=serializers.CharField())
    reproducibility = ReproducibilityCheckSerializer(allow_null=True, help_text="The watch's latest check")


class ImageImportReportSerializer(serializers.Serializer):
    file = serializers.CharField()
    imported = serializers.BooleanField()
    version = serializers.IntegerField(required=False)
    generator = serializers.CharField(allow_null=True, required=False)
    recovered = serializers.ListField(child=serializers.CharField(), required=False)
    matched = serializers.ListField(child=serializers.DictField(), required=False)
    missing = serializers.ListField(child=serializers.DictField(), required=False)
    error = serializers.CharField(required=False)
