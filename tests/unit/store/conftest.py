"""Fixtures of the SQL store's unit tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokensmith.store.sql.engine import create_sqlite_engine, migrate_sync


@pytest.fixture
def database(tmp_path: Path) -> str:
    """The URL of a new SQLite file with the schema migrated to head."""
    url = f"sqlite:///{tmp_path / 'tokensmith.db'}"
    engine = create_sqlite_engine(url)
    migrate_sync(engine)
    engine.dispose()
    return url
