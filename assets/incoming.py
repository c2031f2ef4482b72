"""What a file brought into Seed says about where it came from, read before the lineage records it.

Its C2PA manifest (read in a child process, `python -m assets.c2pa_reading`, for integrity only: whose signature it
is does not decide what it says, and the web process must not load c2pa), the XMP document ids editors keep through
"Save As" (`xmpMM:DocumentID`, `OriginalDocumentID`, `DerivedFrom`), and its pixels' fingerprints. No database:
assets.parent_matching turns this into a parent, assets.services.arrivals into rows.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from functools import cached_property

from PIL import Image, ImageStat

from assets.c2pa_reading import SOFT_BINDING_LABEL, store_read_isolated
from assets.c2pa_stores import manifest_store_extract
from assets.content_codes import ISCC_ALG, ContentCode, content_code
from assets.imagehash import perceptual_hash
from assets.operations import text_storable
from assets.xmp import RDF, xmp_parse

logger = logging.getLogger(__name__)

XMP_MM = "http://ns.adobe.com/xap/1.0/mm/"
ST_REF = "http://ns.adobe.com/xap/1.0/sType/ResourceRef#"
# A picture whose 32×32 grey differs from its mean by less than this (0–255) has nothing to recognise it by: every
# flat colour hashes to noise, and two of them may land near each other.
FLAT_STDDEV = 2.0
# What a recorded manifest keeps: enough to say who made the file and how, bounded against a hostile one.
MAX_ACTIONS = 50
MAX_INGREDIENTS = 16
MAX_TEXT = 200
VALID_STATES = ("trusted", "valid_untrusted")
# How C2PA's list of actions opens: where the file came from, not what was done to it.
OPENING_ACTIONS = ("c2pa.opened", "c2pa.created")


@dataclass(frozen=True)
class XmpIds:
    """The XMP media-management ids of a file: its own, and the document it was saved from (`DerivedFrom`)."""

    document_id: str = ""
    instance_id: str = ""
    original_document_id: str = ""
    derived_document_id: str = ""
    derived_instance_id: str = ""

    @property
    def document_ids(self) -> list[str]:
        """Every document id that may be a file Seed exported, the one it was saved from first."""
        ids = (self.derived_document_id, self.original_document_id, self.document_id)
        return list(dict.fromkeys(value for value in ids if value))


def _text(value, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else "" if value is None else str(value)
    text = text.strip()[:limit]
    return text if text_storable(text) else ""


def _property(node, namespace: str, name: str) -> str:
    """A simple XMP property in either of RDF's spellings: an attribute, or an element's text (or, for a struct
    such as DerivedFrom, an attribute of the one rdf:Description inside it)."""
    key = f"{{{namespace}}}{name}"
    if node.get(key):
        return _text(node.get(key))
    child = node.find(key)
    if child is not None and (child.text or "").strip():
        return _text(child.text)
    nested = node.find(f"{{{RDF}}}Description")
    return _text(nested.get(key)) if nested is not None and nested.get(key) else ""


def xmp_ids_read(packet: bytes | str | None) -> XmpIds:
    """The media-management ids of an XMP packet; none for a packet that is missing or does not parse."""
    root = xmp_parse(packet)
    if root is None:
        return XmpIds()
    found: dict[str, str] = {}
    for description in root.iter(f"{{{RDF}}}Description"):
        for name in ("DocumentID", "InstanceID", "OriginalDocumentID"):
            found.setdefault(name, _property(description, XMP_MM, name))
        derived = description.find(f"{{{XMP_MM}}}DerivedFrom")
        if derived is not None:
            found.setdefault("derived_document", _property(derived, ST_REF, "documentID"))
            found.setdefault("derived_instance", _property(derived, ST_REF, "instanceID"))
        found = {key: value for key, value in found.items() if value}
    return XmpIds(
        document_id=found.get("DocumentID", ""),
        instance_id=found.get("InstanceID", ""),
        original_document_id=found.get("OriginalDocumentID", ""),
        derived_document_id=found.get("derived_document", ""),
        derived_instance_id=found.get("derived_instance", ""),
    )


def _agent(value) -> str:
    if isinstance(value, dict):
        return _text(" ".join(str(value.get(key, "")) for key in ("name", "version")))
    return _text(value)


def _actions(manifest: dict) -> list[dict]:
    actions = []
    for assertion in manifest.get("assertions") or []:
        data = assertion.get("data")
        if assertion.get("label") not in ("c2pa.actions", "c2pa.actions.v2") or not isinstance(data, dict):
            continue
        listed = data.get("actions")
        for item in listed[:MAX_ACTIONS] if isinstance(listed, list) else []:
            if not isinstance(item, dict):
                continue
            action = {
                "action": _text(item.get("action")),
                "softwareAgent": _agent(item.get("softwareAgent")),
                "digitalSourceType": _text(item.get("digitalSourceType")),
                "description": _text(item.get("description")),
            }
            if action["action"]:  # an action without a name it can be stored by says nothing
                actions.append({key: value for key, value in action.items() if value})
    return actions[:MAX_ACTIONS]


def manifest_summary(report: dict) -> dict:
    """What Seed records of another tool's manifest: who made the claim and signed it, its actions, the digital
    source type, and its ingredients with the manifests they carry."""
    manifest = report.get("manifest") or {}
    generators = manifest.get("claim_generator_info") or []
    generator = manifest.get("claim_generator") or " ".join(
        _agent(item) for item in generators[:2] if isinstance(item, dict)
    )
    signature = manifest.get("signature_info") or {}
    actions = _actions(manifest)
    # The reader judges each ingredient's own manifest, in the manifest's order.
    judged = [item.get("state") for item in report.get("ingredients") or []]
    ingredients = [
        {
            "title": _text(item.get("title")),
            "relationship": _text(item.get("relationship")) or "componentOf",
            "format": _text(item.get("format")),
            "manifest": _text(item.get("active_manifest")),
            "document_id": _text(item.get("document_id")),
            "state": (judged[index] if index < len(judged) else None)
            or ("valid" if item.get("active_manifest") else "absent"),
        }
        for index, item in enumerate((manifest.get("ingredients") or [])[:MAX_INGREDIENTS])
        if isinstance(item, dict)
    ]
    return {
        "manifest_id": _text(manifest.get("label")),
        "state": report.get("state", ""),
        "claim_generator": _text(generator),
        "title": _text(manifest.get("title")),
        "signed_by": _text(signature.get("common_name") or signature.get("issuer")),
        "issuer": _text(signature.get("issuer")),
        "digital_source_type": next((a["digitalSourceType"] for a in actions if "digitalSourceType" in a), ""),
        "actions": actions,
        "ingredients": ingredients,
    }


def edits_describe(summary: dict) -> str:
    """The edits a manifest names, as a lineage label: "color_adjustments, resized · RetouchScript 0.1"."""
    names = [a["action"].removeprefix("c2pa.") for a in summary["actions"] if a["action"] not in OPENING_ACTIONS]
    agents = list(dict.fromkeys(a["softwareAgent"] for a in summary["actions"] if a.get("softwareAgent")))
    text = ", ".join(dict.fromkeys(names))
    return _text(f"{text} · {', '.join(agents)}" if text and agents else text)


@dataclass
class Incoming:
    """One incoming file: what its manifest and XMP say, and its fingerprints (computed when asked for)."""

    data: bytes = field(repr=False)
    media_type: str
    width: int
    height: int
    report: dict | None  # the reader's, for a file that carries a manifest
    xmp: XmpIds

    @property
    def manifest_valid(self) -> bool:
        return self.report is not None and self.report.get("state") in VALID_STATES

    @cached_property
    def summary(self) -> dict | None:
        return manifest_summary(self.report) if self.manifest_valid else None

    @cached_property
    def store(self) -> bytes | None:
        return manifest_store_extract(data=self.data, media_type=self.media_type) if self.manifest_valid else None

    @property
    def parent_ingredient(self) -> dict | None:
        """The manifest's parentOf ingredient (at most one), unless its own manifest failed."""
        ingredients = self.summary["ingredients"] if self.summary else []
        return next((i for i in ingredients if i["relationship"] == "parentOf" and i["state"] != "invalid"), None)

    @property
    def soft_bindings(self) -> list[str]:
        """ISCC content codes the manifest binds itself to (`c2pa.soft-binding`, io.iscc.v0)."""
        manifest = (self.report.get("manifest") or {}) if self.manifest_valid else {}
        values = []
        for assertion in manifest.get("assertions") or []:
            data = assertion.get("data") if str(assertion.get("label", "")).startswith(SOFT_BINDING_LABEL) else None
            if isinstance(data, dict) and data.get("alg") == ISCC_ALG:
                values += [_text(b.get("value")) for b in data.get("blocks") or [] if isinstance(b, dict)]
        return [value for value in values if value]

    @property
    def claims_parent(self) -> bool:
        """Whether the file says it was made from another (a parentOf ingredient, an XMP DerivedFrom)."""
        return self.parent_ingredient is not None or bool(self.xmp.derived_document_id or self.xmp.derived_instance_id)

    @cached_property
    def image(self) -> Image.Image:
        with Image.open(io.BytesIO(self.data)) as opened:
            opened.load()
            return opened.copy()

    @cached_property
    def flat(self) -> bool:
        grey = self.image.convert("L").resize((32, 32), Image.Resampling.BILINEAR)
        return ImageStat.Stat(grey).stddev[0] < FLAT_STDDEV

    @cached_property
    def content(self) -> ContentCode:
        return content_code(self.image)

    @cached_property
    def phash(self) -> int:
        return perceptual_hash(self.image)


def incoming_read(*, data: bytes, media_type: str, width: int, height: int) -> Incoming:
    """Read what the file (already through every upload check) says of itself."""
    report = store_read_isolated(data=data, media_type=media_type) if b"c2pa" in data else None
    with Image.open(io.BytesIO(data)) as image:
        xmp = xmp_ids_read(image.info.get("xmp"))
    return Incoming(data=data, media_type=media_type, width=width, height=height, report=report, xmp=xmp)
