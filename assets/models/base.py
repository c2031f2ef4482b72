from __future__ import annotations

from typing import ClassVar

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
                raise ImmutableRowError(
                    f"{type(self).__name__} {self.pk} is append-only; save it with update_fields"
                )
            frozen = set(update_fields) - self.mutable_fields
            if frozen:
                raise ImmutableRowError(
                    f"{type(self).__name__} {self.pk} is append-only: {', '.join(sorted(frozen))} cannot change",
                    extra={"fields": sorted(frozen)},
                )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError(f"{type(self).__name__} {self.pk} is part of the lineage and cannot be deleted")
