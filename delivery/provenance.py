"""Provenance stamped on exported files: EXIF/XMP/PNG text first, then a C2PA manifest signed last.

c2pa is imported inside the functions that sign or read on the worker; the web process reads
manifests through a child process (`manifest_read_isolated`) and never loads it. Any byte written
after signing breaks the manifest's hash, so signing is the last write, to a temporary name, and
the result is read back and must validate as Trusted.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageCms, PngImagePlugin

from assets import SEED_VERSION
from assets.c2pa_reading import APPROVAL_LABEL, LINEAGE_LABEL, TRAINING_MINING_LABEL, c2pa_settings, store_read
from assets.colour import on_white
from assets.errors import ApplicationError
from assets.images import MEDIA_TYPES

logger = logging.getLogger(__name__)

GENERATOR = {"name": "Seed", "version": SEED_VERSION}
# A manifest that takes the reader longer than this is treated as unreadable (a hostile file).
READ_TIMEOUT_SECONDS = 60


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
    from xml.sax.saxutils import escape

    source = (
        f"<Iptc4xmpExt:DigitalSourceType>{escape(stamp.digital_source_type)}</Iptc4xmpExt:DigitalSourceType>"
        if stamp.digital_source_type
        else ""
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
        f"{source}<Iptc4xmpExt:AISystemUsed>{escape(stamp.ai_system)}</Iptc4xmpExt:AISystemUsed>{comment}"
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


def _read_pem(path: Path, what: str) -> bytes:
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
    return _read_pem(settings.SEED_C2PA_TRUST_ANCHORS, "trust anchors").decode() if trust else None


def _chain_without_anchor(pem: bytes) -> bytes:
    """The signing chain less any self-signed root: a validator must find the root among its own trust
    anchors anyway, so carrying it would only add its bytes to every manifest (two per delivered file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise SigningFailed(
            f"the C2PA signing certificate chain ({settings.SEED_C2PA_CERT}) is not PEM certificates: {exc}",
            extra={"code": "signing_unconfigured"},
        ) from exc
    kept = [certificate for certificate in certificates if certificate.subject != certificate.issuer] or certificates[
        :1
    ]
    return b"".join(certificate.public_bytes(Encoding.PEM) for certificate in kept)


def _signer():
    import c2pa

    certificate = _chain_without_anchor(_read_pem(settings.SEED_C2PA_CERT, "certificate chain"))
    key = _read_pem(settings.SEED_C2PA_KEY, "private key")
    try:
        return c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(
                alg=settings.SEED_C2PA_ALG.encode(),
                sign_cert=certificate,
                private_key=key,
                ta_url=settings.SEED_C2PA_TSA_URL or None,
            )
        )
    except c2pa.C2paError as exc:
        raise SigningFailed(
            f"the C2PA signer could not be made from the configured key and certificate: {exc}"
        ) from exc


@dataclass(frozen=True)
class Ingredient:
    title: str
    relationship: str  # parentOf | componentOf | inputTo
    media_type: str
    data: bytes
    label: str

    @property
    def definition(self) -> dict:
        return {"title": self.title, "relationship": self.relationship, "label": self.label, "instance_id": self.label}


@dataclass(frozen=True)
class ArchivedIngredient:
    """An ingredient read once (hash, validation results, its own manifest store) for many manifests."""

    archive: bytes


def ingredient_archive(*, ingredient: Ingredient) -> ArchivedIngredient:
    """Read `ingredient` once, so every variant of a delivery cites its master without re-hashing a 4096² file."""
    import c2pa

    builder = c2pa.Builder({"claim_generator_info": [GENERATOR]}, c2pa_context())
    try:
        builder.add_ingredient(ingredient.definition, ingredient.media_type, io.BytesIO(ingredient.data))
        archive = io.BytesIO()
        builder.write_ingredient_archive(ingredient.label, archive)
    except c2pa.C2paError as exc:
        raise SigningFailed(
            f"the C2PA ingredient {ingredient.title!r} could not be read: {exc}", extra={"code": "signing_failed"}
        ) from exc
    return ArchivedIngredient(archive=archive.getvalue())


