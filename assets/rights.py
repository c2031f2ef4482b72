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
from assets.selectors import _GENERATED, _USED, _WEIGHTS, _and_lora_uses, _descendants_sql

_BY_WEIGHTS = Licence.model_weights.through._meta.db_table
_BY_REFERENCE = Licence.references.through._meta.db_table
_BY_VERSION = Licence.versions.through._meta.db_table
_LICENCE_COLUMNS = ", ".join(f"licence.{f.column}" for f in Licence._meta.concrete_fields)


def _and_lora_trainings(derivation: str) -> str:
    """A lateral join naming, as `made`, the derivation `derivation` and the training of every LoRA it used (with the
    LoRA, its carrier): rights come down through a LoRA from what it learned from. Not in `assets.selectors`'
    ancestry, which draws the picture of how an image was made."""
    return f"""CROSS JOIN LATERAL (
        SELECT {derivation} AS derivation_id, NULL::bigint AS lora_id
        UNION
        SELECT trained.trained_by_id, trained.id
        FROM {_USED} lora_use
        JOIN {_WEIGHTS} trained ON trained.id = lora_use.model_weights_id AND trained.trained_by_id IS NOT NULL
        WHERE lora_use.derivation_id = {derivation}
    ) made"""


# The ancestry walk through trainings: each version above with the outermost LoRA it came in through (NULL: made
# straight into the lineage), the derivations that made them, and what those used. `{seed}` gives the first
# (version, LoRA) rows and `{steps}` any derivation that is no version's maker (a LoRA's own training).
_RIGHTS_WALK = f"""
WITH RECURSIVE walk(version_id, lora_id) AS (
    {{seed}}
    UNION
    SELECT used.version_id, coalesce(walk.lora_id, made.lora_id)
    FROM walk
    JOIN {_GENERATED} gen ON gen.version_id = walk.version_id
    {_and_lora_trainings("gen.derivation_id")}
    JOIN {_USED} used ON used.derivation_id = made.derivation_id AND used.version_id IS NOT NULL
), steps AS (
    SELECT made.derivation_id, coalesce(walk.lora_id, made.lora_id) AS lora_id
    FROM walk
    JOIN {_GENERATED} gen ON gen.version_id = walk.version_id
    {_and_lora_trainings("gen.derivation_id")}
    {{steps}}
), inputs AS (
    SELECT DISTINCT used.model_weights_id, used.reference_id, steps.lora_id
    FROM steps
    JOIN {_USED} used ON used.derivation_id = steps.derivation_id
    WHERE used.model_weights_id IS NOT NULL OR used.reference_id IS NOT NULL
)
"""

# One statement: the walk, then every licence on a model, reference or imported version in it, with what carried it
# in and the LoRA it came through.
_RIGHTS_FOUND = f"""
SELECT {_LICENCE_COLUMNS}, 'model_weights' AS source_kind, weights.id AS source_id, weights.name AS source_name,
       inputs.lora_id AS lora_id, carrier.name AS lora_name
FROM inputs
JOIN {_BY_WEIGHTS} link ON link.modelweights_id = inputs.model_weights_id
JOIN {Licence._meta.db_table} licence ON licence.id = link.licence_id
JOIN {_WEIGHTS} weights ON weights.id = inputs.model_weights_id
LEFT JOIN {_WEIGHTS} carrier ON carrier.id = inputs.lora_id
UNION
SELECT {_LICENCE_COLUMNS}, 'reference', reference.id,
       coalesce(nullif(reference.title, ''), 'reference ' || reference.id), inputs.lora_id, carrier.name
FROM inputs
JOIN {_BY_REFERENCE} link ON link.reference_id = inputs.reference_id
JOIN {Licence._meta.db_table} licence ON licence.id = link.licence_id
JOIN {Reference._meta.db_table} reference ON reference.id = inputs.reference_id
LEFT JOIN {_WEIGHTS} carrier ON carrier.id = inputs.lora_id
UNION
SELECT {_LICENCE_COLUMNS}, 'version', walk.version_id, 'imported v' || walk.version_id, walk.lora_id, carrier.name
FROM walk
JOIN {_BY_VERSION} link ON link.version_id = walk.version_id
JOIN {Licence._meta.db_table} licence ON licence.id = link.licence_id
LEFT JOIN {_WEIGHTS} carrier ON carrier.id = walk.lora_id
ORDER BY name, source_kind, source_id, lora_id NULLS FIRST
"""

_RIGHTS = _RIGHTS_WALK.format(seed="SELECT %s::bigint, NULL::bigint", steps="") + _RIGHTS_FOUND

# A LoRA's own training: its images (carried by it) and the training derivation, which used the base model.
_LORA_RIGHTS = (
    _RIGHTS_WALK.format(
        seed=f"""SELECT used.version_id, trained.id
        FROM {_WEIGHTS} trained
        JOIN {_USED} used ON used.derivation_id = trained.trained_by_id AND used.version_id IS NOT NULL
        WHERE trained.id = %s""",
        steps=f"UNION SELECT trained_by_id, id FROM {_WEIGHTS} WHERE id = %s AND trained_by_id IS NOT NULL",
    )
    + _RIGHTS_FOUND
)


@dataclass
class InheritedLicence:
    licence: Licence
    # [{kind, id, name}] that carried it into the version, with "lora": {id, name} where it came through a LoRA's
    # training.
    sources: list[dict] = field(default_factory=list)

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
    """The union of the licences over the version's whole ancestry (itself included), through the training of any
    LoRA in it, each with what carried it in."""
    return _inherited(_RIGHTS, [version.pk])


def lora_training_rights(*, weights: ModelWeights) -> list[InheritedLicence]:
    """The licences a LoRA trained here carries from its training: its images' and their ancestry's, and its base
    model's (not the LoRA file's own licences). Nothing for a LoRA registered from outside."""
    return _inherited(_LORA_RIGHTS, [weights.pk, weights.pk])


def _inherited(sql: str, params: list) -> list[InheritedLicence]:
    found: dict[int, InheritedLicence] = {}
    for row in Licence.objects.raw(sql, params):
        inherited = found.setdefault(row.pk, InheritedLicence(licence=row))
        source = {"kind": row.source_kind, "id": row.source_id, "name": row.source_name}
        if row.lora_id is not None:
            source["lora"] = {"id": row.lora_id, "name": row.lora_name}
        inherited.sources.append(source)
    return list(found.values())


def source_label(source: dict) -> str:
    """How a licence came in, for a person: "reference stock beach (through the LoRA Aurora style)"."""
    label = f"{source['kind'].replace('_', ' ')} {source['name']}"
    return f"{label} (through the LoRA {source['lora']['name']})" if "lora" in source else label


def rights_problems(*, rights: list[InheritedLicence], brief: Brief, on: date) -> list[dict]:
    """What the licences forbid for this brief on this day: non-commercial terms on commercial work, or terms
    that have run out. Each problem names the licence and what carried it in."""
    problems = []
    for inherited in rights:
        licence = inherited.licence
        via = ", ".join(source_label(source) for source in inherited.sources)
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
    an imported image under them and all that was made from it, through the LoRAs trained on any of it too."""
    seeds = f"""
    SELECT version_id FROM (
        SELECT gen.version_id FROM {_USED} used {_and_lora_uses("used.derivation_id")}
        JOIN {_GENERATED} gen ON gen.derivation_id = made.derivation_id
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
