"""A derivation's recipe, read from its used edges in one place, and the one diff of two recipes.

The worker runs from a `Recipe`, reproduce re-runs one, exports and deliveries write one out, the review compares
versions' recipes along their chains and a grid compares its cells': every one of them reads the roles here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import prefetch_related_objects

from assets.errors import ApplicationError
from assets.models import Blob, Derivation, ModelWeights, Prompt, Used
from assets.prompt_syntax import SYNTAX_DIFFUSERS, prompt_directives
from assets.rows import columns_sql, instance_from_row
from assets.services.runs import ClaimRead


@dataclass
class Recipe:
    derivation: Derivation
    # None only on a step that is no generation (an import, a grade, an upscale): recipe_of refuses such a step.
    prompt: Prompt | None
    base: ModelWeights | None
    loras: list[tuple[ModelWeights, float]] = field(default_factory=list)
    controlnet: ModelWeights | None = None
    vae: ModelWeights | None = None
    init: Used | None = None
    control: Used | None = None
    mask: Blob | None = None
    ip_adapter: ModelWeights | None = None
    image_encoder: ModelWeights | None = None
    guide: Blob | None = None
    references: list[Used] = field(default_factory=list)

    @property
    def image_prompts(self) -> list[Used | Blob]:
        """What the IP-Adapter looks at, in a fixed order (the palette guide, then the references by position); none
        without one: references a recipe only recorded never condition it."""
        if self.ip_adapter is None:
            return []
        return ([self.guide] if self.guide is not None else []) + self.references

    @property
    def op(self) -> str:
        return self.derivation.op

    @property
    def prompt_syntax(self) -> str:
        return self.params.get("prompt_syntax", SYNTAX_DIFFUSERS)

    @property
    def prompt_text(self) -> str:
        """The text the encoders read: without the LoRA tags and aspect the recipe's edges and size already hold; in
        diffusers' syntax (recipes from before prompt syntax was recorded) the text as it was encoded."""
        if "prompt_read" in self.params:
            return self.params["prompt_read"]
        if self.prompt_syntax == SYNTAX_DIFFUSERS:
            return self.prompt.text
        return prompt_directives(self.prompt.text).text

    @property
    def params(self) -> dict:
        return self.derivation.params


def recipe_build(*, derivation: Derivation, edges: list[Used]) -> Recipe:
    """The recipe of `derivation` from its used edges, in role and position order, with their targets loaded (a
    LineageGraph's inputs, a prefetch, or recipe_of's own read): no query of its own."""
    by_role: dict[str, list[Used]] = {}
    for edge in edges:
        by_role.setdefault(edge.role, []).append(edge)

    def first(role: str) -> Used | None:
        return by_role.get(role, [None])[0]

    def target(role: str, attribute: str):
        edge = first(role)
        return getattr(edge, attribute) if edge is not None else None

    return Recipe(
        derivation=derivation,
        prompt=target(Used.Role.PROMPT, "prompt"),
        base=target(Used.Role.BASE_MODEL, "model_weights"),
        loras=[(edge.model_weights, edge.weight) for edge in by_role.get(Used.Role.LORA, [])],
        controlnet=target(Used.Role.CONTROLNET, "model_weights"),
        vae=target(Used.Role.VAE, "model_weights"),
        init=first(Used.Role.INIT_IMAGE),
        control=first(Used.Role.CONTROL_IMAGE),
        mask=target(Used.Role.MASK, "blob"),
        ip_adapter=target(Used.Role.IP_ADAPTER, "model_weights"),
        image_encoder=target(Used.Role.IMAGE_ENCODER, "model_weights"),
        guide=target(Used.Role.GUIDE_IMAGE, "blob"),
        references=by_role.get(Used.Role.REFERENCE, []),
    )


def _edges_columns() -> str:
    return f"{columns_sql(Used, 'u')}, {columns_sql(Prompt, 'p')}, {columns_sql(ModelWeights, 'w')}"


