from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from assets.environment import environment_fingerprint_base
from assets.errors import ApplicationError
from assets.models import Blob, Brief, Derivation, Generated, ModelWeights, Prompt, Reference, Used, Version
from assets.params import params_clean

_TARGET_FIELDS = {
    Version: "version",
    Reference: "reference",
    Prompt: "prompt",
    ModelWeights: "model_weights",
    Blob: "blob",
}


@dataclass(frozen=True)
class UsedInput:
    role: str
    target: Version | Reference | Prompt | ModelWeights | Blob
    weight: float | None = None
    position: int = 0


def _client_id_of(target) -> int | None:
    if isinstance(target, (Version, Reference, Prompt)):
        return target.brief.campaign.client_id
    return None


def derivation_create(
    *,
    brief: Brief,
    op: str,
    phase: str,
    params: dict,
    inputs: list[UsedInput] = (),
    state: str = Derivation.State.QUEUED,
    created_by=None,
) -> Derivation:
    """Record an activity and what it used; call inside the caller's transaction."""
    cleaned = params_clean(op=op, params=params)
    for item in inputs:
        if type(item.target) not in _TARGET_FIELDS:
            raise ApplicationError(f"a derivation cannot use a {type(item.target).__name__}")
        if item.role not in Used.Role.values:
            raise ApplicationError(f"unknown input role {item.role!r}")
        client_id = _client_id_of(item.target)
        if client_id is not None and client_id != brief.campaign.client_id:
            raise ApplicationError(
                f"{type(item.target).__name__.lower()} {item.target.pk} belongs to another client and cannot be used in this brief",
                extra={"role": item.role, "id": item.target.pk},
            )
    derivation = Derivation.objects.create(
        brief=brief, op=op, phase=phase, params=cleaned, state=state, created_by=created_by,
        environment=environment_fingerprint_base(),
    )
    Used.objects.bulk_create(
        Used(derivation=derivation, role=item.role, position=item.position, weight=item.weight,
             **{_TARGET_FIELDS[type(item.target)]: item.target})
        for item in inputs
    )
    return derivation


def derivation_output_add(*, derivation: Derivation, version: Version, index: int = 0,
                          role: str = Generated.Role.OUTPUT) -> Generated:
    return Generated.objects.create(derivation=derivation, version=version, index=index, role=role)


def derivation_finish(*, derivation: Derivation, started_at, state: str = Derivation.State.SUCCEEDED) -> None:
    finished_at = timezone.now()
    derivation.state = state
    derivation.started_at = started_at
    derivation.finished_at = finished_at
    derivation.wall_seconds = (finished_at - started_at).total_seconds()
    derivation.save(update_fields=["state", "started_at", "finished_at", "wall_seconds"])
