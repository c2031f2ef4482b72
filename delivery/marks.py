"""The AI marks a file carries, read back for `verify`: its C2PA manifest, that manifest's soft binding, the IPTC AI
fields of its XMP, and the visible label Seed recorded when it delivered the file.

The XMP is whatever the file holds (ours or another tool's), so it is parsed with defusedxml and a packet that does
not parse reads as no fields.
"""

from __future__ import annotations

import io

from assets.c2pa_reading import SOFT_BINDING_LABEL
from assets.xmp import RDF, xmp_parse

IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
# IPTC 2025.1's AI properties and the digital source type, by IPTC's names.
AI_FIELDS = ("DigitalSourceType", "AISystemUsed", "AISystemVersionUsed", "AIPromptInformation", "AIPromptWriterName")


def file_marks(*, data: bytes, manifest: str, assertions: list[dict], qc: dict | None) -> dict:
    """Which marks the file carries: `manifest` is its C2PA verdict, `assertions` those of its active manifest, and
    `qc` the QC facts recorded for it as a delivered file (None for a file Seed did not deliver)."""
    return {
        "c2pa_manifest": manifest,
        "soft_binding": any(assertion.get("label") == SOFT_BINDING_LABEL for assertion in assertions),
        "iptc_ai": iptc_ai_read(data=data),
        "visible_label": _label_recorded(qc),
    }


def delivered_marks(*, item) -> dict:
    """The marks Seed recorded for a file it delivered (a DeliveryItem): its manifest's state when signed, its soft
    binding (kept with the manifest in Seed's repository), the names of the IPTC AI fields its XMP was written with,
    and its visible label."""
    return {
        "c2pa_manifest": item.manifest_state,
        "soft_binding": any(credential.iscc for credential in item.version.credentials.all()),
        "iptc_ai": item.qc.get("iptc_ai_fields", []),
        "visible_label": _label_recorded(item.qc),
    }


def _label_recorded(qc: dict | None) -> dict | None:
    label = next((check for check in (qc or {}).get("checks", []) if check["check"] == "ai_label"), None)
    return {"text": label["text"], "placement": label["placement"]} if label else None


def iptc_ai_read(*, data: bytes) -> dict[str, str]:
    """The IPTC AI fields of the file's XMP that have a value, written as elements or as attributes."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            packet = image.info.get("xmp")
    except (OSError, ValueError, Image.DecompressionBombError):
        return {}
    if not packet:
        return {}
    root = xmp_parse(packet)
    if root is None:
        return {}
    found = {}
    for name in AI_FIELDS:
        tag = f"{{{IPTC_EXT}}}{name}"
        element = root.find(f".//{tag}")
        if element is not None:
            found[name] = "".join(element.itertext()).strip()
        else:
            found[name] = next((d.get(tag) for d in root.iter(f"{{{RDF}}}Description") if d.get(tag)), "")
    return {name: value for name, value in found.items() if value}
