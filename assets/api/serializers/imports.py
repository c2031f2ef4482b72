"""Images brought in from outside: one with its parents, or many with the recipes their tools wrote."""

from rest_framework import serializers

from assets.api.fields import VisibleRelatedField
from assets.models import (
    Brief,
    Licence,
    Reference,
    Version,
)


class ParentField(VisibleRelatedField):
    """The version a file was made from, by id, or "none" for a file made from nothing in Seed; left out, Seed finds
    the parent a retouch came back to by its credentials (409 with the candidates when it cannot decide)."""

    STANDALONE = "none"

    def to_internal_value(self, data):
        return self.STANDALONE if data == self.STANDALONE else super().to_internal_value(data)

    def to_representation(self, value):
        return value if value == self.STANDALONE else super().to_representation(value)


def parent_field() -> ParentField:
    return ParentField(
        queryset=Version.objects.all(),
        required=False,
        default=None,
        allow_null=True,
        help_text='Id of the version the file was made from, or "none"; left out, found from the file itself',
    )


class VersionImportSerializer(serializers.Serializer):
    brief = VisibleRelatedField(queryset=Brief.objects.all())
    image = serializers.FileField(help_text="PNG, JPEG or WebP")
    parents = VisibleRelatedField(queryset=Version.objects.all(), many=True, required=False, default=list)
    parent = parent_field()
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
    parent = parent_field()


class ImageImportReportSerializer(serializers.Serializer):
    file = serializers.CharField()
    imported = serializers.BooleanField()
    version = serializers.IntegerField(required=False)
    generator = serializers.CharField(allow_null=True, required=False)
    recovered = serializers.ListField(child=serializers.CharField(), required=False)
    matched = serializers.ListField(child=serializers.DictField(), required=False)
    missing = serializers.ListField(child=serializers.DictField(), required=False)
    error = serializers.CharField(required=False)
    code = serializers.CharField(required=False)
    parent = serializers.IntegerField(allow_null=True, required=False)
    parent_match = serializers.CharField(required=False, help_text="Which rule found the parent, and by what")
    claim_generator = serializers.CharField(required=False, help_text="Who made the file's C2PA claim")
    edits = serializers.CharField(required=False, help_text="The edits its C2PA manifest names")
    candidates = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Versions it may have been made from, when asked"
    )
