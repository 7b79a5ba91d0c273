"""Store errors (backend-neutral)."""

from __future__ import annotations

__all__ = ["DuplicateError", "StoreError"]


class StoreError(Exception):
    """A storage failure the caller can report (not a bug)."""


class DuplicateError(StoreError):
    """A unique value (a username, an id) already exists."""
