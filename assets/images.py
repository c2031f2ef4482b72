"""Checks every image that enters the system before a byte of it is stored."""

from __future__ import annotations

import re
import struct
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from assets.errors import ApplicationError

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
MEDIA_TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    # A camera's JPEG with preview frames after its primary image (CIPA DC-007 Multi-Picture Format).
    "MPO": "image/jpeg",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
    "TIFF": "image/tiff",
}
EXTENSIONS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jpe": "JPEG",
    ".jfif": "JPEG",
    ".mpo": "JPEG",
    ".webp": "WEBP",
    ".avif": "AVIF",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}
# Names that promise something other than a picture we accept; any other suffix ("v2.1") is not a file type.
FOREIGN_EXTENSIONS = (
    ".svg",
    ".svgz",
    ".gif",
    ".bmp",
    ".heic",
    ".psd",
    ".pdf",
    ".html",
    ".htm",
    ".xhtml",
    ".js",
    ".php",
    ".exe",
    ".zip",
    ".cube",
)
# Pillow reads 16-bit and CMYK data by converting it silently; the studio's pipeline is 8-bit RGB, so say so instead.
ACCEPTED_MODES = ("RGB", "RGBA", "L", "LA", "P", "PA")
# Wider than any banner or skyscraper slot; beyond it an "image" is a line and thumbnails collapse to nothing.
MAX_ASPECT_RATIO = 32
MAX_FILE_NAME_BYTES = 255
# Markup in metadata or after the image's end turns a file into a polyglot that a browser or another tool may run.
MARKUP = re.compile(rb"<\s*(script|html|iframe|object|embed)\b|<\?php", re.IGNORECASE)


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str
    media_type: str


def _metadata_sizes(image: Image.Image) -> dict[str, int]:
    sizes = {
        "EXIF": len(image.info.get("exif") or b""),
        "XMP": len(image.info.get("xmp") or b""),
        "ICC profile": len(image.info.get("icc_profile") or b""),
    }
    text = getattr(image, "text", None) if image.format == "PNG" else None
    if text:
        sizes["PNG text"] = sum(len(key) + len(str(value)) for key, value in text.items())
    return sizes


def _metadata_limits() -> dict[str, int]:
    return {
        "EXIF": settings.SEED_MAX_METADATA_BYTES,
        "XMP": settings.SEED_MAX_METADATA_BYTES * 4,
        "ICC profile": settings.SEED_MAX_ICC_BYTES,
        # ComfyUI and InvokeAI keep whole workflow graphs in PNG text chunks.
        "PNG text": settings.SEED_MAX_METADATA_BYTES * 32,
    }


def _metadata_blocks(image: Image.Image) -> list[bytes]:
    blocks = [
        value.encode("utf-8", "replace") if isinstance(value, str) else value
        for value in image.info.values()
        if isinstance(value, (bytes, str))
    ]
    if image.format == "PNG":
        blocks += [
            f"{key}{value}".encode("utf-8", "replace") for key, value in (getattr(image, "text", None) or {}).items()
        ]
    return blocks


def _png_end(data: bytes) -> int:
    """Offset just past the IEND chunk."""
    offset = 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        offset += 12 + length
        if kind == b"IEND":
            return offset
    raise ValueError("the PNG has no IEND chunk")


def _jpeg_end(data: bytes, offset: int = 0) -> int:
    """Offset just past the EOI marker, walking segments so that an EXIF thumbnail's own EOI is not taken for it."""
    if data[offset : offset + 2] != b"\xff\xd8":
        raise ValueError("not a JPEG start of image")
    offset += 2
    while offset < len(data):
        if data[offset] != 0xFF:
            raise ValueError(f"JPEG marker expected at byte {offset}")
        marker = data[offset + 1]
        if marker == 0xFF:
            offset += 1
            continue
        if marker == 0xD9:
            return offset + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            offset += 2
            continue
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
        if marker == 0xDA:
            # Entropy-coded data: 0xFF is followed by 0x00 (stuffing) or a restart marker inside it.
            while True:
                offset = data.find(b"\xff", offset)
                if offset < 0 or offset + 1 >= len(data):
                    raise ValueError("the JPEG has no end of image marker")
                if data[offset + 1] == 0x00 or 0xD0 <= data[offset + 1] <= 0xD7:
                    offset += 2
                    continue
                break
    raise ValueError("the JPEG has no end of image marker")


def _webp_end(data: bytes) -> int:
    (size,) = struct.unpack("<I", data[4:8])
    return 8 + size + (size & 1)


def _trailing_bytes(data: bytes, image_format: str) -> bytes:
    """Bytes after the image's own end. Appended JPEGs (MPF depth maps, previews) belong to the file."""
    if image_format == "PNG":
        return data[_png_end(data) :]
    if image_format == "JPEG":
        end = _jpeg_end(data)
        while data[end : end + 2] == b"\xff\xd8":
            end = _jpeg_end(data, end)
        return data[end:]
    if image_format == "WEBP":
        return data[_webp_end(data) :]
    return b""


def _format_of(image: Image.Image) -> str:
    """The format a file is accepted and recorded as: an MPO is a JPEG whose frame 0 is the picture, its preview
    frames appended JPEGs (Pillow names it for the container, not for what it is)."""
    return "JPEG" if image.format == "MPO" else image.format


