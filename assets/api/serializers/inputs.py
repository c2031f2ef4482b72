"""What a derivation takes in: references, prompt templates and prompts, and the model registry."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.api.serializers.blobs import ImageUrlsMixin
from assets.lora_checks import story_architecture_check, story_base_models, story_training_set_held
from assets.models import (
    Brief,
    ModelWeights,
    Prompt,
    PromptTemplate,
    Reference,
)
from assets.training_flags import lora_training_flags, lora_training_images


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


class TrainingImageSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    version_id = serializers.IntegerField(required=False, help_text="its version id on the install that exported it")
    versions = serializers.ListField(child=serializers.IntegerField(), help_text="versions of these bytes here")
    references = serializers.ListField(child=serializers.IntegerField(), help_text="references of these bytes here")


class StoryChecksSerializer(serializers.Serializer):
    architecture_check = serializers.ChoiceField(
        choices=["agrees", "differs"],
        allow_null=True,
        help_text="how the architecture the header names stands against the registered one (null: it names none)",
    )
    base_models = serializers.ListField(
        child=serializers.IntegerField(), help_text="registered base models with the base model sha256 it names"
    )
    training_set = TrainingImageSerializer(many=True, help_text="the training images it lists, as held here")


class TrainingFlagSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["rejected", "licence_expired"])
    version = serializers.IntegerField(allow_null=True, help_text="the training image now rejected")
    licence = serializers.IntegerField(allow_null=True, help_text="the licence its training carried in, run out")
    why = serializers.CharField()


class ModelWeightsDetailSerializer(ModelWeightsSerializer):
    """One model's page: a LoRA's training story as its header tells it, and how that stands against this install;
    for a LoRA trained here, what it learned from and what has been withdrawn from under it since."""

    story_checks = serializers.SerializerMethodField()
    training_images = serializers.SerializerMethodField(help_text="the versions it was trained on that you may see")
    flags = serializers.SerializerMethodField()

    class Meta(ModelWeightsSerializer.Meta):
        fields = [
            *ModelWeightsSerializer.Meta.fields,
            "training_story",
            "story_checks",
            "trained_by",
            "training_images",
            "flags",
        ]
        extra_kwargs = {
            "trained_by": {"read_only": True, "help_text": "the training derivation that made it (null: registered)"}
        }

    def get_training_images(self, obj) -> list[int]:
        images = lora_training_images(weights=obj, user=self.context["request"].user)
        return list(images.values_list("pk", flat=True))

    @extend_schema_field(TrainingFlagSerializer(many=True))
    def get_flags(self, obj) -> list[dict]:
        return TrainingFlagSerializer(
            lora_training_flags(weights=obj, user=self.context["request"].user), many=True
        ).data

    @extend_schema_field(StoryChecksSerializer)
    def get_story_checks(self, obj) -> dict:
        checks = {
            "architecture_check": story_architecture_check(weights=obj),
            "base_models": list(story_base_models(weights=obj).values_list("pk", flat=True)),
            "training_set": story_training_set_held(weights=obj, user=self.context["request"].user),
        }
        return StoryChecksSerializer(checks).data
