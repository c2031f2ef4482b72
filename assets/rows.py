"""Model instances from rows read with hand-written SQL, converted exactly as a queryset converts them.

The worker's hot paths (the claim, the recipe read) write their SQL by hand because the ORM's compiler costs more
than the round trip; this is the one place their rows become model instances again.
"""

from __future__ import annotations

import functools

from django.db import connection, models


def columns_sql(model: type[models.Model], alias: str | None = None) -> str:
    """Every concrete column of `model`, in field order, for a SELECT or RETURNING list."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(prefix + connection.ops.quote_name(field.column) for field in model._meta.concrete_fields)


@functools.cache
def _conversions(model: type[models.Model]) -> tuple[list[str], list[tuple]]:
    names, conversions = [], []
    for field in model._meta.concrete_fields:
        column = field.get_col(model._meta.db_table)
        names.append(field.attname)
        conversions.append((column, connection.ops.get_db_converters(column) + field.get_db_converters(connection)))
    return names, conversions


def instance_from_row(model: type[models.Model], values) -> models.Model:
    """The row (values in `columns_sql` order) as a model instance, after the queryset's own conversions (JSON text to
    objects, and the like)."""
    names, conversions = _conversions(model)
    converted = []
    for (column, converters), value in zip(conversions, values, strict=True):
        for converter in converters:
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)
