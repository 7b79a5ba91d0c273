"""Initial schema: users, sessions, refresh tokens, signing keys, revocations, audit
events, invites, setup tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Time: sa.Double[float] = sa.Double()


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("username", sa.String(256), nullable=False),
        sa.Column("username_key", sa.String(256), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("roles", sa.String(512), nullable=False, server_default=""),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("updated_at", _Time, nullable=False),
        sa.Column("disabled_at", _Time, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username_key", name="uq_users_username_key"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(256), nullable=False),
        sa.Column("scope", sa.String(1024), nullable=False, server_default=""),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("last_used_at", _Time, nullable=False),
        sa.Column("expires_at", _Time, nullable=False),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("revoked_at", _Time, nullable=True),
        sa.Column("revoked_reason", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_sessions_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("issued_at", _Time, nullable=False),
        sa.Column("expires_at", _Time, nullable=False),
        sa.Column("parent_hash", sa.String(64), nullable=True),
        sa.Column("consumed_at", _Time, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_refresh_tokens"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_refresh_tokens_session_id_sessions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"])
    op.create_index("ix_refresh_tokens_parent_hash", "refresh_tokens", ["parent_hash"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(128), nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("private_jwk", sa.LargeBinary(), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("activated_at", _Time, nullable=True),
        sa.Column("deactivated_at", _Time, nullable=True),
        sa.Column("retired_at", _Time, nullable=True),
        sa.Column("publish_until", _Time, nullable=True),
        sa.PrimaryKeyConstraint("kid", name="pk_signing_keys"),
    )
    op.create_index(
        "uq_signing_keys_single_state",
        "signing_keys",
        ["state"],
        unique=True,
        sqlite_where=sa.text("state IN ('next', 'current')"),
        postgresql_where=sa.text("state IN ('next', 'current')"),
    )
    op.create_table(
        "revocations",
        sa.Column("id", _BigId, nullable=False, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("expires_at", _Time, nullable=False),
        sa.Column("not_before", _Time, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_revocations"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_revocations_expires_at", "revocations", ["expires_at"])
    op.create_table(
        "audit_events",
        sa.Column("id", _BigId, nullable=False, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("at", _Time, nullable=False),
        sa.Column("user_id", sa.String(36), nullable=True),
        sa.Column("username", sa.String(256), nullable=True),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(512), nullable=True),
        sa.Column("details", sa.Text(), nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_user_id", "audit_events", ["user_id"])
    op.create_index("ix_audit_events_kind", "audit_events", ["kind"])
    op.create_table(
        "invites",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("expires_at", _Time, nullable=False),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("used_at", _Time, nullable=True),
        sa.Column("used_by", sa.String(36), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name="pk_invites"),
    )
    op.create_table(
        "setup_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _Time, nullable=False),
        sa.Column("expires_at", _Time, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_setup_tokens"),
    )


def downgrade() -> None:
    for table in (
        "setup_tokens",
        "invites",
        "audit_events",
        "revocations",
        "signing_keys",
        "refresh_tokens",
        "sessions",
        "users",
    ):
        op.drop_table(table)
