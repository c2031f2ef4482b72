from __future__ import annotations

import re
import unicodedata

from django.utils import timezone

from assets.errors import ApplicationError
from assets.models import Brief, Derivation, Phase, Reference, Used, Version
from assets.services.arrivals import arrival_read, arrival_record
from assets.services.blobs import image_ingest
from assets.services.derivations import UsedInput, derivation_create, derivation_finish, derivation_output_add
from assets.services.licences import licences_attach


def source_name_clean(name: str) -> str:
    """Keep a user's file name as a label only: no folders, no control characters, bounded length."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C")
    return base.strip()[:200]


def version_import(
    *,
    brief: Brief,
    source,
    parents: list[Version] = (),
    references: list[Reference | Version] = (),
    note: str = "",
    phase: str = Phase.PRODUCTION,
    label: str = "",
    licences: list = (),
    created_by=None,
    find_parent: bool = False,
) -> Version:
    """An outside file (a retouch, a photo, an agency comp) enters the graph as an import derivation.

    `references` may hold mood-board references or versions from the client's "maybe later" pool;
    either is recorded as used in the role of a reference. With `find_parent` and no `parents`, a retouch brought
    back is attached to the version it was made from (assets.parent_matching), or refused with ParentUnknown.
    What the file's C2PA manifest says is recorded, and the manifest kept (assets.services.arrivals).
    """
    if phase not in Phase.values:
        raise ApplicationError(f"unknown phase {phase!r}; choose one of {', '.join(Phase.values)}")
    started_at = timezone.now()
    params = {"source": source_name_clean(getattr(source, "name", "") or "")}
    if note:
        params["note"] = note
    if not params["source"]:
        params.pop("source")
    inputs = [UsedInput(role=Used.Role.PARENT, target=parent, position=i) for i, parent in enumerate(parents)]
    inputs += [
        UsedInput(role=Used.Role.REFERENCE, target=reference, position=i) for i, reference in enumerate(references)
    ]
    with image_ingest(source=source) as (blob, info):
        find = find_parent and not parents
        arrival = arrival_read(blob=blob, info=info, brief=brief, find_parent=find, user=created_by)
        derivation = derivation_create(
            brief=brief,
            op="import",
            phase=phase,
            params={**params, **arrival.params},
            inputs=[*arrival.inputs, *inputs],
            state=Derivation.State.RUNNING,
            created_by=created_by,
        )
        version = Version.objects.create(
            brief=brief,
            blob=blob,
            width=info.width,
            height=info.height,
            format=info.format,
            label=label[:200],
        )
        derivation_output_add(derivation=derivation, version=version)
        derivation_finish(derivation=derivation, started_at=started_at)
        arrival_record(arrival=arrival, version=version)
        if licences:
            licences_attach(licences=licences, versions=[version], actor=created_by)
    return version
