"""Licences on the inputs that carry rights: model weights, references (stock photos) and imported images.

Every change is audited: a delivery's rights check reads these rows, so who said a LoRA may be used
commercially, and when, must be on record.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from assets.errors import ApplicationError
from assets.models import Licence, ModelWeights, Reference, Version
from assets.services.audit import audit_event_append

ATTACHABLE = ("model_weights", "references", "versions")


def licence_find(*, term: str) -> Licence:
    """A licence named by its SPDX id or its name (either case), or a clear error listing the known ones."""
    term = (term or "").strip()
    found = list(Licence.objects.filter(Q(spdx_id__iexact=term) | Q(name__iexact=term))[:2]) if term else []
    if len(found) == 1:
        return found[0]
    known = ", ".join(Licence.objects.values_list("name", flat=True)[:20]) or "none yet"
    if found:
        raise ApplicationError(f"{term!r} names more than one licence; use its exact name (known: {known})")
    raise ApplicationError(
        f"no licence {term!r}; add it in the admin (Licences) or POST /api/licences/ first (known: {known})",
        extra={"code": "unknown_licence"},
    )


def imports_only_check(versions) -> None:
    """Refuse versions made in Seed: they inherit their licences from their inputs."""
    others = [
        v.pk
        for v in Version.objects.filter(pk__in=[v.pk for v in versions]).exclude(generated_by__derivation__op="import")
    ]
    if others:
        raise ApplicationError(
            f"version(s) {', '.join(map(str, sorted(others)))} were made in Seed: a licence attaches to "
            "what brought rights in (model weights, references, imported images), and versions made "
            "from them inherit it",
            extra={"code": "not_imported", "versions": others},
        )


def licence_save(*, values: dict, licence: Licence | None = None, actor=None) -> Licence:
    """Create (`licence` None or unsaved) or change a licence and, for the attachment lists given in `values`, set
    what it covers."""
    attached = {key: list(values.pop(key)) for key in ATTACHABLE if key in values}
    imports_only_check(attached.get("versions", []))
    adding = licence is None or licence.pk is None
    licence = licence if licence is not None else Licence()
    for key, value in values.items():
        setattr(licence, key, value)
    with transaction.atomic():
        if adding:
            licence.save()
        else:
            licence.save(update_fields=[*values, "updated_at"])
        kind = "licence.created" if adding else "licence.changed"
        for key, targets in attached.items():
            getattr(licence, key).set(targets)
        audit_event_append(
            kind=kind,
            object_type="licence",
            object_id=licence.pk,
            actor=actor,
            payload={
                "name": licence.name,
                "spdx_id": licence.spdx_id,
                "commercial_use": licence.commercial_use,
                "expires_on": licence.expires_on.isoformat() if licence.expires_on else None,
                **{key: sorted(target.pk for target in targets) for key, targets in attached.items()},
            },
        )
    return licence


def licences_attach(
    *,
    licences: list[Licence],
    model_weights: list[ModelWeights] = (),
    references: list[Reference] = (),
    versions: list[Version] = (),
    actor=None,
) -> None:
    """Add coverage (never remove it): `register_model --licence`, an import with licences."""
    imports_only_check(versions)
    with transaction.atomic():
        for licence in licences:
            licence.model_weights.add(*model_weights)
            licence.references.add(*references)
            licence.versions.add(*versions)
            audit_event_append(
                kind="licence.attached",
                object_type="licence",
                object_id=licence.pk,
                actor=actor,
                payload={
                    "model_weights": [w.pk for w in model_weights],
                    "references": [r.pk for r in references],
                    "versions": [v.pk for v in versions],
                },
            )
