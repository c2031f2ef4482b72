"""A file's embedded C2PA manifest store as bytes (application/c2pa), cut out of its container.

The c2pa reader answers what a store says but does not hand its bytes back; Seed keeps the store of every file it is
given (a Credential), so that a copy that lost it can be answered from the repository. JPEG carries the store in
APP11 segments (JUMBF split into packets), PNG in a `caBX` chunk, WebP in a `C2PA` chunk: the formats other tools
sign. For any other container, or a layout that does not parse, the answer is None and the file keeps its store.
"""

from __future__ import annotations

import struct

_APP11 = 0xEB
_START_OF_SCAN = 0xDA
# A JUMBF superbox whose description box names the C2PA manifest store.
_JUMBF = b"jumb"


def manifest_store_extract(*, data: bytes, media_type: str) -> bytes | None:
    """The embedded manifest store of `data`, or None when there is none this reader can cut out."""
    try:
        readers = {"image/jpeg": _jpeg_store, "image/png": _png_store, "image/webp": _webp_store}
        reader = readers.get(media_type)
        store = reader(data) if reader is not None else None
    except (struct.error, IndexError, ValueError):
        return None
    return store if store is not None and _is_store(store) else None


def _is_store(data: bytes) -> bool:
    """A whole manifest store: a JUMBF superbox naming C2PA, as long as its header says (a cut-off file is not)."""
    return (
        len(data) >= 8
        and struct.unpack(">I", data[:4])[0] == len(data)
        and data[4:8] == _JUMBF
        and b"c2pa" in data[:64]
    )


def _jpeg_store(data: bytes) -> bytes | None:
    """APP11 segments: "JP", a box instance number, a packet sequence number, then the JUMBF; every packet after the
    first repeats the box's 8-byte header, which the store holds once."""
    packets: dict[bytes, list[tuple[int, bytes]]] = {}
    offset = 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        if marker == _START_OF_SCAN:
            break
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        segment = data[offset + 4 : offset + 2 + length]
        if marker == _APP11 and segment[:2] == b"JP" and len(segment) > 8:
            (sequence,) = struct.unpack(">I", segment[4:8])
            packets.setdefault(segment[2:4], []).append((sequence, segment[8:]))
        offset += 2 + length
    for parts in packets.values():
        parts.sort(key=lambda part: part[0])
        store = parts[0][1] + b"".join(body[8:] for _, body in parts[1:])
        if _is_store(store):
            return store
    return None


def _png_store(data: bytes) -> bytes | None:
    offset = 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if kind == b"caBX":
            return data[offset + 8 : offset + 8 + length]
        if kind == b"IEND":
            return None
        offset += 12 + length
    return None


def _webp_store(data: bytes) -> bytes | None:
    offset = 12  # past "RIFF", the size and "WEBP"
    while offset + 8 <= len(data):
        kind = data[offset : offset + 4]
        (length,) = struct.unpack("<I", data[offset + 4 : offset + 8])
        if kind == b"C2PA":
            return data[offset + 8 : offset + 8 + length]
        offset += 8 + length + (length & 1)
    return None
