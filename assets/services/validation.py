from django.core.exceptions import ValidationError
from django.db import models

from assets.errors import ApplicationError


def instance_validate(*, instance: models.Model, exclude: list[str] | None = None) -> None:
    """Run model validators and raise them as one ApplicationError naming every bad field."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        summary = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
        raise ApplicationError(
            f"invalid {type(instance)._meta.verbose_name}: {summary}", extra={"fields": errors}
        ) from exc
