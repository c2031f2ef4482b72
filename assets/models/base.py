from __future__ import annotations

from typing import ClassVar

from django.apps import apps
from django.db import models

from assets.errors import ImmutableRowError


class AppendOnlyModel(models.Model):
    """Lineage rows are never edited: only the fields named in `mutable_fields` may change.

    Corrections make new rows. Saving an existing row must name its `update_fields`, which
    also keeps concurrent writers from overwriting each other's columns.
    """

    mutable_fields: ClassVar[frozenset[str]] = frozenset()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None:
                raise ImmutableRowError(f"{type(self).__name__} {self.pk} is append-only; save it with update_fields")
            frozen = set(update_fields) - self.mutable_fields
            if frozen:
                raise ImmutableRowError(
                    f"{type(self).__name__} {self.pk} is append-only: {', '.join(sorted(frozen))} cannot change",
                    extra={"fields": sorted(frozen)},
                )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError(f"{type(self).__name__} {self.pk} is part of the lineage and cannot be deleted")


class QueuedRun(models.Model):
    """What the one run lifecycle (assets.services.runs) keeps on every queued row; each model adds its own `state`
    with at least queued, running, succeeded and failed."""

    error = models.TextField(blank=True)
    # The worker's claim: a run whose worker died is taken over once it is older than the task timeout.
    started_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    # Which worker process holds or last held the claim: "<cluster>@<host>:<pid>".
    claimed_by = models.CharField(max_length=200, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The task last put on the broker for this row, its queue and when: a broker may lose it (Redis keeps no receipt
    # of a task a worker took; a restarted Redis holds nothing), and assets.services.run_resend sends it again.
    # No time while nothing should be on the broker for it (a webhook waiting out its backoff).
    task_func = models.CharField(max_length=100, blank=True, editable=False)
    task_queue = models.CharField(max_length=8, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def run_kind(self) -> str:
        """How metrics and `seed_status` name this kind of run."""
        return self._meta.model_name


def queued_run_models() -> list[type[QueuedRun]]:
    """Every installed model that goes through the run lifecycle."""
    return [model for model in apps.get_models() if issubclass(model, QueuedRun)]
