"""Reads of the manifest repository: which credential a file, a soft binding or a manifest id is.

A copy found on a platform has lost its metadata and was usually resized, re-encoded, sometimes cropped. Its pixels
alone cannot tell apart the channel variants of one master (the feed crop and the print crop share most of the
picture), so the content code, the aspect and the size decide together: the code finds the picture, the aspect
finds the crop, the size finds the file among crops that look alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from PIL import Image

from assets.content_codes import ContentCode, content_code, content_distance
from assets.models import Credential, Version

# Bits of the 64-bit content code within which a copy is taken for the same picture: a 10 % crop moves about 8,
# heavy re-encoding and halving 0–3, unrelated pictures 20 and more.
MATCH_MAX_BITS = 12
# Bits a difference in aspect costs per unit of |ln(aspect ratio)|: a 4:5 feed crop and an A5 print (ln 1.13) cost
# 7.6 bits apart, so a sibling crop does not outrank the file a copy was taken from, even a 10 % crop of it (which
# looks more like the sibling: the demo's A5 print cropped is 4 bits from its 4:5 feed and 10 from itself).
ASPECT_WEIGHT = 60.0
# Beyond this |ln(aspect ratio)| (about 30 %) a copy is not that file, however alike the pictures.
ASPECT_MAX = 0.27
# Aspects this close are one crop (rounding to whole pixels), and codes this close one picture: such files are the
# same crop delivered at two sizes, which no copy can tell apart.
SAME_ASPECT = 0.01
SAME_PICTURE_BITS = 2
CANDIDATES = 50


@dataclass(frozen=True)
class CredentialMatch:
    credential: Credential
    distance: int  # bits of the content code that differ
    score: float  # distance plus what aspect and size cost: lower is nearer
    alike: tuple[int, ...] = ()  # ids of credentials of the same crop and picture at other sizes (undecidable)

    @property
    def similarity(self) -> int:
        """0–100, as the Soft Binding Resolution API's similarityScore."""
        return round(100 * (1 - self.distance / 64))


def credential_by_manifest_id(*, manifest_id: str, versions: QuerySet[Version]) -> Credential | None:
    return Credential.objects.filter(manifest_id=manifest_id, version__in=versions).first()


def credentials_by_document_id(*, document_ids: list[str], versions: QuerySet[Version]) -> QuerySet[Credential]:
    return Credential.objects.filter(document_id__in=[d for d in document_ids if d], version__in=versions)


def _near(*, bits: int, versions: QuerySet[Version], credentials: QuerySet[Credential] | None) -> list[Credential]:
    base = Credential.objects.all() if credentials is None else credentials
    return list(
        base.filter(version__in=versions, iscc_image__isnull=False)
        .annotate(distance=RawSQL("bit_count((iscc_image # %s)::bit(64))", [bits]))
        .filter(distance__lte=MATCH_MAX_BITS)
        .order_by("distance", "pk")[:CANDIDATES]
    )


def _size_cost(*, width: int, height: int, credential: Credential) -> float:
    """Nothing for the file's own size; a little for a copy smaller than it (resized or cropped from it), the less
    the nearer its size; more for a copy larger than it, which someone would have had to upscale."""
    if (width, height) == (credential.width, credential.height):
        return 0.0
    if width <= credential.width and height <= credential.height:
        return 0.5 + 0.1 * min(math.log(credential.width * credential.height / (width * height)), 2.0)
    return 1.5


def credentials_by_bits(
    *, bits: int, versions: QuerySet[Version], credentials: QuerySet[Credential] | None = None, limit: int = 5
) -> list[CredentialMatch]:
    """Credentials whose content code is near `bits` (a soft binding given without its file): nearest first."""
    near = _near(bits=bits, versions=versions, credentials=credentials)[:limit]
    return [CredentialMatch(credential=c, distance=c.distance, score=float(c.distance)) for c in near]


def credentials_by_content(
    *,
    image: Image.Image,
    versions: QuerySet[Version],
    credentials: QuerySet[Credential] | None = None,
    limit: int = 5,
    code: ContentCode | None = None,
) -> list[CredentialMatch]:
    """Credentials of files `image` may be a copy of, nearest first, each naming the files that cannot be told
    apart from it (the same crop of the same picture delivered at another size). `code` is the image's content code
    where the caller has it already."""
    width, height = image.size
    aspect = math.log(width / height)
    ranked = []
    bits = (code or content_code(image)).bits
    for credential in _near(bits=bits, versions=versions, credentials=credentials):
        skew = abs(aspect - math.log(credential.aspect))
        if skew > ASPECT_MAX:
            continue
        cost = ASPECT_WEIGHT * skew + _size_cost(width=width, height=height, credential=credential)
        ranked.append((credential.distance + cost, credential))
    # Ties go to a delivered file before an export, then to the first recorded: the answer never depends on what was
    # signed since.
    ranked.sort(key=lambda item: (item[0], item[1].kind != Credential.Kind.DELIVERED, item[1].pk))
    matches = []
    for score, credential in ranked[:limit]:
        alike = tuple(
            other.pk
            for _, other in ranked
            if other is not credential
            and abs(other.aspect - credential.aspect) / credential.aspect < SAME_ASPECT
            and content_distance(other.iscc_image, credential.iscc_image) <= SAME_PICTURE_BITS
        )
        matches.append(CredentialMatch(credential=credential, distance=credential.distance, score=score, alike=alike))
    return matches
