"""Serving stored images to signed-in users: the original bytes (with ETag and byte ranges) and cached thumbnails."""

import re

from django.contrib.auth.decorators import login_required
from django.core.files.storage import storages
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotModified,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from assets import hooks
from assets.access import blob_visible_to
from assets.errors import ApplicationError
from assets.models import Blob
from assets.thumbnails import THUMBNAIL_SIZES, thumbnail_ensure

_CACHE = "private, max-age=31536000, immutable"


def _image_blob(request, sha256: str) -> Blob:
    blob = get_object_or_404(Blob, sha256=sha256)
    # An SVG is never served inline: it can carry script (the lineage's SVGs download from the derived-files API).
    if (
        not blob.media_type.startswith("image/")
        or blob.media_type == "image/svg+xml"
        or not blob_visible_to(user=request.user, blob=blob)
    ):
        raise Http404("no such image")
    return blob


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def blob_response(request, blob: Blob, *, cache: str = _CACHE):
    """The blob's bytes for a GET: 304 when the client holds them (the sha256 is the ETag, bytes never change),
    206 for one byte range (a zoom viewer or a resumed download), 416 for a range outside the file."""
    etag = f'"{blob.sha256}"'
    headers = {"ETag": etag, "Cache-Control": cache, "Accept-Ranges": "bytes", "X-Content-Type-Options": "nosniff"}
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
    else:
        found = _RANGE.match(request.headers.get("Range", "").strip())
        if_range = request.headers.get("If-Range")
        if found and (if_range is None or if_range == etag) and any(found.groups()):
            response = _ranged(blob, *found.groups())
        else:
            response = FileResponse(storages["blobs"].open(blob.storage_name, "rb"), content_type=blob.media_type)
    for key, value in headers.items():
        response[key] = value
    return response


def _ranged(blob: Blob, first: str, last: str):
    size = blob.size
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:
        start, end = max(0, size - int(last)), size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response

    def chunks():
        with storages["blobs"].open(blob.storage_name, "rb") as handle:
            handle.seek(start)
            left = end - start + 1
            while left > 0 and (data := handle.read(min(CHUNK, left))):
                left -= len(data)
                yield data

    response = StreamingHttpResponse(chunks(), status=206, content_type=blob.media_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    return response


@require_GET
@login_required
def blob_image(request, sha256: str):
    blob = _image_blob(request, sha256)
    try:
        for check in hooks.download_checks:
            check(request.user, blob)
    except ApplicationError as exc:
        return HttpResponseForbidden(exc.message, content_type="text/plain; charset=utf-8")
    return blob_response(request, blob)


@require_GET
@login_required
def blob_thumbnail(request, sha256: str, size: int):
    if size not in THUMBNAIL_SIZES:
        raise Http404("no such thumbnail size")
    name = thumbnail_ensure(blob=_image_blob(request, sha256), size=size)
    response = FileResponse(storages["derived"].open(name, "rb"), content_type="image/webp")
    response["Cache-Control"] = _CACHE
    return response
