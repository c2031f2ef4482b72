"""Every bad upload gets a 400 with a clear message and leaves no row and no file behind."""

import io
import struct
import zlib

import piexif
import pytest
from PIL import Image

from assets.models import Blob, Derivation, Reference, Version
from tests.assets.conftest import files_under
from tests.factories import image_bytes, make_brief

pytestmark = pytest.mark.django_db


def png_bomb(width=30000, height=30000) -> bytes:
    """A tiny PNG whose header claims 900 megapixels."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * 3 * 16
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * 16)) + chunk(b"IEND", b"")


def jpeg_bomb() -> bytes:
    data = bytearray(image_bytes(size=(16, 16), image_format="JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)
    return bytes(data)


def huge_exif_png() -> bytes:
    exif = piexif.dump({"0th": {piexif.ImageIFD.ImageDescription: b"x" * 300_000}})
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, format="PNG", exif=exif)
    return buffer.getvalue()


CASES = {
    "png decompression bomb": (png_bomb(), "bomb.png", "pixels"),
    "jpeg decompression bomb": (jpeg_bomb(), "bomb.jpg", "pixels"),
    "truncated png": (image_bytes(size=(256, 256), colour=(1, 2, 3))[:-200], "cut.png", "truncated or corrupt"),
    "truncated jpeg": (image_bytes(size=(256, 256), image_format="JPEG")[:400], "cut.jpg", "truncated or corrupt"),
    "text with an image name": (b"%PDF-1.4 not an image at all", "photo.png", "not an image in an accepted format"),
    "html with an image name": (
        b"<html><script>alert(1)</script></html>",
        "x.jpg",
        "not an image in an accepted format",
    ),
    "svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>',
        "x.svg",
        "not an image in an accepted format",
    ),
    "gif is not on the allow-list": (image_bytes(image_format="GIF"), "x.gif", "not an image in an accepted format"),
    "huge exif block": (huge_exif_png(), "exif.png", "EXIF block is"),
    "zero bytes": (b"", "empty.png", "file is empty"),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
@pytest.mark.parametrize("endpoint", ["references", "versions/import"])
def test_bad_upload_is_refused_with_nothing_written(api, media_root, case, endpoint):
    data, name, message = CASES[case]
    brief = make_brief()
    before = files_under(media_root)
    upload = io.BytesIO(data)
    upload.name = name
    response = api.post(f"/api/{endpoint}/", {"brief": brief.pk, "image": upload}, format="multipart")
    assert response.status_code == 400, response.content
    assert message in response.json()["message"], response.json()
    assert not Reference.objects.exists() and not Version.objects.exists() and not Derivation.objects.exists()
    assert not Blob.objects.exists()
    assert files_under(media_root) == before


def test_upload_over_the_byte_cap_is_refused(api, media_root, settings):
    settings.SEED_MAX_UPLOAD_BYTES = 1000
    upload = io.BytesIO(image_bytes(size=(300, 300), colour=(9, 9, 9), image_format="PNG", compress_level=0))
    upload.name = "big.png"
    response = api.post("/api/references/", {"brief": make_brief().pk, "image": upload}, format="multipart")
    assert response.status_code == 400
    assert "limit of 1000 bytes" in response.json()["message"] or "the limit is 1000" in response.json()["message"]
    assert not Blob.objects.exists() and files_under(media_root) == []


def test_good_upload_is_stored_once_by_sha256(api, media_root):
    brief = make_brief()
    data = image_bytes(size=(40, 20))
    for _ in range(2):
        upload = io.BytesIO(data)
        upload.name = "../../etc/passwd.png"
        response = api.post(
            "/api/references/", {"brief": brief.pk, "image": upload, "title": "sun"}, format="multipart"
        )
        assert response.status_code == 201, response.content
    body = response.json()
    assert (body["width"], body["height"], body["format"]) == (40, 20, "PNG")
    assert Reference.objects.count() == 1 and Blob.objects.count() == 1
    sha = Blob.objects.get().sha256
    assert files_under(media_root) == [f"blobs/{sha[:2]}/{sha[2:4]}/{sha}"]
