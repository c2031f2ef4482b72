"""Versions, the derivations that made them, their derived files and lineage."""

from django.urls import reverse
from rest_framework import serializers

from assets.access import is_client_user
from assets.api.fields import VisibleModelSerializer, VisibleRelatedField
from assets.api.serializers.blobs import ImageUrlsMixin
from assets.models import (
    Derivation,
    DerivedFile,
    Version,
)


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
