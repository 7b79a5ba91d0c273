"""Store errors (backend-neutral)."""

from __future__ import annotations

__all__ = ["DuplicateError", "StoreError", "StoreUnavailable"]


class StoreError(Exception):
    """A storage failure the caller can report (not a bug)."""


class DuplicateError(StoreError):
    """A unique value (a username, an id) already exists."""


class StoreUnavailable(StoreError):
    """A backend that a check needs does not answer (Redis down, a timeout): the check was
    not made. The server answers 503 ``temporarily_unavailable`` with ``Retry-After``."""

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after
