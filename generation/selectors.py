"""Reads for generation: a derivation's recipe from its lineage, and job progress."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import prefetch_related_objects

from assets.errors import ApplicationError
from assets.models import Blob, Derivation, ModelWeights, Prompt, Used
from assets.rows import columns_sql, instance_from_row
from generation.models import GenerationJob


@dataclass
class Recipe:
    derivation: Derivation
    prompt: Prompt
    base: ModelWeights
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
    def params(self) -> dict:
        return self.derivation.params


@functools.cache
def _edges_sql() -> str:
    return (f"SELECT {columns_sql(Used, 'u')}, {columns_sql(Prompt, 'p')}, {columns_sql(ModelWeights, 'w')} "
            f"FROM {Used._meta.db_table} u "
            f"LEFT JOIN {Prompt._meta.db_table} p ON p.id = u.prompt_id "
            f"LEFT JOIN {ModelWeights._meta.db_table} w ON w.id = u.model_weights_id "
            "WHERE u.derivation_id = %s ORDER BY u.role, u.position")


def _recipe_edges(derivation: Derivation) -> list[Used]:
    """The derivation's used edges with their prompt and weights, in one query written by hand: on the worker the
    ORM's compiling and hydrating cost about ten times the round trip it is sent in, once per job."""
    with connection.cursor() as cursor:
        cursor.execute(_edges_sql(), [derivation.pk])
        rows = cursor.fetchall()
    first = len(Used._meta.concrete_fields)
    second = first + len(Prompt._meta.concrete_fields)
    edges = []
    for row in rows:
        edge = instance_from_row(Used, row[:first])
        if edge.prompt_id is not None:
            edge.prompt = instance_from_row(Prompt, row[first:second])
        if edge.model_weights_id is not None:
            edge.model_weights = instance_from_row(ModelWeights, row[second:])
        edge.derivation = derivation
        edges.append(edge)
    return edges


def recipe_of(*, derivation: Derivation) -> Recipe:
    # Every recipe has a prompt and weights; images are rarer inputs, and a seven-table join costs the
    # planner more than the worker's whole bookkeeping, so they come by prefetch, only when there are some.
    edges = _recipe_edges(derivation)
    if any(edge.version_id or edge.reference_id or edge.blob_id for edge in edges):
        prefetch_related_objects(edges, "version__blob", "reference__blob", "blob")
    by_role: dict[str, list[Used]] = {}
    for edge in edges:
        by_role.setdefault(edge.role, []).append(edge)
    try:
        prompt = by_role[Used.Role.PROMPT][0].prompt
        base = by_role[Used.Role.BASE_MODEL][0].model_weights
    except KeyError as exc:
        raise ApplicationError(f"derivation {derivation.pk} has no recorded {exc.args[0]}: it cannot be run") from exc
    return Recipe(
        derivation=derivation, prompt=prompt, base=base,
        loras=[(edge.model_weights, edge.weight) for edge in by_role.get(Used.Role.LORA, [])],
        controlnet=by_role.get(Used.Role.CONTROLNET, [None])[0] and by_role[Used.Role.CONTROLNET][0].model_weights,
        vae=by_role.get(Used.Role.VAE, [None])[0] and by_role[Used.Role.VAE][0].model_weights,
        init=by_role.get(Used.Role.INIT_IMAGE, [None])[0],
        control=by_role.get(Used.Role.CONTROL_IMAGE, [None])[0],
        mask=by_role.get(Used.Role.MASK, [None])[0] and by_role[Used.Role.MASK][0].blob,
        ip_adapter=by_role.get(Used.Role.IP_ADAPTER, [None])[0] and by_role[Used.Role.IP_ADAPTER][0].model_weights,
        image_encoder=by_role.get(Used.Role.IMAGE_ENCODER, [None])[0] and by_role[Used.Role.IMAGE_ENCODER][0].model_weights,
        guide=by_role.get(Used.Role.GUIDE_IMAGE, [None])[0] and by_role[Used.Role.GUIDE_IMAGE][0].blob,
        references=by_role.get(Used.Role.REFERENCE, []),
    )



def job_summary(*, job: GenerationJob) -> dict:
    """The state of a job rolled up from its batches (uses prefetched batches when the caller has them)."""
    derivations = [batch.derivation for batch in job.batches.all()]
    states = {derivation.state for derivation in derivations}
    order = [Derivation.State.RUNNING, Derivation.State.QUEUED, Derivation.State.FAILED, Derivation.State.CANCELLED]
    return {
        "state": next((state for state in order if state in states), Derivation.State.SUCCEEDED),
        "progress_step": sum(d.progress_step for d in derivations),
        "progress_total": sum(d.progress_total for d in derivations),
        "wall_seconds": round(sum(d.wall_seconds or 0.0 for d in derivations), 3),
        "gpu_seconds": round(sum(d.gpu_seconds or 0.0 for d in derivations), 3),
    }
