"""Checks every image that enters the system before a byte of it is stored."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image, UnidentifiedImageError

from assets.errors import ApplicationError

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP")
MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "AVIF": "image/avif"}


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


def image_inspect(*, path: Path, formats: tuple[str, ...] = ALLOWED_FORMATS) -> ImageInfo:
    """Open with an allow-list of formats, refuse bombs, oversized metadata and truncated data."""
    max_pixels = settings.SEED_MAX_IMAGE_PIXELS
    allowed = ", ".join(formats)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=formats) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ApplicationError(
                        f"image is {width}x{height} = {width * height} pixels; the limit is {max_pixels}",
                        extra={"code": "too_many_pixels", "width": width, "height": height, "limit": max_pixels},
                    )
                if getattr(image, "n_frames", 1) > 1:
                    raise ApplicationError("animated images are not accepted; upload a single frame",
                                           extra={"code": "animated"})
                limits = _metadata_limits()
                for block, size in _metadata_sizes(image).items():
                    if size > limits[block]:
                        raise ApplicationError(
                            f"{block} block is {size} bytes; the limit is {limits[block]}",
                            extra={"code": "metadata_too_large", "block": block, "size": size, "limit": limits[block]},
                        )
                image_format = image.format
                image.load()
    except ApplicationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ApplicationError(f"image refused as a decompression bomb: {exc}", extra={"code": "decompression_bomb"}) from exc
    except UnidentifiedImageError as exc:
        raise ApplicationError(f"file is not an image in an accepted format ({allowed})",
                               extra={"code": "unsupported_format", "allowed": list(formats)}) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ApplicationError(f"image data is truncated or corrupt: {exc}", extra={"code": "corrupt_image"}) from exc
    return ImageInfo(width=width, height=height, format=image_format, media_type=MEDIA_TYPES[image_format])
