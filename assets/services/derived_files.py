"""Files of the lineage that are not image versions: masks uploaded by people (matte and refine masks and SVGs are
recorded by the worker, assets.services.derivations.derivation_files_record)."""

from __future__ import annotations

import io

from django.db import transaction
from PIL import Image

from assets.errors import ApplicationError
from assets.models import DerivedFile, Version
from assets.services.blobs import BlobsStored, image_staged


def mask_upload(*, version: Version, source, label: str = "", created_by=None) -> DerivedFile:
    """A mask painted elsewhere (white where the subject or the change is), stored as a mask of `version`.

    It must be the version's size and not empty; it is kept as a single-channel PNG whatever it came as, so every
    mask reads the same way. Nothing is stored when it is refused.
    """
    with image_staged(source=source) as (staged, info):
        if (info.width, info.height) != (version.width, version.height):
            raise ApplicationError(
                f"the mask is {info.width}x{info.height} but version {version.pk} is {version.width}x{version.height}",
                extra={"code": "mask_size"},
            )
        with Image.open(staged.path) as image:
            grey = image.getchannel("A") if image.mode in ("RGBA", "LA") else image.convert("L")
    if grey.getextrema()[1] == 0:
        raise ApplicationError("the mask is empty: paint the subject in white", extra={"code": "mask_empty"})
    buffer = io.BytesIO()
    grey.save(buffer, format="PNG")
    # Only the single-channel mask is stored: the upload itself is checked, then let go.
    with BlobsStored() as stored, transaction.atomic():
        blob = stored.store_bytes(data=buffer.getvalue(), media_type="image/png")
        return DerivedFile.objects.create(
            brief=version.brief,
            source=version,
            kind=DerivedFile.Kind.MASK,
            blob=blob,
            width=version.width,
            height=version.height,
            label=label.strip(),
            created_by=created_by,
        )
