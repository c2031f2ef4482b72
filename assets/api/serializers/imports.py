"""Images brought in from outside: one with its parents, or many with the recipes their tools wrote."""

from rest_framework import serializers

from assets.api.fields import VisibleRelatedField
from assets.models import (
    Brief,
    Licence,
    Reference,
    Version,
)


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


class ImageImportReportSerializer(serializers.Serializer):
    file = serializers.CharField()
    imported = serializers.BooleanField()
    version = serializers.IntegerField(required=False)
    generator = serializers.CharField(allow_null=True, required=False)
    recovered = serializers.ListField(child=serializers.CharField(), required=False)
    matched = serializers.ListField(child=serializers.DictField(), required=False)
    missing = serializers.ListField(child=serializers.DictField(), required=False)
    error = serializers.CharField(required=False)
