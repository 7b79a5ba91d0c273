"""OAuth clients and the private_key_jwt replay cache (issue 6).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Time: sa.Double[float] = sa.Double()


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=True),
        sa.Column("grant_types", sa.String(512), nullable=False, server_default=""),
        sa.Column("scopes", sa.String(2048), nullable=False, server_default=""),
        sa.Column("audiences", sa.Text(), nullable=False, server_default=""),
        sa.Column("access_ttl", sa.Integer(), nullable=True),
        sa.Column("signing_alg", sa.String(16), nullable=True),
        sa.Column("cookie_mode", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("jwks_uri", sa.String(2048), nullable=True),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.Column("disabled_at", _Time, nullable=True),
        sa.PrimaryKeyConstraint("client_id", name="pk_clients"),
    )
    op.create_table(
        "assertion_replays",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("expires_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_assertion_replays"),
    )
    op.create_index("ix_assertion_replays_expires_at", "assertion_replays", ["expires_at"])


def downgrade() -> None:
    op.drop_table("assertion_replays")
    op.drop_table("clients")
