"""What a derivation takes in: references, prompt templates and prompts, and the model registry."""

from rest_framework import serializers

from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.api.serializers.blobs import ImageUrlsMixin
from assets.models import (
    Brief,
    ModelWeights,
    Prompt,
    PromptTemplate,
    Reference,
)


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
