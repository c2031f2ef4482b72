"""Provenance stamped on exported files: EXIF/XMP/PNG text, written before the C2PA manifest (delivery.signing)
is signed last, and the reading of a file's manifest.

c2pa is imported inside the functions that read on the worker; the web process reads manifests through a child
process (`manifest_read_isolated`) and never loads it.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageCms, PngImagePlugin

from assets import SEED_VERSION
from assets.c2pa_reading import c2pa_settings, store_read, store_read_isolated
from assets.colour import on_white
from assets.errors import ApplicationError
from assets.images import MEDIA_TYPES

logger = logging.getLogger(__name__)

GENERATOR = {"name": "Seed", "version": SEED_VERSION}


class SigningFailed(ApplicationError):
    pass


@dataclass(frozen=True)
class Stamp:
    """What EXIF, XMP and PNG text say about a file."""

    description: str
    parameters: str  # AUTOMATIC1111's infotext plus Seed's own fields
    artist: str
    copyright: str
    software: str
    unique_id: str
    created: str  # "YYYY:MM:DD HH:MM:SS", EXIF's own format
    digital_source_type: str | None
    ai_system: str
    # IPTC 2025.1's other AI fields; the prompt only where the channel lets the recipe out.
    ai_system_version: str = ""
    prompt_information: str = ""
    prompt_writer: str = ""

    @property
    def ai_fields(self) -> dict[str, str]:
        """The IPTC Extension properties that mark AI media, by IPTC's names; an empty one is not written."""
        return {
            "DigitalSourceType": self.digital_source_type or "",
            "AISystemUsed": self.ai_system,
            "AISystemVersionUsed": self.ai_system_version,
            "AIPromptInformation": self.prompt_information,
            "AIPromptWriterName": self.prompt_writer,
        }


def _exif(stamp: Stamp) -> bytes:
    import piexif
    import piexif.helper

    zeroth = {
        piexif.ImageIFD.ImageDescription: stamp.description.encode("utf-8"),
        piexif.ImageIFD.Artist: stamp.artist.encode("utf-8"),
        piexif.ImageIFD.Copyright: stamp.copyright.encode("utf-8"),
        piexif.ImageIFD.Software: stamp.software.encode("utf-8"),
        piexif.ImageIFD.DateTime: stamp.created.encode(),
    }
    exif = {
        piexif.ExifIFD.DateTimeOriginal: stamp.created.encode(),
        piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump(stamp.parameters, encoding="unicode"),
        piexif.ExifIFD.ImageUniqueID: stamp.unique_id[:32].encode(),
    }
    return piexif.dump({"0th": zeroth, "Exif": exif})


def _xmp(stamp: Stamp, *, parameters: bool = False) -> bytes:
    """The XMP packet; with `parameters` it also carries the generation parameters (exif:UserComment), for formats
    without an EXIF block of their own."""
    import re
    from xml.sax.saxutils import escape as xml_escape

    def escape(text: str) -> str:
        # XML 1.0 cannot carry most control characters: one pasted into a prompt must not spoil the whole packet.
        return xml_escape(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", text))

    ai = "".join(
        f"<Iptc4xmpExt:{name}>{escape(value)}</Iptc4xmpExt:{name}>" for name, value in stamp.ai_fields.items() if value
    )
    comment = (
        (
            f'<exif:UserComment><rdf:Alt><rdf:li xml:lang="x-default">{escape(stamp.parameters)}</rdf:li></rdf:Alt>'
            "</exif:UserComment>"
        )
        if parameters
        else ""
    )
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:exif="http://ns.adobe.com/exif/1.0/">'
        f"{ai}{comment}"
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(stamp.description)}</rdf:li></rdf:Alt>'
        "</dc:description>"
        f'<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">{escape(stamp.copyright)}</rdf:li></rdf:Alt></dc:rights>'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


_SRGB_ICC: bytes | None = None


def srgb_icc() -> bytes:
    global _SRGB_ICC
    if _SRGB_ICC is None:
        _SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return _SRGB_ICC


