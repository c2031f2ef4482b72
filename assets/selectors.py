"""Reads of the lineage core. Graph walks are single recursive SQL statements, never Python loops.

`UNION` (not `UNION ALL`) in the recursive part de-duplicates rows, so a DAG whose branches
share ancestors terminates and visits each version once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.where import WhereNode

from assets.models import (
    Brief,
    Campaign,
    Client,
    Derivation,
    DerivedFile,
    Generated,
    ModelWeights,
    Prompt,
    Reference,
    Used,
    Version,
)

_USED = Used._meta.db_table
_GENERATED = Generated._meta.db_table

_ANCESTORS = f"""
WITH RECURSIVE walk(version_id) AS (
    SELECT %s::bigint
    UNION
    SELECT used.version_id
    FROM walk
    JOIN {_GENERATED} gen ON gen.version_id = walk.version_id
    JOIN {_USED} used ON used.derivation_id = gen.derivation_id AND used.version_id IS NOT NULL
)
"""

_WEIGHTS = ModelWeights._meta.db_table


def _and_lora_uses(derivation: str) -> str:
    """A lateral join naming, as `made.derivation_id`, the derivation `derivation` and every derivation that used the
    LoRA it trained: what an image went into goes on through a LoRA learned from it. A lateral union keeps the
    recursive walk to the one reference of itself Postgres allows."""
    return f"""CROSS JOIN LATERAL (
        SELECT {derivation} AS derivation_id
        UNION
        SELECT lora_use.derivation_id
        FROM {_WEIGHTS} trained
        JOIN {_USED} lora_use ON lora_use.model_weights_id = trained.id
        WHERE trained.trained_by_id = {derivation}
    ) made"""


_DESCENDANTS_FROM = f"""
WITH RECURSIVE walk(version_id) AS (
    {{seed}}
    UNION
    SELECT gen.version_id
    FROM walk
    JOIN {_USED} used ON used.version_id = walk.version_id
    {_and_lora_uses("used.derivation_id")}
    JOIN {_GENERATED} gen ON gen.derivation_id = made.derivation_id
)
SELECT version_id FROM walk
"""


def _descendants_sql(seed_sql: str) -> str:
    return _DESCENDANTS_FROM.format(seed=seed_sql)


def version_ancestry(*, version: Version) -> QuerySet[Version]:
    """Every version above `version` (itself excluded), in one SQL statement."""
    sql = _ANCESTORS + "SELECT version_id FROM walk WHERE version_id <> %s"
    return Version.objects.filter(pk__in=RawSQL(sql, (version.pk, version.pk)))


def ancestors_among(*, versions: list[int], candidates: list[int]) -> dict[int, list[int]]:
    """For each of `versions`, its ancestors that are among `candidates`, nearest (highest id) first: one statement."""
    if not versions or not candidates:
        return {}
    sql = f"""
    WITH RECURSIVE walk(start_id, version_id) AS (
        SELECT id, id FROM {Version._meta.db_table} WHERE id = ANY(%s)
        UNION
        SELECT walk.start_id, used.version_id
        FROM walk
        JOIN {_GENERATED} gen ON gen.version_id = walk.version_id
        JOIN {_USED} used ON used.derivation_id = gen.derivation_id AND used.version_id IS NOT NULL
    )
    SELECT start_id, version_id FROM walk WHERE version_id <> start_id AND version_id = ANY(%s) ORDER BY version_id DESC
    """
    found: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(versions), list(candidates)])
        for start, ancestor in cursor.fetchall():
            found.setdefault(start, []).append(ancestor)
    return found


def version_descendants(*, version: Version) -> QuerySet[Version]:
    """Every version derived from `version`, directly or not, through LoRAs trained on it too ("what did we ship
    from this?")."""
    sql = _descendants_sql("SELECT %s::bigint") + " WHERE version_id <> %s"
    return Version.objects.filter(pk__in=RawSQL(sql, (version.pk, version.pk)))


def _impact(column: str, pk: int) -> QuerySet[Version]:
    seed = (
        f"SELECT gen.version_id FROM {_USED} used {_and_lora_uses('used.derivation_id')} "
        f"JOIN {_GENERATED} gen ON gen.derivation_id = made.derivation_id WHERE used.{column} = %s"
    )
    return Version.objects.filter(pk__in=RawSQL(_descendants_sql(seed), (pk,)))


def versions_using_model_weights(*, weights: ModelWeights) -> QuerySet[Version]:
    """Every version that a base model / LoRA / VAE / upscaler went into, however far down (a base model trained a
    LoRA goes into what the LoRA made)."""
    return _impact("model_weights_id", weights.pk)


def versions_using_reference(*, reference: Reference) -> QuerySet[Version]:
    return _impact("reference_id", reference.pk)


def versions_using_prompt(*, prompt: Prompt) -> QuerySet[Version]:
    return _impact("prompt_id", prompt.pk)


@dataclass
class LineageGraph:
    root: Version
    versions: dict[int, Version] = field(default_factory=dict)
    derivations: dict[int, Derivation] = field(default_factory=dict)
    generated: list[Generated] = field(default_factory=list)
    used: list[Used] = field(default_factory=list)
    # Recorded masks among the inputs, by blob: a mask is used by its bytes, and this names where it came from.
    masks: dict[str, DerivedFile] = field(default_factory=dict)

    @cached_property
    def made_by(self) -> dict[int, Generated]:
        """The generated edge of each version in the graph: which derivation made it, at which batch index."""
        return {edge.version_id: edge for edge in self.generated}

    @cached_property
    def inputs(self) -> dict[int, list[Used]]:
        """The used edges of each derivation, in role and position order."""
        inputs: dict[int, list[Used]] = {}
        for edge in self.used:
            inputs.setdefault(edge.derivation_id, []).append(edge)
        return inputs

    def chain(self, version_id: int | None = None) -> list[Derivation]:
        """The derivations above a version in the order they ran: every input's maker before what used it."""
        order: list[Derivation] = []
        seen: set[int] = set()

        def visit(current: int) -> None:
            edge = self.made_by.get(current)
            if edge is None or edge.derivation_id in seen:
                return
            seen.add(edge.derivation_id)
            for used in self.inputs.get(edge.derivation_id, []):
                # A training's images taught its LoRA; they are not the pixels its samples were made from.
                if used.version_id and used.role != Used.Role.TRAINING_IMAGE:
                    visit(used.version_id)
            order.append(self.derivations[edge.derivation_id])

        visit(self.root.pk if version_id is None else version_id)
        return order

    def as_dict(self) -> dict:
        """Nodes and edges, ready for JSON (API and CLI)."""
        nodes = [_version_node(version) for version in self.versions.values()]
        nodes += [_derivation_node(derivation) for derivation in self.derivations.values()]
        side = {}
        edges = []
        for edge in self.generated:
            edges.append(
                {
                    "from": f"derivation:{edge.derivation_id}",
                    "to": f"version:{edge.version_id}",
                    "type": "generated",
                    "role": edge.role,
                    "index": edge.index,
                }
            )
        for edge in self.used:
            target_id = used_node_id(edge)
            if not target_id.startswith("version:"):
                side[target_id] = _side_node(edge, mask=self.masks.get(edge.blob_id))
            edges.append(
                {
                    "from": target_id,
                    "to": f"derivation:{edge.derivation_id}",
                    "type": "used",
                    "role": edge.role,
                    "position": edge.position,
                    "weight": edge.weight,
                }
            )
        return {"root": f"version:{self.root.pk}", "nodes": nodes + list(side.values()), "edges": edges}


def used_node_id(edge: Used) -> str:
    for prefix, column in (
        ("version", "version_id"),
        ("reference", "reference_id"),
        ("prompt", "prompt_id"),
        ("model", "model_weights_id"),
        ("blob", "blob_id"),
    ):
        value = getattr(edge, column)
        if value is not None:
            return f"{prefix}:{value}"
    raise ValueError(f"used edge {edge.pk} has no target")


def _version_node(version: Version) -> dict:
    return {
        "id": f"version:{version.pk}",
        "type": "version",
        "pk": version.pk,
        "sha256": version.blob_id,
        "width": version.width,
        "height": version.height,
        "format": version.format,
        "seed": version.seed,
        "status": version.status,
        "triage": version.triage,
        "brief": version.brief_id,
    }


def _derivation_node(derivation: Derivation) -> dict:
    return {
        "id": f"derivation:{derivation.pk}",
        "type": "derivation",
        "pk": derivation.pk,
        "op": derivation.op,
        "phase": derivation.phase,
        "params": derivation.params,
        "state": derivation.state,
        "environment": derivation.environment,
        "wall_seconds": derivation.wall_seconds,
        "gpu_seconds": derivation.gpu_seconds,
        "created_at": derivation.created_at.isoformat(),
    }


def _side_node(edge: Used, *, mask: DerivedFile | None = None) -> dict:
    node_id = used_node_id(edge)
    if edge.reference_id:
        ref = edge.reference
        return {"id": node_id, "type": "reference", "pk": ref.pk, "title": ref.title, "sha256": ref.blob_id}
    if edge.prompt_id:
        prompt = edge.prompt
        return {
            "id": node_id,
            "type": "prompt",
            "pk": prompt.pk,
            "text": prompt.text,
            "negative_text": prompt.negative_text,
            "values": prompt.values,
            "template": prompt.template_id,
        }
    if edge.model_weights_id:
        weights = edge.model_weights
        return {
            "id": node_id,
            "type": "model",
            "pk": weights.pk,
            "kind": weights.kind,
            "name": weights.name,
            "architecture": weights.architecture,
            "sha256": weights.sha256,
        }
    node = {"id": node_id, "type": "blob", "sha256": edge.blob_id}
    if mask is not None:
        node["mask"] = {"id": mask.pk, "source": mask.source_id, "derivation": mask.derivation_id, "label": mask.label}
    return node


def lineage_graph(*, version: Version) -> LineageGraph:
    """The ancestry of `version` as nodes and edges, in a fixed number of queries whatever its depth.

    One recursive statement finds the edges; three bulk reads hydrate versions, derivations and
    the inputs' entities.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _ANCESTORS
            + f"""
            SELECT gen.id, used.id
            FROM walk
            JOIN {_GENERATED} gen ON gen.version_id = walk.version_id
            LEFT JOIN {_USED} used ON used.derivation_id = gen.derivation_id
            """,
            (version.pk,),
        )
        rows = cursor.fetchall()
    generated_ids = {row[0] for row in rows}
    used_ids = {row[1] for row in rows if row[1] is not None}
    generated = list(
        Generated.objects.filter(pk__in=generated_ids).select_related("derivation").order_by("derivation_id", "index")
    )
    used = list(
        Used.objects.filter(pk__in=used_ids)
        .select_related("reference", "prompt", "model_weights", "blob")
        .order_by("derivation_id", "role", "position")
    )
    version_ids = (
        {edge.version_id for edge in generated} | {edge.version_id for edge in used if edge.version_id} | {version.pk}
    )
    graph = LineageGraph(root=version, generated=generated, used=used)
    graph.versions = {v.pk: v for v in Version.objects.filter(pk__in=version_ids).order_by("pk")}
    graph.derivations = {edge.derivation_id: edge.derivation for edge in generated}
    mask_blobs = {edge.blob_id for edge in used if edge.role == Used.Role.MASK and edge.blob_id}
    if mask_blobs:
        found = DerivedFile.objects.filter(blob_id__in=mask_blobs, kind=DerivedFile.Kind.MASK).select_related(
            "derivation"
        )
        # The first recorded file of those bytes names them (the same bytes may be recorded twice).
        graph.masks = {item.blob_id: item for item in found.order_by("-pk")}
    return graph


def briefs_list() -> QuerySet[Brief]:
    return Brief.objects.select_related("campaign__client", "created_by")


def versions_list() -> QuerySet[Version]:
    return Version.objects.select_related("brief__campaign__client", "generated_by__derivation")


SEARCH_CONFIG = "english"


def weights_matching(*, term: str) -> QuerySet[ModelWeights]:
    """Weights named by a full sha256, its 10-hex AutoV2 prefix (A1111's model hash) or 12-hex LoRA short hash, or
    their name."""
    term = term.strip().lower()
    if re.fullmatch(r"[0-9a-f]{64}", term):
        return ModelWeights.objects.filter(sha256=term)
    if re.fullmatch(r"[0-9a-f]{10}|[0-9a-f]{12}", term):
        return ModelWeights.objects.filter(Q(sha256__startswith=term) | Q(name__iexact=term))
    return ModelWeights.objects.filter(name__icontains=term)


def versions_made_with(*, versions: QuerySet[Version], term: str, roles: tuple[str, ...]) -> QuerySet[Version]:
    """Versions whose own recipe (the derivation that made them) used matching weights in one of `roles`; asked too,
    the search row's copy of the recipe's weights lets a text search meet the model inside its GIN index."""
    weights = weights_matching(term=term)
    used = Used.objects.filter(
        derivation=OuterRef("generated_by__derivation"), role__in=roles, model_weights__in=weights
    )
    # The ids, not a subquery: Postgres weighs a list by the column's statistics, and would guess a subquery's size.
    return versions.filter(Exists(used), search__model_weights__overlap=list(weights.values_list("pk", flat=True)))


def versions_matching_text(*, versions: QuerySet[Version], text: str, internal: bool) -> QuerySet[Version]:
    """Full-text match over prompts, negative prompts, notes and decision comments, best first (web-search syntax:
    "quoted phrases", -excluded, or). Without `internal` (a client's search) only the recipe is searched, and only of
    clients the studio shares the lineage with: the discussion document holds every round's non-internal notes and
    comments, internal rounds' among them, which a client may not read."""
    query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
    if _names_briefs(versions):
        # Always true (the search row copies its version's brief), it lets Postgres take the scope into the GIN index
        # with the words, so it reads and ranks only the matches inside it: the same page, found first. Unscoped,
        # Postgres would count it as a filter and misjudge how many rows it ranks.
        versions = versions.filter(search__brief=F("brief"))
    if internal:
        matched = versions.filter(search__document=query)
        rank = SearchRank(F("search__document"), query)
    else:
        matched = versions.filter(search__recipe=query, brief__campaign__client__shares_lineage=True)
        rank = SearchRank(F("search__recipe"), query)
    return matched.annotate(rank=rank).order_by("-rank", "-id")


def _names_briefs(versions: QuerySet[Version]) -> bool:
    """Whether the filters of `versions` say which briefs: a brief, campaign or client, or those a member may see."""
    nodes, scope = [versions.query.where], (Brief, Campaign, Client)
    while nodes:
        node = nodes.pop()
        nodes += [child for child in node.children if isinstance(child, WhereNode)]
        targets = [getattr(getattr(child, "lhs", None), "target", None) for child in node.children]
        if any(t is Version._meta.get_field("brief") or getattr(t, "model", None) in scope for t in targets):
            return True
    return False
