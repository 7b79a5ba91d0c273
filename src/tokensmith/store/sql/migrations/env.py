"""Alembic environment: run programmatically with a live connection in
``config.attributes["connection"]`` (see ``tokensmith.store.sql.migrate``)."""

from __future__ import annotations

from alembic import context

from tokensmith.store.sql.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "tokensmith migrations run programmatically (tokensmith.store.sql.migrate); "
        "pass a connection in config.attributes['connection']"
    )
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
