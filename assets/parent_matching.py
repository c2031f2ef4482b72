"""Which version a file brought back was made from: the rules tried in order, the first that finds one wins.

1. its own C2PA manifest is one Seed signed (the exported or delivered file itself came back);
2. its C2PA `parentOf` ingredient carries a manifest Seed signed (Photoshop and other C2PA editors do this);
3. an XMP document id it keeps (`DerivedFrom`, `OriginalDocumentID`, `DocumentID`) is one an export wrote;
4. the C2PA soft binding it carries (an ISCC content code) is near one Seed's manifests bind to;
5. its pixels' content code is near a file Seed signed (the metadata was stripped on the way);
6. its perceptual hash is near one of the brief's versions (a file Seed never signed).

Only versions of the brief's client that the importing user may see are searched, so a file can never be attached
across clients. A file that says it was made from another (a parentOf ingredient, an XMP DerivedFrom) but whose
parent no rule finds, or that looks alike several versions, is not guessed at: Seed asks (ParentUnknown).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

from django.core.files.storage import storages
from django.db.models import QuerySet
from PIL import Image

from assets.access import visible
from assets.content_codes import content_code_bits
from assets.credential_matching import (
    credential_by_manifest_id,
    credentials_by_bits,
    credentials_by_content,
    credentials_by_document_id,
)
from assets.errors import ApplicationError
from assets.imagehash import hash_distance, perceptual_hash
from assets.incoming import Incoming
from assets.models import Blob, Brief, Version
from assets.thumbnails import thumbnail_ensure

RULES = {
    "c2pa_manifest": "its own C2PA manifest",
    "c2pa_parent": "its C2PA parentOf ingredient",
    "xmp_document": "its XMP document id",
    "soft_binding": "the C2PA soft binding it carries",
    "content_code": "its content code",
    "perceptual_hash": "its perceptual hash among the brief's versions",
}
# A retoucher's colour and tone work and a resize move a picture's pHash by a few bits; the brief's other pictures,
# even of one prompt, lie 20 and more away.
PERCEPTUAL_PARENT_BITS = 6
# How far a version may look from the file and still be offered when Seed asks.
CANDIDATE_BITS = 20
# Two nearest versions less than this apart (bits, or the content ranking's score) cannot be told apart.
AMBIGUOUS_MARGIN = 2
# The brief's newest versions a file is compared with by eye (pHash of their cached 256-pixel thumbnails).
PERCEPTUAL_VERSIONS = 200
THUMBNAIL = 256
PASS_PARENT = "parent=<version id> (or parent=none for a standalone import)"


@dataclass(frozen=True)
class ParentMatch:
    version: Version
    rule: str
    evidence: str

    @property
    def description(self) -> str:
        return f"parent v{self.version.pk} by {RULES[self.rule]} {self.evidence}".rstrip()


class ParentUnknown(ApplicationError):
    """The file names or resembles a parent Seed cannot decide on: a person says which, or that there is none."""


def versions_attachable(*, brief: Brief, user) -> QuerySet[Version]:
    """Where a parent may be found: the versions of the brief's client the importing user sees (the command line
    runs as the studio: all of that client's)."""
    versions = Version.objects.filter(brief__campaign__client_id=brief.campaign.client_id)
    return versions if user is None else visible(versions, user=user)


def parent_find(*, incoming: Incoming, brief: Brief, user) -> ParentMatch | None:
    """The parent by the first rule that finds one; None for a file that names no parent and looks like no version
    of the brief. Raises ParentUnknown, with the candidates, where a person must decide."""
    versions = versions_attachable(brief=brief, user=user)
    for rule in (_by_own_manifest, _by_parent_ingredient, _by_document_id, _by_soft_binding, _by_content):
        match = rule(incoming=incoming, versions=versions)
        if match is not None:
            return match
    nearest = _perceptually_nearest(incoming=incoming, versions=versions.filter(brief=brief))
    if nearest and nearest[0][0] <= PERCEPTUAL_PARENT_BITS:
        _unambiguous(nearest, incoming=incoming)
        distance, version = nearest[0]
        return ParentMatch(version=version, rule="perceptual_hash", evidence=f"({distance} bits apart)")
    if incoming.claims_parent:
        raise _ask(
            "it says it was made from another file, but none of the brief's client's versions you may see is that file",
            incoming=incoming,
            nearest=nearest,
        )
    return None


def _by_own_manifest(*, incoming: Incoming, versions) -> ParentMatch | None:
    manifest_id = incoming.summary["manifest_id"] if incoming.summary else ""
    credential = credential_by_manifest_id(manifest_id=manifest_id, versions=versions) if manifest_id else None
    return ParentMatch(credential.version, "c2pa_manifest", manifest_id) if credential else None


