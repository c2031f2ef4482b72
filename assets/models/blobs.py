from django.db import models

from assets.access import Access

from .validators import validate_sha256


class Blob(models.Model):
    """Bytes stored once under their sha256 in the "blobs" storage."""

    sha256 = models.CharField(max_length=64, primary_key=True, validators=[validate_sha256])
    size = models.BigIntegerField()
    media_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    access = Access()  # shared by content: readable through a visible version or reference

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.size} B)"

    @property
    def storage_name(self) -> str:
        return blob_storage_name(self.sha256)


def blob_storage_name(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
