"""ISCC Content-Code Image (ISO 24138): the content fingerprint Seed writes as a C2PA soft binding (`io.iscc.v0`).

A 64-bit DCT hash of the picture normalised as ISO 24138 asks (orientation applied, transparency on white, grey,
32×32 bicubic) but for one step: empty borders are not trimmed. On the low-contrast pictures studios deliver (a sky,
a studio backdrop) what counts as an empty border moves with JPEG noise, and a q70 copy of a demo file came out 32
bits away from its original with the trim, 0 without. For a picture without an empty border the code is ISO's. It
survives metadata stripping, re-encoding and resizing; the code is the soft binding's value and its bits are kept as a
signed 64-bit integer, the form Postgres compares with `bit_count`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageOps

ISCC_ALG = "io.iscc.v0"
ISCC_BITS = 64


@dataclass(frozen=True)
class ContentCode:
    iscc: str  # "ISCC:EEA…", the ISCC Content-Code Image
    bits: int  # its 64-bit digest as a signed integer


def _normalised_pixels(image: Image.Image) -> list[int]:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return list(image.convert("L").resize((32, 32), Image.Resampling.BICUBIC).get_flattened_data())


def content_code(image: Image.Image) -> ContentCode:
    import iscc_core

    pixels = _normalised_pixels(image)
    digest = iscc_core.soft_hash_image_v0(pixels, bits=ISCC_BITS)
    code = iscc_core.encode_component(
        mtype=iscc_core.MT.CONTENT,
        stype=iscc_core.ST_CC.IMAGE,
        version=iscc_core.VS.V0,
        bit_length=ISCC_BITS,
        digest=digest,
    )
    return ContentCode(iscc=f"ISCC:{code}", bits=int.from_bytes(digest, "big", signed=True))


def content_code_bits(iscc: str) -> int:
    """The 64 bits of an ISCC Content-Code Image given as text; ValueError for anything else."""
    import iscc_core

    try:
        unit = iscc_core.Code(iscc.strip())
    except Exception as exc:  # iscc-core raises plain ValueError/IndexError/binascii errors on malformed codes
        raise ValueError(f"{iscc!r} is not an ISCC code: {exc}") from exc
    if unit.maintype != iscc_core.MT.CONTENT or unit.subtype != iscc_core.ST_CC.IMAGE or unit.length != ISCC_BITS:
        raise ValueError(f"{iscc!r} is not a 64-bit ISCC Content-Code Image")
    return int.from_bytes(unit.hash_bytes, "big", signed=True)


def content_distance(a: int, b: int) -> int:
    """Bits in which two content codes differ."""
    return ((a ^ b) & (2**64 - 1)).bit_count()