def _by_parent_ingredient(*, incoming: Incoming, versions) -> ParentMatch | None:
    parent = incoming.parent_ingredient
    manifest_id = parent["manifest"] if parent else ""
    credential = credential_by_manifest_id(manifest_id=manifest_id, versions=versions) if manifest_id else None
    return ParentMatch(credential.version, "c2pa_parent", manifest_id) if credential else None


def _by_document_id(*, incoming: Incoming, versions) -> ParentMatch | None:
    parent = incoming.parent_ingredient
    ids = [*incoming.xmp.document_ids, *([parent["document_id"]] if parent and parent["document_id"] else [])]
    found = {c.document_id: c for c in credentials_by_document_id(document_ids=ids, versions=versions)}
    document_id = next((value for value in ids if value in found), None)
    return ParentMatch(found[document_id].version, "xmp_document", document_id) if document_id else None


def _by_soft_binding(*, incoming: Incoming, versions) -> ParentMatch | None:
    for value in incoming.soft_bindings:
        try:
            bits = content_code_bits(value)
        except ValueError:
            continue
        matches = credentials_by_bits(bits=bits, versions=versions, limit=1)
        if matches:
            return ParentMatch(matches[0].credential.version, "soft_binding", f"{value} ({matches[0].distance} bits)")
    return None


def _by_content(*, incoming: Incoming, versions) -> ParentMatch | None:
    if incoming.flat:
        return None
    matches = credentials_by_content(image=incoming.image, code=incoming.content, versions=versions, limit=5)
    if not matches:
        return None
    best = matches[0]
    rivals = [m for m in matches[1:] if m.credential.version_id != best.credential.version_id]
    if rivals and rivals[0].score - best.score < AMBIGUOUS_MARGIN:
        tied = [(round(m.score), m.credential.version) for m in (best, rivals[0])]
        raise _ask("its pixels are as near to two versions' signed files", incoming=incoming, nearest=tied)
    return ParentMatch(best.credential.version, "content_code", f"{incoming.content.iscc} ({best.distance} bits)")


@lru_cache(maxsize=8192)
def _thumbnail_hash(sha256: str) -> int:
    """A blob's pHash, from its cached thumbnail: its bytes never change, so neither does this (a batch of imports
    into a large brief decodes each thumbnail once)."""
    name = thumbnail_ensure(blob=Blob(sha256=sha256), size=THUMBNAIL)
    with storages["derived"].open(name, "rb") as handle, Image.open(io.BytesIO(handle.read())) as image:
        return perceptual_hash(image)


def _perceptually_nearest(*, incoming: Incoming, versions) -> list[tuple[int, Version]]:
    """The brief's versions within CANDIDATE_BITS of the file by eye, nearest first; none for a flat picture."""
    if incoming.flat:
        return []
    small = incoming.image.copy()
    small.thumbnail((THUMBNAIL, THUMBNAIL))
    own = perceptual_hash(small)
    scored = []
    for version in versions.order_by("-created_at", "-id")[:PERCEPTUAL_VERSIONS]:
        distance = hash_distance(own, _thumbnail_hash(version.blob_id))
        if distance <= CANDIDATE_BITS:
            scored.append((distance, version))
    return sorted(scored, key=lambda item: (item[0], -item[1].pk))


def _unambiguous(nearest: list[tuple[int, Version]], *, incoming: Incoming) -> None:
    if len(nearest) > 1 and nearest[1][0] - nearest[0][0] < AMBIGUOUS_MARGIN:
        raise _ask("it looks as near to several of the brief's versions", incoming=incoming, nearest=nearest)


def _ask(reason: str, *, incoming: Incoming, nearest: list[tuple[int, Version]]) -> ParentUnknown:
    candidates = [
        {"version": version.pk, "brief": version.brief_id, "label": version.label, "distance": distance}
        for distance, version in nearest[:5]
    ]
    named = ", ".join(f"v{c['version']} ({c['distance']} bits)" for c in candidates) or "none"
    parent = incoming.parent_ingredient
    return ParentUnknown(
        f"which version was this file made from? {reason}; candidates: {named}. Name its parent, or import it "
        "as standalone",
        extra={
            "code": "parent_unknown",
            "candidates": candidates,
            "claims": {
                "parent_manifest": parent["manifest"] if parent else "",
                "derived_from": incoming.xmp.derived_document_id or incoming.xmp.derived_instance_id,
            },
            "pass": PASS_PARENT,
        },
    )
