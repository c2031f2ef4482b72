"""What an imported file brings with it, recorded with its import: the parent it came back to, the edits its C2PA
manifest names, and that manifest itself, kept as a Credential (kind imported) so what Seed delivers from the file
can cite it and a stripped copy can be answered from the repository.

Called by every import door (the versions API's import and import-images, `manage.py import_images`, the admin's
import page) inside the import's own transaction: a refusal here leaves no row and no file.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from assets.images import ImageInfo
from assets.incoming import Incoming, edits_describe, incoming_read
from assets.models import Blob, Brief, Credential, Used, Version
from assets.parent_matching import ParentMatch, parent_find
from assets.services.blobs import blob_open
from assets.services.derivations import UsedInput


@dataclass(frozen=True)
class Arrival:
    incoming: Incoming
    parent: ParentMatch | None

    @property
    def inputs(self) -> list[UsedInput]:
        return [UsedInput(role=Used.Role.PARENT, target=self.parent.version)] if self.parent else []

    @property
    def params(self) -> dict:
        """The import derivation's record of it (operation "import"): how the parent was found, the manifest."""
        params: dict = {}
        if self.parent is not None:
            params.update(matched_by=self.parent.rule, parent_match=self.parent.description)
        summary = self.incoming.summary
        if summary is not None:
            params["credentials"] = summary
            edits = edits_describe(summary)
            if edits:
                params["edits"] = edits
        return params

    @property
    def report(self) -> dict:
        summary = self.incoming.summary
        return {
            "parent": self.parent.version.pk if self.parent else None,
            "parent_match": self.parent.description if self.parent else "",
            "claim_generator": summary["claim_generator"] if summary else "",
            "edits": edits_describe(summary) if summary else "",
        }


def arrival_read(*, blob: Blob, info: ImageInfo, brief: Brief, find_parent: bool, user) -> Arrival:
    """Read the stored file's manifest and XMP and, with `find_parent`, find the version it came back to (or raise
    assets.parent_matching.ParentUnknown for a person to say)."""
    with blob_open(blob=blob) as handle:
        data = handle.read()
    incoming = incoming_read(data=data, media_type=info.media_type, width=info.width, height=info.height)
    parent = parent_find(incoming=incoming, brief=brief, user=user) if find_parent else None
    return Arrival(incoming=incoming, parent=parent)


def arrival_record(*, arrival: Arrival, version: Version) -> Credential | None:
    """Keep the file's valid manifest store as a Credential of `version`; a manifest Seed already keeps (its own
    export or delivery, or the same file imported before) is not kept twice."""
    incoming = arrival.incoming
    summary, store = incoming.summary, incoming.store
    if summary is None or store is None or not summary["manifest_id"]:
        return None
    if Credential.objects.filter(manifest_id=summary["manifest_id"]).exists():
        return None
    # A flat picture's content code is the same for every flat picture: it would find them all.
    code = None if incoming.flat else incoming.content
    try:
        with transaction.atomic():
            return Credential.objects.create(
                manifest_id=summary["manifest_id"],
                version=version,
                kind=Credential.Kind.IMPORTED,
                store=store,
                file_sha256=version.blob_id,
                media_type=incoming.media_type,
                width=incoming.width,
                height=incoming.height,
                iscc=code.iscc if code else "",
                iscc_image=code.bits if code else None,
                document_id=incoming.xmp.document_id[:100],
                claim_generator=summary["claim_generator"][:200],
            )
    except IntegrityError:  # the same file imported at the same moment elsewhere: its manifest is kept there
        return None
