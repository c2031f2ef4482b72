"""A file's XMP packet, parsed as the untrusted XML it is: defusedxml refuses entity declarations (how an XML bomb
grows) and external references, which an XMP packet never needs."""

from __future__ import annotations

from xml.etree.ElementTree import Element

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def xmp_parse(packet: bytes | str | None) -> Element | None:
    """The packet's root element; None for a packet that is missing, malformed or declares entities."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    if not packet:
        return None
    raw = packet.encode("utf-8", "replace") if isinstance(packet, str) else bytes(packet)
    try:
        return fromstring(raw.strip(b"\x00 \r\n\t"))
    except (ParseError, DefusedXmlException, ValueError):
        return None
