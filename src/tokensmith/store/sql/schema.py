"""The one SQL schema (SQLite and PostgreSQL). Alembic migrations under ``migrations/``
create it; a contract test checks that the migrated database matches this metadata."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "assertion_replays",
    "audit_events",
    "clients",
    "invites",
    "metadata",
    "refresh_tokens",
    "revocations",
    "sessions",
    "setup_tokens",
    "signing_keys",
    "users",
]

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# ids that must only grow: BIGINT on PostgreSQL, INTEGER PRIMARY KEY AUTOINCREMENT on SQLite
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_Time: sa.Double[float] = sa.Double()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("username", sa.String(256), nullable=False),
    sa.Column("username_key", sa.String(256), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text(), nullable=False),
    sa.Column("roles", sa.String(512), nullable=False, server_default=""),
    sa.Column("created_at", _Time, nullable=False),
    sa.Column("updated_at", _Time, nullable=False),
    sa.Column("disabled_at", _Time, nullable=True),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("client_id", sa.String(256), nullable=False),
    sa.Column("scope", sa.String(1024), nullable=False, server_default=""),
    sa.Column("created_at", _Time, nullable=False),
    sa.Column("last_used_at", _Time, nullable=False),
    sa.Column("expires_at", _Time, nullable=False),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("user_agent", sa.String(512), nullable=True),
    sa.Column("revoked_at", _Time, nullable=True),
    sa.Column("revoked_reason", sa.String(64), nullable=True),
    sa.Column("dpop_jkt", sa.String(64), nullable=True),
    sa.Index("ix_sessions_user_id", "user_id"),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "session_id",
        sa.String(64),
        sa.ForeignKey("sessions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("issued_at", _Time, nullable=False),
    sa.Column("expires_at", _Time, nullable=False),
    sa.Column("parent_hash", sa.String(64), nullable=True),
    sa.Column("consumed_at", _Time, nullable=True),
    sa.Index("ix_refresh_tokens_session_id", "session_id"),
    sa.Index("ix_refresh_tokens_parent_hash", "parent_hash"),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(128), primary_key=True),
    sa.Column("alg", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("private_jwk", sa.LargeBinary(), nullable=False),
    sa.Column("public_jwk", sa.Text(), nullable=False),
    sa.Column("created_at", _Time, nullable=False),
    sa.Column("activated_at", _Time, nullable=True),
    sa.Column("deactivated_at", _Time, nullable=True),
    sa.Column("retired_at", _Time, nullable=True),
    sa.Column("publish_until", _Time, nullable=True),
    # at most one 'next' and one 'current' key per algorithm, whatever the number of
    # processes (migration 0004)
    sa.Index(
        "uq_signing_keys_single_state",
        "alg",
        "state",
        unique=True,
        sqlite_where=sa.text("state IN ('next', 'current')"),
        postgresql_where=sa.text("state IN ('next', 'current')"),
    ),
)

revocations = sa.Table(
    "revocations",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("value", sa.String(256), nullable=False),
    sa.Column("created_at", _Time, nullable=False),
    sa.Column("expires_at", _Time, nullable=False),
    sa.Column("not_before", _Time, nullable=True),
    sa.Index("ix_revocations_expires_at", "expires_at"),
    sqlite_autoincrement=True,
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("at", _Time, nullable=False),
    sa.Column("user_id", sa.String(36), nullable=True),
    sa.Column("username", sa.String(256), nullable=True),
    sa.Column("session_id", sa.String(64), nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
    sa.Column("user_agent", sa.String(512), nullable=True),
    sa.Column("details", sa.Text(), nullable=False, server_default="{}"),
    sa.Index("ix_audit_events_user_id", "user_id"),
    sa.Index("ix_audit_events_kind", "kind"),
    sqlite_autoincrement=True,
)

invites = sa.Table(
    "invites",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("created_at", _Time, nullable=False),
    sa.Column("expires_at", _Time, nullable=False),
    sa.Column("created_by", sa.String(36), nullable=True),
    sa.Column("used_at", _Time, nullable=True),
    sa.Column("used_by", sa.String(36), nullable=True),
)

setup_tokens = sa.Table(
    "setup_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("created_at", _Time, nullable=False),
    sa.Column("expires_at", _Time, nullable=False),
)

clients = sa.Table(
    "clients",
    metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
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
    sa.Column("dpop", sa.String(16), nullable=False, server_default="optional"),
)

assertion_replays = sa.Table(
    "assertion_replays",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("expires_at", _Time, nullable=False),
    sa.Index("ix_assertion_replays_expires_at", "expires_at"),
)
