"""Alembic migrations of the SQL store, applied at start by ``tokensmith.store.sql.migrate``."""