@dataclass(frozen=True)
class ManifestReport:
    state: str  # trusted | valid_untrusted | invalid | absent
    codes: list[str]
    lineage: dict | None
    manifest: dict | None


# CAWG's training and data mining assertion: one entry per use, each allowed, notAllowed or constrained.
TRAINING_MINING_USES = ("cawg.ai_inference", "cawg.ai_generative_training", "cawg.ai_training", "cawg.data_mining")


def training_mining(*, use: str, constraint: str = "") -> dict:
    entry = {"use": use, **({"constraint_info": constraint} if use == "constrained" and constraint else {})}
    return {"entries": {name: dict(entry) for name in TRAINING_MINING_USES}}


def manifest_build(
    *,
    title: str,
    media_type: str,
    actions: list[dict],
    lineage: dict,
    approval: dict | None = None,
    ai_use: dict | None = None,
) -> dict:
    """The manifest: actions, our lineage summary, and for a delivered file the sign-off it carries
    (`com.seed.approval`) and what AI crawlers may do with it (`cawg.training-mining`)."""
    assertions = [{"label": "c2pa.actions.v2", "data": {"actions": actions}}, {"label": LINEAGE_LABEL, "data": lineage}]
    if approval is not None:
        assertions.append({"label": APPROVAL_LABEL, "data": approval})
    if ai_use is not None:
        assertions.append({"label": TRAINING_MINING_LABEL, "data": ai_use})
    return {"claim_generator_info": [GENERATOR], "title": title, "format": media_type, "assertions": assertions}


def sign_to_temp(
    *, data: bytes, media_type: str, manifest: dict, ingredients: list[Ingredient | ArchivedIngredient], directory: Path
) -> Path:
    """Sign `data` into a new temporary file in `directory`, read it back, and keep it only if it is Trusted.

    Returns the temporary path (the caller renames it into place); on any failure nothing is left.
    """
    import c2pa

    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".signing-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            builder = c2pa.Builder(manifest, c2pa_context())
            for ingredient in ingredients:
                if isinstance(ingredient, ArchivedIngredient):
                    builder.add_ingredient_from_archive(io.BytesIO(ingredient.archive))
                else:
                    builder.add_ingredient(ingredient.definition, ingredient.media_type, io.BytesIO(ingredient.data))
            builder.sign(_signer(), media_type, io.BytesIO(data), out)
            out.flush()
            os.fsync(out.fileno())
        report = manifest_read(data=path.read_bytes(), media_type=media_type)
        if report.state != "trusted":
            raise SigningFailed(
                f"the signed file reads back as {report.state}, not trusted: "
                f"{', '.join(report.codes) or 'no reason given'}",
                extra={"code": "signing_untrusted", "validation": report.codes},
            )
        return path
    except c2pa.C2paError as exc:
        path.unlink(missing_ok=True)
        raise SigningFailed(f"C2PA signing failed: {exc}", extra={"code": "signing_failed"}) from exc
    except BaseException:
        path.unlink(missing_ok=True)
        raise


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
    command = [sys.executable, "-m", "assets.c2pa_reading", media_type]
    if _trust_anchors(trust=trust) is not None:  # unreadable anchors are a configuration error, not a verdict
        command += ["--trust-anchors", str(settings.SEED_C2PA_TRUST_ANCHORS)]
    try:
        child = subprocess.run(
            command, input=data, capture_output=True, cwd=settings.BASE_DIR, timeout=READ_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return ManifestReport(
            state="invalid",
            codes=[f"unreadable: no verdict within {READ_TIMEOUT_SECONDS} s"],
            lineage=None,
            manifest=None,
        )
    if child.returncode != 0:
        reason = (child.stderr.decode(errors="replace").strip().splitlines() or [f"exit status {child.returncode}"])[-1]
        logger.warning("the C2PA reader stopped on a %s file: %s", media_type, reason[:500])
        return ManifestReport(
            state="invalid", codes=[f"unreadable: the reader stopped ({reason[:200]})"], lineage=None, manifest=None
        )
    return ManifestReport(**json.loads(child.stdout))


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
