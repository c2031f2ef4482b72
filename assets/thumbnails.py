"""Thumbnails are derived and cacheable, never lineage: they live in the "derived" storage."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from PIL import Image, ImageOps

from assets.models import Blob
from assets.services.blobs import blob_open

THUMBNAIL_SIZES = (96, 256, 768)


def thumbnail_name(*, sha256: str, size: int) -> str:
    return f"thumbs/{sha256[:2]}/{sha256}-{size}.webp"


def thumbnail_ensure(*, blob: Blob, size: int) -> str:
    """Make the thumbnail once and return its name in the "derived" storage."""
    if size not in THUMBNAIL_SIZES:
        raise ValueError(f"thumbnail size must be one of {THUMBNAIL_SIZES}")
    storage = storages["derived"]
    name = thumbnail_name(sha256=blob.sha256, size=size)
    if storage.exists(name):
        return name
    with blob_open(blob=blob) as handle, Image.open(handle) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode not in ("RGB", "RGBA"):
            # Before resizing: a palette image would otherwise be scaled by nearest neighbour, in its own colours.
            transparent = "A" in image.getbands() or "transparency" in image.info
            image = image.convert("RGBA" if transparent else "RGB")
        image.thumbnail((size, size))
        buffer = io.BytesIO()
        image.save(buffer, format="WEBP", quality=80)
    storage.save(name, ContentFile(buffer.getvalue(), name=name))
    return name
