"""One ``next`` and one ``current`` signing key per algorithm (per-client signing
algorithms), instead of one in the whole table.

Rows written while the index still covered ``state`` alone spelled a single-holder state
with its algorithm (``next:EdDSA``); they get the plain state back.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SINGLE_HOLDER = sa.text("state IN ('next', 'current')")


def upgrade() -> None:
    # the old index first: with several algorithms the plain states repeat
    op.drop_index("uq_signing_keys_single_state", table_name="signing_keys")
    op.execute("UPDATE signing_keys SET state = 'next' WHERE state LIKE 'next:%'")
    op.execute("UPDATE signing_keys SET state = 'current' WHERE state LIKE 'current:%'")
    op.create_index(
        "uq_signing_keys_single_state",
        "signing_keys",
        ["alg", "state"],
        unique=True,
        sqlite_where=_SINGLE_HOLDER,
        postgresql_where=_SINGLE_HOLDER,
    )


def downgrade() -> None:
    # only possible while a single algorithm is in use (the old index allows one of each)
    op.drop_index("uq_signing_keys_single_state", table_name="signing_keys")
    op.create_index(
        "uq_signing_keys_single_state",
        "signing_keys",
        ["state"],
        unique=True,
        sqlite_where=_SINGLE_HOLDER,
        postgresql_where=_SINGLE_HOLDER,
    )
