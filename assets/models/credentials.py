"""Seed as a C2PA manifest repository: every manifest store Seed signs or is handed, and what finds it again."""

from django.db import models
from django.db.models import Q

from assets.access import Access


class Credential(models.Model):
    """One file's C2PA manifest store, kept so a copy that lost it (platforms strip metadata) is answered from here.

    The soft binding is the ISCC Content-Code Image (ISO 24138, `io.iscc.v0`) of the file's pixels, written into the
    manifest it binds; `iscc_image` holds its 64 bits for Hamming distance in Postgres.
    """

    class Kind(models.TextChoices):
        DELIVERED = "delivered", "Delivered file"
        RETOUCH_EXPORT = "retouch_export", "Exported for retouching"
        IMPORTED = "imported", "Brought in with an imported file"

    manifest_id = models.CharField(max_length=200, unique=True, help_text="The active manifest's label (urn:c2pa:…)")
    version = models.ForeignKey("assets.Version", on_delete=models.PROTECT, related_name="credentials")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    store = models.BinaryField(help_text="The manifest store as signed (application/c2pa)")
    file_sha256 = models.CharField(max_length=64, db_index=True, help_text="The signed file's bytes")
    media_type = models.CharField(max_length=100)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    iscc = models.CharField(max_length=64, blank=True, db_index=True, help_text="ISCC Content-Code Image")
    iscc_image = models.BigIntegerField(null=True, blank=True)
    document_id = models.CharField(
        max_length=100, blank=True, db_index=True, help_text="The XMP document id the file carries (xmp.did:…)"
    )
    claim_generator = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # A client holds its delivered files and may ask what they are; exports and others' manifests stay the studio's.
    access = Access(client="version__brief__campaign__client", client_reads=Q(kind="delivered"))

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["version", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} credential {self.manifest_id} of v{self.version_id}"

    @property
    def aspect(self) -> float:
        return self.width / self.height