def _structure_check(path: Path, image: Image.Image) -> None:
    data = path.read_bytes()
    try:
        trailing = _trailing_bytes(data, _format_of(image))
    except (ValueError, IndexError, struct.error) as exc:
        raise ApplicationError(f"image data is truncated or corrupt: {exc}", extra={"code": "corrupt_image"}) from exc
    if trailing.strip(b"\x00"):
        raise ApplicationError(
            f"{len(trailing)} bytes follow the end of the {image.format} data (a polyglot file?); "
            "export the image again",
            extra={"code": "trailing_data", "bytes": len(trailing)},
        )
    if any(MARKUP.search(block) for block in _metadata_blocks(image)):
        raise ApplicationError(
            "the image's metadata contains HTML or script; strip the metadata and upload again",
            extra={"code": "markup_in_metadata"},
        )
    if image.format == "PNG" and data[24] == 16:
        raise ApplicationError(
            "16-bit PNGs are not accepted: the pipeline is 8 bits per channel; export 8-bit",
            extra={"code": "unsupported_depth", "bits": 16},
        )


def file_name_check(*, name: str | None) -> None:
    """A file name is never used as a path, but a hostile one is refused rather than quietly rewritten."""
    if not name:
        return
    if len(name.encode("utf-8")) > MAX_FILE_NAME_BYTES:
        raise ApplicationError(f"the file name is over {MAX_FILE_NAME_BYTES} bytes", extra={"code": "bad_file_name"})
    # Spaces of any kind are fine (macOS names screenshots with U+202F); controls and bidi overrides are not.
    hidden = any(unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp") for char in name)
    if "/" in name or "\\" in name or name.startswith(".") or hidden:
        raise ApplicationError(
            f"the file name {name!r} is not accepted: no paths, control or direction characters",
            extra={"code": "bad_file_name"},
        )


def extension_check(*, name: str | None, image_format: str) -> None:
    """A name that promises another type than the bytes hold is refused rather than stored under a false label."""
    if not name:
        return
    suffix = PurePosixPath(name).suffix.lower()
    misnamed = suffix in FOREIGN_EXTENSIONS or (suffix in EXTENSIONS and EXTENSIONS[suffix] != image_format)
    if misnamed:
        raise ApplicationError(
            f"the file is named {name!r} but holds {image_format} data; rename it or export again",
            extra={"code": "wrong_extension", "format": image_format},
        )


def image_inspect(
    *, path: Path, formats: tuple[str, ...] = ALLOWED_FORMATS, modes: tuple[str, ...] = ACCEPTED_MODES
) -> ImageInfo:
    """Open with an allow-list of formats; refuse bombs, lines, polyglots, oversized metadata and truncated data."""
    allowed = ", ".join(formats)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=formats) as image:
                _header_check(image, modes=modes)
                width, height = image.size
                image_format = _format_of(image)
                _structure_check(path, image)
                image.load()
    except ApplicationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ApplicationError(
            f"image refused as a decompression bomb: {exc}", extra={"code": "decompression_bomb"}
        ) from exc
    except UnidentifiedImageError as exc:
        raise ApplicationError(
            f"file is not an image in an accepted format ({allowed})",
            extra={"code": "unsupported_format", "allowed": list(formats)},
        ) from exc
    except ValueError as exc:
        if "Decompressed data too large" in str(exc):
            raise ApplicationError(
                "a compressed metadata chunk inflates past the size Pillow reads (a text or ICC bomb)",
                extra={"code": "metadata_too_large"},
            ) from exc
        raise ApplicationError(f"image data is truncated or corrupt: {exc}", extra={"code": "corrupt_image"}) from exc
    except (OSError, SyntaxError, EOFError) as exc:
        raise ApplicationError(f"image data is truncated or corrupt: {exc}", extra={"code": "corrupt_image"}) from exc
    return ImageInfo(width=width, height=height, format=image_format, media_type=MEDIA_TYPES[image_format])


def _header_check(image: Image.Image, *, modes: tuple[str, ...]) -> None:
    """What the header tells before a pixel is decoded: size, aspect, mode, frames and the metadata's sizes."""
    max_pixels = settings.SEED_MAX_IMAGE_PIXELS
    width, height = image.size
    if width * height > max_pixels:
        raise ApplicationError(
            f"image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}",
            extra={"code": "too_many_pixels", "width": width, "height": height, "limit": max_pixels},
        )
    if max(width, height) > MAX_ASPECT_RATIO * max(1, min(width, height)):
        raise ApplicationError(
            f"image is {width}x{height}: more than {MAX_ASPECT_RATIO}:1 is not a picture for any slot",
            extra={"code": "extreme_aspect", "width": width, "height": height},
        )
    if image.mode not in modes:
        raise ApplicationError(
            f"colour mode {image.mode} is not accepted; export as 8-bit RGB (sRGB)",
            extra={"code": "unsupported_mode", "mode": image.mode},
        )
    # A camera's MPO carries previews after its primary image, not frames of an animation.
    if getattr(image, "n_frames", 1) > 1 and image.format != "MPO":
        raise ApplicationError("animated images are not accepted; upload a single frame", extra={"code": "animated"})
    limits = _metadata_limits()
    for block, size in _metadata_sizes(image).items():
        if size > limits[block]:
            raise ApplicationError(
                f"{block} block is {size} bytes; the limit is {limits[block]}",
                extra={"code": "metadata_too_large", "block": block, "size": size, "limit": limits[block]},
            )


def label_font(size: int):
    """Pillow's own scalable font: labels on sheets we draw (contact sheets, grids), no font file to ship."""
    from PIL import ImageFont

    return ImageFont.load_default(size=size)
