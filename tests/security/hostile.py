"""Hostile files, each built in code: what an attacker, a broken exporter or a careless client sends."""

from __future__ import annotations

import io
import struct
import zlib

import piexif
from PIL import Image, PngImagePlugin

from tests.factories import image_bytes


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_raw(*, width: int, height: int, bit_depth: int = 8, colour_type: int = 2, rows: bytes | None = None) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    channels = {0: 1, 2: 3, 6: 4}[colour_type]
    if rows is None:
        row = b"\x00" + b"\x00" * (channels * bit_depth // 8 * width)
        rows = row * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows, 9))
        + _png_chunk(b"IEND", b"")
    )


def png_bomb() -> bytes:
    """30000x30000 claimed in the header, a few bytes of data."""
    return png_raw(width=30000, height=30000, rows=b"\x00" * 64)


def png_zlib_bomb() -> bytes:
    """9000x9000 of zeros: 240 MB of pixels in about 250 kB."""
    return png_raw(width=9000, height=9000)


def jpeg_with_size(width: int, height: int) -> bytes:
    data = bytearray(image_bytes(size=(16, 16), image_format="JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_bomb() -> bytes:
    """A lossless WebP whose header claims 16383x16383."""
    data = bytearray(image_bytes(size=(16, 16), image_format="WEBP", lossless=True))
    start = data.index(b"VP8L") + 8 + 1
    bits = (16383 - 1) | ((16383 - 1) << 14)
    packed = struct.unpack("<I", bytes(data[start : start + 4]))[0]
    packed = (packed & ~((1 << 28) - 1)) | bits
    data[start : start + 4] = struct.pack("<I", packed)
    return bytes(data)


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    return data[: int(len(data) * keep)]


def png_bad_crc() -> bytes:
    data = bytearray(image_bytes(size=(64, 64), colour=(9, 99, 199)))
    idat = data.index(b"IDAT")
    data[idat + 6] ^= 0xFF
    return bytes(data)


def jpeg_broken_huffman() -> bytes:
    data = bytearray(image_bytes(size=(64, 64), colour=(120, 30, 200), image_format="JPEG"))
    dht = data.index(b"\xff\xc4")
    data[dht + 4 : dht + 20] = b"\xff" * 16
    return bytes(data)


def with_text_chunk(key: str, text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text(key, text)
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def ztxt_bomb() -> bytes:
    """A compressed text chunk that inflates to 64 MB."""
    payload = b"parameters\x00\x00" + zlib.compress(b"a" * (64 * 1024 * 1024), 9)
    data = image_bytes(size=(16, 16))
    end = data.index(b"IEND") - 4
    return data[:end] + _png_chunk(b"zTXt", payload) + data[end:]


def jpeg_with_comment(comment: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (5, 6, 7)).save(buffer, format="JPEG", comment=comment)
    return buffer.getvalue()


def huge_exif_png() -> bytes:
    exif = piexif.dump({"0th": {piexif.ImageIFD.ImageDescription: b"x" * 300_000}})
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, format="PNG", exif=exif)
    return buffer.getvalue()


def huge_xmp(image_format: str) -> bytes:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>' + b"<d>" + b"z" * 400_000 + b"</d></rdf:RDF></x:xmpmeta>"
    buffer = io.BytesIO()
    if image_format == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode())
        Image.new("RGB", (16, 16)).save(buffer, format="PNG", pnginfo=info)
    else:
        Image.new("RGB", (16, 16)).save(buffer, format=image_format, xmp=xmp)
    return buffer.getvalue()


def huge_icc(image_format: str) -> bytes:
    """2 MB of ICC profile: split over APP2 segments in a JPEG, one compressed chunk in a PNG."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, format=image_format, icc_profile=bytes(range(256)) * 8192)
    return buffer.getvalue()


def cmyk_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("CMYK", (32, 32), (0, 80, 80, 0)).save(buffer, format="JPEG")
    return buffer.getvalue()


def animated(image_format: str) -> bytes:
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=image_format, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def tiff() -> bytes:
    return image_bytes(size=(16, 16), image_format="TIFF")


ZIP_TAIL = (
    b"PK\x03\x04" + b"\x14\x00" + b"\x00" * 22 + b"evil.html<script>alert(1)</script>" + b"PK\x05\x06" + b"\x00" * 18
)
HTML = (
    b"<!doctype html><html><body><script>fetch('/api/versions/').then(r => r.text()).then(alert)</script></body></html>"
)
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj\n%%EOF"


def image_cases() -> dict[str, tuple[bytes, str, str]]:
    """name -> (bytes, file name, a phrase the refusal must contain)."""
    png = image_bytes(size=(64, 64), colour=(10, 120, 240))
    jpeg = image_bytes(size=(64, 64), colour=(240, 120, 10), image_format="JPEG")
    webp = image_bytes(size=(64, 64), colour=(10, 240, 120), image_format="WEBP")
    return {
        "png bomb (header)": (png_bomb(), "bomb.png", "pixels"),
        "png bomb (zlib)": (png_zlib_bomb(), "zeros.png", "pixels"),
        "jpeg bomb": (jpeg_with_size(60000, 60000), "bomb.jpg", "pixels"),
        "webp bomb": (webp_bomb(), "bomb.webp", "pixels"),
        "1x100000 png": (png_raw(width=1, height=100000), "line.png", "not a picture"),
        "100000x1 jpeg": (jpeg_with_size(60000, 1), "line.jpg", "not a picture"),
        "truncated png": (truncated(png), "cut.png", "truncated or corrupt"),
        "truncated jpeg": (
            truncated(image_bytes(size=(256, 256), image_format="JPEG"), 0.2),
            "cut.jpg",
            "truncated or corrupt",
        ),
        "truncated webp": (truncated(webp), "cut.webp", "truncated or corrupt"),
        "png with a bad crc": (png_bad_crc(), "crc.png", "truncated or corrupt"),
        "jpeg with a broken huffman table": (jpeg_broken_huffman(), "huff.jpg", "truncated or corrupt"),
        "zero bytes": (b"", "empty.png", "empty"),
        "html named .jpg": (HTML, "photo.jpg", "not an image"),
        "svg with script": (SVG, "logo.svg", "not an image"),
        "svg named .png": (SVG, "logo.png", "not an image"),
        "pdf named .png": (PDF, "brief.png", "not an image"),
        "gif": (image_bytes(image_format="GIF"), "x.gif", "not an image"),
        "tiff": (tiff(), "scan.tif", "not an image"),
        "png + zip polyglot": (png + ZIP_TAIL, "poly.png", "follow the end"),
        "jpeg + html polyglot": (jpeg + HTML, "poly.jpg", "follow the end"),
        "webp + zip polyglot": (webp[:4] + webp[4:] + ZIP_TAIL, "poly.webp", "follow the end"),
        "png with script in a text chunk": (
            with_text_chunk("Comment", "<script>alert(1)</script>"),
            "text.png",
            "HTML or script",
        ),
        "jpeg with html in a comment": (
            jpeg_with_comment(b"<html><iframe src=//evil></iframe></html>"),
            "com.jpg",
            "HTML or script",
        ),
        "png ztxt bomb": (ztxt_bomb(), "ztxt.png", "metadata chunk inflates"),
        "huge exif in png": (huge_exif_png(), "exif.png", "EXIF block is"),
        "huge xmp in webp": (huge_xmp("WEBP"), "xmp.webp", "XMP block is"),
        "huge xmp in png": (huge_xmp("PNG"), "xmp.png", "XMP block is"),
        "huge icc profile in jpeg": (huge_icc("JPEG"), "icc.jpg", "ICC profile block is"),
        "huge icc profile in png": (huge_icc("PNG"), "icc.png", "metadata chunk inflates"),
        "cmyk jpeg": (cmyk_jpeg(), "print.jpg", "colour mode CMYK"),
        "16-bit grey png": (png_raw(width=16, height=16, bit_depth=16, colour_type=0), "deep.png", "colour mode"),
        "16-bit rgb png": (png_raw(width=16, height=16, bit_depth=16, colour_type=2), "deep-rgb.png", "16-bit"),
        "animated png": (animated("PNG"), "anim.png", "animated"),
        "animated webp": (animated("WEBP"), "anim.webp", "animated"),
        "png named .jpg": (png, "photo.jpg", "holds PNG data"),
        "jpeg named .svg": (jpeg, "vector.svg", "holds JPEG data"),
    }
