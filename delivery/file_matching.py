"""Which file of the lineage a file on someone's desk is: by its bytes, by its soft binding, else by its looks.

The soft binding (ISCC content code, aspect and size together, from the manifest repository) names the delivered
file itself; the older perceptual hash only finds the picture, and answers for files delivered before Seed kept
their manifests.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from PIL import Image

from assets.content_codes import content_code
from assets.credential_matching import credentials_by_content
from assets.imagehash import perceptual_hash
from assets.models import Credential, Version
from delivery.models import Fingerprint


@dataclass(frozen=True)
class LineageMatch:
    match: str  # exact | soft_binding | perceptual | none
    distance: int | None
    version_id: int | None
    manifest_id: str | None = None  # the repository's manifest of the file found
    alike: tuple[int, ...] = ()  # versions of files that cannot be told apart from it (same crop, other size)


NO_MATCH = LineageMatch(match="none", distance=None, version_id=None)


def _nearest(phash: int, versions: QuerySet[Version]) -> tuple[int, int] | None:
    """The version whose perceptual hash is closest (Hamming distance, computed in Postgres)."""
    return (
        Fingerprint.objects.filter(version__in=versions)
        .annotate(distance=RawSQL("bit_count((phash # %s)::bit(64))", [phash]))
        .order_by("distance", "-version_id")
        .values_list("version_id", "distance")
        .first()
    )


def lineage_match(
    *, data: bytes, sha256: str, versions: QuerySet[Version], credentials: QuerySet[Credential]
) -> LineageMatch:
    """The version `data` is, among `versions` and `credentials` (what the asker may see: a client reviewer never
    learns of an export for retouching, which stays the studio's)."""
    exact = versions.filter(blob_id=sha256).order_by("pk").first()
    if exact is not None:
        credential = credentials.filter(version=exact).order_by("-created_at").first()
        return LineageMatch(
            match="exact", distance=0, version_id=exact.pk, manifest_id=credential.manifest_id if credential else None
        )
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        # A copy out in the world is most likely of a file Seed delivered: those answer first, and only where none
        # is near does an export for retouching or a file brought in with its manifest.
        code = content_code(image)
        delivered = credentials.filter(kind=Credential.Kind.DELIVERED)
        found = credentials_by_content(image=image, code=code, versions=versions, credentials=delivered, limit=1)
        found = found or credentials_by_content(
            image=image, code=code, versions=versions, credentials=credentials, limit=1
        )
        if found:
            best = found[0]
            alike = credentials.filter(pk__in=best.alike).values_list("version_id", flat=True)
            return LineageMatch(
                match="soft_binding",
                distance=best.distance,
                version_id=best.credential.version_id,
                manifest_id=best.credential.manifest_id,
                alike=tuple(sorted(set(alike))),
            )
        nearest = _nearest(perceptual_hash(image), versions)
    if nearest is not None and nearest[1] <= settings.SEED_VERIFY_MAX_HASH_DISTANCE:
        return LineageMatch(match="perceptual", distance=nearest[1], version_id=nearest[0])
    return NO_MATCH