def _edges_joins(derivation_id: str) -> str:
    return (
        f"LEFT JOIN {Used._meta.db_table} u ON u.derivation_id = {derivation_id} "
        f"LEFT JOIN {Prompt._meta.db_table} p ON p.id = u.prompt_id "
        f"LEFT JOIN {ModelWeights._meta.db_table} w ON w.id = u.model_weights_id "
        "ORDER BY u.role, u.position"
    )


@functools.cache
def _edges_sql() -> str:
    return f"SELECT {_edges_columns()} FROM (SELECT %s::bigint AS id) d {_edges_joins('d.id')}"


def _edges_from_rows(derivation: Derivation, rows: list[tuple]) -> list[Used]:
    first = len(Used._meta.concrete_fields)
    second = first + len(Prompt._meta.concrete_fields)
    edges = []
    for row in rows:
        if row[0] is None:  # the derivation joined no edge
            continue
        edge = instance_from_row(Used, row[:first])
        if edge.prompt_id is not None:
            edge.prompt = instance_from_row(Prompt, row[first:second])
        if edge.model_weights_id is not None:
            edge.model_weights = instance_from_row(ModelWeights, row[second:])
        edge.derivation = derivation
        edges.append(edge)
    return edges


def _edges_attach(derivation: Derivation, rows: list[tuple]) -> None:
    derivation._recipe_edges = _edges_from_rows(derivation, rows)


@functools.cache
def recipe_claim_read() -> ClaimRead:
    """The recipe's edges read in the worker's claim of the derivation (run_claim's `read`), for recipe_of."""
    return ClaimRead(select=_edges_columns(), tail=_edges_joins("claimed.id"), attach=_edges_attach)


def _recipe_edges(derivation: Derivation) -> list[Used]:
    """The derivation's used edges with their prompt and weights, in one query written by hand: on the worker the
    ORM's compiling and hydrating cost about ten times the round trip it is sent in, once per job; the worker's claim
    reads them in its own round trip instead (recipe_claim_read)."""
    claimed = getattr(derivation, "_recipe_edges", None)
    if claimed is not None:
        return claimed
    with connection.cursor() as cursor:
        cursor.execute(_edges_sql(), [derivation.pk])
        return _edges_from_rows(derivation, cursor.fetchall())


def recipe_of(*, derivation: Derivation) -> Recipe:
    """The recipe a generation runs with, read on its own or with the worker's claim; refused when it lacks a prompt
    or a base model."""
    # Every recipe has a prompt and weights; images are rarer inputs, and a seven-table join costs the
    # planner more than the worker's whole bookkeeping, so they come by prefetch, only when there are some.
    edges = _recipe_edges(derivation)
    if any(edge.version_id or edge.reference_id or edge.blob_id for edge in edges):
        prefetch_related_objects(edges, "version__blob", "reference__blob", "blob")
    recipe = recipe_build(derivation=derivation, edges=edges)
    for role, found in ((Used.Role.PROMPT, recipe.prompt), (Used.Role.BASE_MODEL, recipe.base)):
        if found is None:
            raise ApplicationError(f"derivation {derivation.pk} has no recorded {role}: it cannot be run")
    return recipe


def recipe_fields_diff(*, before: dict, after: dict) -> list[dict]:
    """Every field that differs between two recipes laid out as fields, as {field, before, after}: in the fields'
    own order, a nested dict (parameters) key by key in sorted order."""
    rows = []
    for name in dict.fromkeys([*before, *after]):
        old, new = before.get(name), after.get(name)
        if isinstance(old, dict) or isinstance(new, dict):
            old, new = old or {}, new or {}
            rows += [
                {"field": key, "before": old.get(key), "after": new.get(key)}
                for key in sorted(set(old) | set(new))
                if old.get(key) != new.get(key)
            ]
        elif old != new:
            rows.append({"field": name, "before": old, "after": new})
    return rows
