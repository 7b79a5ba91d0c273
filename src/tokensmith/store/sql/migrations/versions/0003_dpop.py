"""DPoP (RFC 9449): the key a session (refresh-token family) is bound to, and each
client's DPoP mode.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN on both dialects: existing sessions stay unbound, existing
    # clients become "optional" (a proof binds their tokens, none is needed)
    op.add_column("sessions", sa.Column("dpop_jkt", sa.String(64), nullable=True))
    op.add_column(
        "clients", sa.Column("dpop", sa.String(16), nullable=False, server_default="optional")
    )


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("dpop")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("dpop_jkt")
