"""Serving stored images to signed-in users: the original bytes and cached thumbnails."""

from django.contrib.auth.decorators import login_required
from django.core.files.storage import storages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from assets.access import blob_visible_to
from assets.models import Blob
from assets.thumbnails import THUMBNAIL_SIZES, thumbnail_ensure

_CACHE = "private, max-age=31536000, immutable"


def _image_blob(request, sha256: str) -> Blob:
    blob = get_object_or_404(Blob, sha256=sha256)
    if not blob.media_type.startswith("image/") or not blob_visible_to(user=request.user, blob=blob):
        raise Http404("no such image")
    return blob


@require_GET
@login_required
def blob_image(request, sha256: str):
    blob = _image_blob(request, sha256)
    response = FileResponse(storages["blobs"].open(blob.storage_name, "rb"), content_type=blob.media_type)
    response["Cache-Control"] = _CACHE
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@login_required
def blob_thumbnail(request, sha256: str, size: int):
    if size not in THUMBNAIL_SIZES:
        raise Http404("no such thumbnail size")
    name = thumbnail_ensure(blob=_image_blob(request, sha256), size=size)
    response = FileResponse(storages["derived"].open(name, "rb"), content_type="image/webp")
    response["Cache-Control"] = _CACHE
    return response
