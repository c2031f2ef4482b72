"""What a machine-read check hands back: one finding per measure, recorded as an assets.VersionCheck."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """key: unique per version, naming what the measure depends on besides the pixels (a preset's size, a profile's
    sha256, the copy asked for); kind: the family (ppi, gamut, sharpness, halo, brand_colours, copy); measure: the
    numbers, JSON-ready, with their units in the names; verdict: a VersionCheck.Verdict value; artefact: PNG bytes of
    a picture of the measure, or None."""

    key: str
    kind: str
    label: str
    verdict: str
    detail: str = ""
    measure: dict = field(default_factory=dict)
    artefact: bytes | None = None


def version_pixels(version):
    """The version's image, decoded (a PIL image the caller may change): what every check measures."""
    from PIL import Image

    from assets.services.blobs import blob_open

    with blob_open(blob=version.blob) as handle, Image.open(handle) as image:
        image.load()
        return image.copy()
