"""What every serializer of an image shows of its blob: the sha256 and the URLs that serve it."""

from django.urls import reverse
from rest_framework import serializers


class ImageUrlsMixin(serializers.Serializer):
    sha256 = serializers.CharField(source="blob_id", read_only=True)
    image_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()

    def get_image_url(self, obj) -> str:
        return reverse("blob-image", args=[obj.blob_id])

    def get_thumbnail_url(self, obj) -> str:
        return reverse("blob-thumbnail", args=[obj.blob_id, 256])
