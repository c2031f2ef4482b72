"""Licences, the rights a version inherits, and what the reproducibility watch last found."""

from rest_framework import serializers

from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.models import (
    Licence,
    ModelWeights,
    Reference,
    ReproducibilityCheck,
    Version,
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
    via = serializers.ListField(
        child=serializers.DictField(),
        help_text="[{kind, id, name, lora?: {id, name}}] that carried it in (lora: through that LoRA's training)",
    )


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
