"""Reads of rights and reproducibility: the licences a version inherits from everything above it, the versions
(and so the deliveries) that inherit a licence, and what the reproducibility watch last found.

Every walk is one recursive statement, as in `assets.selectors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from assets.models import Brief, Licence, ModelWeights, Reference, ReproducibilityCheck, Version
from assets.selectors import _ANCESTORS, _GENERATED, _USED, _descendants_sql

_BY_WEIGHTS = Licence.model_weights.through._meta.db_table
_BY_REFERENCE = Licence.references.through._meta.db_table
_BY_VERSION = Licence.versions.through._meta.db_table
_LICENCE_COLUMNS = ", ".join(f"licence.{f.column}" for f in Licence._meta.concrete_fields)

# One statement: the ancestry walk, then every licence on a model, reference or imported version in it, with
# what carried it in.
_RIGHTS = (
    _ANCESTORS
    + f"""
, inputs AS (
    SELECT DISTINCT used.model_weights_id, used.reference_id
    FROM walk
    JOIN {_GENERATED} gen ON gen.version_id = walk.version_id
    JOIN {_USED} used ON used.derivation_id = gen.derivation_id
    WHERE used.model_weights_id IS NOT NULL OR used.reference_id IS NOT NULL
)
SELECT {_LICENCE_COLUMNS}, 'model_weights' AS source_kind, weights.id AS source_id, weights.name AS source_name
FROM inputs
JOIN {_BY_WEIGHTS} link ON link.modelweights_id = inputs.model_weights_id
JOIN {Licence._meta.db_table} licence ON licence.id = link.licence_id
JOIN {ModelWeights._meta.db_table} weights ON weights.id = inputs.model_weights_id
UNION
SELECT {_LICENCE_COLUMNS}, 'reference', reference.id,
       coalesce(nullif(reference.title, ''), 'reference ' || reference.id)
FROM inputs
JOIN {_BY_REFERENCE} link ON link.reference_id = inputs.reference_id
JOIN {Licence._meta.db_table} licence ON licence.id = link.licence_id
JOIN {Reference._meta.db_table} reference ON reference.id = inputs.reference_id
UNION
SELECT {_LICENCE_COLUMNS}, 'version', walk.version_id, 'imported v' || walk.version_id
FROM walk
JOIN {_BY_VERSION} link ON link.version_id = walk.version_id
JOIN {Licence._meta.db_table} licence ON licence.id = link.licence_id
ORDER BY name, source_kind, source_id
"""
)


@dataclass
class InheritedLicence:
    licence: Licence
    sources: list[dict] = field(default_factory=list)  # [{kind, id, name}] that carried it into the version

    def as_dict(self) -> dict:
        licence = self.licence
        return {
            "id": licence.pk,
            "name": licence.name,
            "spdx_id": licence.spdx_id,
            "commercial_use": licence.commercial_use,
            "attribution": licence.attribution,
            "source_url": licence.source_url,
            "expires_on": licence.expires_on.isoformat() if licence.expires_on else None,
            "via": self.sources,
        }


def version_rights(*, version: Version) -> list[InheritedLicence]:
    """The union of the licences over the version's whole ancestry (itself included), each with what carried it in."""
    found: dict[int, InheritedLicence] = {}
    for row in Licence.objects.raw(_RIGHTS, [version.pk]):
        inherited = found.setdefault(row.pk, InheritedLicence(licence=row))
        inherited.sources.append({"kind": row.source_kind, "id": row.source_id, "name": row.source_name})
    return list(found.values())


def rights_problems(*, rights: list[InheritedLicence], brief: Brief, on: date) -> list[dict]:
    """What the licences forbid for this brief on this day: non-commercial terms on commercial work, or terms
    that have run out. Each problem names the licence and what carried it in."""
    problems = []
    for inherited in rights:
        licence = inherited.licence
        via = ", ".join(f"{source['kind'].replace('_', ' ')} {source['name']}" for source in inherited.sources)
        if brief.commercial_use and not licence.commercial_use:
            problems.append(
                {
                    "licence": licence.pk,
                    "problem": "non_commercial",
                    "detail": f"{licence.name} does not allow commercial use, and {brief.title} is commercial "
                    f"work (inherited through {via})",
                }
            )
        if licence.expires_on is not None and licence.expires_on < on:
            problems.append(
                {
                    "licence": licence.pk,
                    "problem": "expired",
                    "detail": f"{licence.name} expired on {licence.expires_on:%Y-%m-%d}, before "
                    f"{on:%Y-%m-%d} (inherited through {via})",
                }
            )
    return problems


def versions_inheriting(*, licences: list[int]) -> QuerySet[Version]:
    """Every version that any of `licences` reached: made with a licensed model or reference however far up, or
    an imported image under them and all that was made from it."""
    seeds = f"""
    SELECT version_id FROM (
        SELECT gen.version_id FROM {_USED} used JOIN {_GENERATED} gen ON gen.derivation_id = used.derivation_id
        WHERE used.model_weights_id IN (SELECT modelweights_id FROM {_BY_WEIGHTS} WHERE licence_id = ANY(%s))
           OR used.reference_id IN (SELECT reference_id FROM {_BY_REFERENCE} WHERE licence_id = ANY(%s))
        UNION
        SELECT version_id FROM {_BY_VERSION} WHERE licence_id = ANY(%s)
    ) seeds
    """
    ids = list(licences)
    return Version.objects.filter(pk__in=RawSQL(_descendants_sql(seeds), (ids, ids, ids)))


def licences_expiring(*, on: date, within_days: int) -> QuerySet[Licence]:
    """Licences that have run out or will within `within_days` of `on`, soonest first."""
    return Licence.objects.filter(expires_on__isnull=False, expires_on__lte=on + timedelta(days=within_days)).order_by(
        "expires_on"
    )


def reproducibility_latest(*, version: Version) -> ReproducibilityCheck | None:
    return ReproducibilityCheck.objects.filter(version=version).first()


def with_reproducibility(versions: QuerySet[Version]) -> QuerySet[Version]:
    """Each version annotated with its latest check's verdict and date (None: never checked)."""
    latest = ReproducibilityCheck.objects.filter(version=OuterRef("pk")).order_by("-checked_at", "-id")
    return versions.annotate(
        reproducibility=Subquery(latest.values("verdict")[:1]),
        reproducibility_checked_at=Subquery(latest.values("checked_at")[:1]),
    )
