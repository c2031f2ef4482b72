"""The one error shape services raise; the API and the CLI translate it at their edge."""

from __future__ import annotations


class ApplicationError(Exception):
    def __init__(self, message: str, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ImmutableRowError(ApplicationError):
    """Raised when code tries to change or delete a lineage row that others depend on."""