def encode_stamped(
    image: Image.Image, *, image_format: str, quality: int, stamp: Stamp, icc: bytes | None, dpi: float | None = None
) -> bytes:
    """Encode pixels with the metadata written in the same pass (EXIF/XMP for JPEG, WebP and AVIF; text chunks for PNG;
    baseline tags and XMP for TIFF), the ICC profile embedded and, for a print size, its pixels per inch.

    CMYK pixels (converted through a print profile) stay CMYK; transparency stays where the format carries it, and a
    JPEG shows a cut-out on white; anything else is written as RGB.
    """
    buffer = io.BytesIO()
    options: dict = {"icc_profile": icc} if icc else {}
    if dpi and image_format in ("JPEG", "PNG", "TIFF"):
        options["dpi"] = (round(dpi, 2), round(dpi, 2))
    if image.mode == "RGBA" and image_format == "JPEG":
        image = on_white(image)
    elif image.mode not in ("RGB", "CMYK", "RGBA"):
        image = image.convert("RGB")
    if image_format == "TIFF":
        # Pillow writes no EXIF sub-directory into a TIFF: the baseline tags carry the same facts, XMP the rest.
        tags = {
            270: stamp.description,
            315: stamp.artist,
            33432: stamp.copyright,
            305: stamp.software,
            306: stamp.created,
            700: _xmp(stamp, parameters=True),
        }
        image.save(buffer, format="TIFF", compression="tiff_lzw", tiffinfo=tags, **options)
        return buffer.getvalue()
    if image_format == "PNG":
        info = PngImagePlugin.PngInfo()
        for key, value in (
            ("parameters", stamp.parameters),
            ("Description", stamp.description),
            ("Author", stamp.artist),
            ("Copyright", stamp.copyright),
            ("Software", stamp.software),
            ("Creation Time", stamp.created),
        ):
            info.add_itxt(key, value)
        info.add_itxt("XML:com.adobe.xmp", _xmp(stamp).decode("utf-8"))
        image.save(buffer, format="PNG", pnginfo=info, compress_level=6, **options)
    else:
        options.update(exif=_exif(stamp), xmp=_xmp(stamp), quality=quality)
        if image_format == "JPEG":
            options.update(optimize=False, progressive=False, subsampling="4:2:0")
        image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def pem_read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SigningFailed(
            f"the C2PA {what} could not be read at {path}: run manage.py c2pa_dev_ca for a development "
            f"signer, or set SEED_C2PA_CERT, SEED_C2PA_KEY and SEED_C2PA_TRUST_ANCHORS",
            extra={"code": "signing_unconfigured"},
        ) from exc


def c2pa_context(*, trust: bool = True):
    """Signing and reading settings; without `trust`, reading checks integrity only (no anchors needed)."""
    import c2pa

    return c2pa.Context(c2pa.Settings.from_dict(c2pa_settings(trust_anchors=_trust_anchors(trust=trust))))


def _trust_anchors(*, trust: bool) -> str | None:
    """The configured anchors' PEM text, or None when only integrity is checked."""
    return pem_read(settings.SEED_C2PA_TRUST_ANCHORS, "trust anchors").decode() if trust else None


@dataclass(frozen=True)
class ManifestReport:
    state: str  # trusted | valid_untrusted | invalid | absent
    codes: list[str]
    lineage: dict | None
    manifest: dict | None
    # {title, relationship, manifest, state, codes} each: what the active manifest's ingredients' own manifests say.
    ingredients: list[dict] = field(default_factory=list)


def media_type_of(data: bytes) -> str | None:
    """The media type from the file's own bytes (never its name)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return MEDIA_TYPES.get(image.format)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def manifest_read(*, data: bytes, media_type: str, trust: bool = True) -> ManifestReport:
    """Validate a file's C2PA manifest against the configured trust anchors (or its integrity alone),
    in this process."""
    return ManifestReport(**store_read(data=data, media_type=media_type, trust_anchors=_trust_anchors(trust=trust)))


def manifest_read_isolated(*, data: bytes, media_type: str, trust: bool = True) -> ManifestReport:
    """`manifest_read` in a child process: for the web process, which must not load c2pa or die with it."""
    # Unreadable anchors are a configuration error (raised here), not a verdict.
    anchors = settings.SEED_C2PA_TRUST_ANCHORS if _trust_anchors(trust=trust) is not None else None
    return ManifestReport(**store_read_isolated(data=data, media_type=media_type, trust_anchors=anchors))


def upload_manifest_check(*, path: Path, info) -> None:
    """An uploaded image that carries a C2PA manifest must not have been changed after it was signed.

    Whose signature it is does not matter here (a photo agency's is fine); a manifest whose hashes or
    signature do not hold means the provenance it claims is false, and the lineage must not record it.
    """
    data = Path(path).read_bytes()
    if b"c2pa" not in data:
        return
    report = manifest_read_isolated(data=data, media_type=info.media_type, trust=False)
    if report.state == "invalid":
        codes = ", ".join(report.codes) or "unreadable"
        raise ApplicationError(
            f"the file's C2PA manifest does not validate ({codes}): it was altered after signing or forged",
            extra={"code": "manifest_invalid", "codes": report.codes},
        )
