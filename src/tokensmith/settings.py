"""Settings of the auth server: ``TOKENSMITH_*`` environment variables and a TOML file.

Read only by ``cli/`` and the server's composition root (DESIGN.md). Precedence, highest
first: command-line flags, environment variables, the TOML file (``--config FILE`` or
``TOKENSMITH_CONFIG``), defaults. :func:`load_settings` validates everything at start and
raises :class:`SettingsError` whose ``problems`` are one line each, naming the setting,
its environment variable and what is wrong — never a traceback.

Durations take seconds (``900``) or ``30s``, ``15m``, ``1h``, ``7d``, ``2w``. Lists
(``allowed_origins``, ``audience``) take a comma-separated string in the environment
and an array in TOML.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import json
import os
import re
import tomllib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tokensmith.jose.dpop import DEFAULT_DPOP_ALGORITHMS

from .issuer.config import RESERVED_CLAIMS

ENV_PREFIX = "TOKENSMITH_"
DEFAULT_DATA_DIR = Path("tokensmith-data")
SIGNING_ALGORITHMS = ("ES256", "ES384", "RS256", "PS256", "EdDSA", "HS256")
SECRET_FIELDS = frozenset(
    {"master_key", "revocation_feed_secret", "database_url", "metrics_secret", "redis_url"}
)

_DURATION = re.compile(r"([0-9]{1,12})\s*([smhdw]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "tokensmith_config_file", default=None
)


class SettingsError(Exception):
    """Invalid settings; ``problems`` holds one human-readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_duration(value: object) -> object:
    """``900``, ``"900"``, ``"15m"``, ``"7d"`` -> seconds; anything else is left to pydantic."""
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if not match:
            raise ValueError(f"{value!r} is not a duration like 900, 30s, 15m, 1h, 7d or 2w")
        return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return value


def _split_list(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


Duration = Annotated[int, BeforeValidator(parse_duration)]
StrList = Annotated[list[str], NoDecode, BeforeValidator(_split_list)]


def _origin(scheme: str, netloc: str) -> str:
    """An origin as a browser writes it in ``Origin``: lower case, and without the
    scheme's default port (``https://a.example:443`` is sent as ``https://a.example``)."""
    netloc = netloc.lower()
    default_port = {"http": ":80", "https": ":443"}[scheme.lower()]
    return f"{scheme.lower()}://{netloc.removesuffix(default_port)}"


class Settings(BaseSettings):
    """Everything the server and the operator commands can be told."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        validate_default=True,
        frozen=True,
        case_sensitive=False,
    )

    # where and what
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port to listen on.")
    data_dir: Path = Field(
        DEFAULT_DATA_DIR, description="Directory for the SQLite database and master.key."
    )
    issuer: str | None = Field(
        None, description="The `iss` of every token; defaults to http://HOST:PORT."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL; defaults to sqlite+aiosqlite:///DATA_DIR/tokensmith.db.",
    )
    master_key: SecretStr | None = Field(
        None,
        description="base64url of 32 bytes encrypting private keys at rest; "
        "defaults to DATA_DIR/master.key, created 0600 on first run.",
    )

    # tokens
    audience: StrList = Field(
        default_factory=list,
        description="`aud` of first-party access tokens; defaults to the issuer.",
    )
    access_ttl: Duration = Field(900, ge=30, le=86400, description="Access-token lifetime.")
    refresh_idle_ttl: Duration = Field(
        7 * 86400, ge=60, description="A refresh token unused this long expires."
    )
    refresh_absolute_ttl: Duration = Field(
        30 * 86400, ge=60, description="A session (refresh-token family) never outlives this."
    )
    refresh_grace: Duration = Field(
        10, ge=0, le=300, description="Retry window returning the same child token (0 disables)."
    )
    signing_alg: Literal["ES256", "ES384", "RS256", "PS256", "EdDSA", "HS256"] = Field(
        "ES256", description="Algorithm of the signing keys (HS256 keys are never published)."
    )
    signing_algs: StrList = Field(
        default_factory=list,
        description="Further algorithms a registered client may name as its signing_alg "
        "(comma-separated, e.g. EdDSA,RS256; no HS*). Each gets its own key lifecycle.",
    )
    key_rotation: Duration = Field(
        30 * 86400, ge=3600, description="Age at which the current signing key is replaced."
    )
    jwks_max_age: Duration = Field(
        3600, ge=0, le=86400, description="Cache-Control max-age of the JWKS."
    )
    key_maintenance_interval: Duration = Field(
        60, ge=1, le=3600, description="How often the server checks the key schedule."
    )
    first_party_client_id: str = Field(
        "first-party", min_length=1, description="Built-in public client of /auth/login."
    )
    extra_claims: dict[str, Any] = Field(
        default_factory=dict, description="Claims added to every access token (JSON object)."
    )

    # accounts
    registration: Literal["open", "closed", "invite"] = Field(
        "open", description="Who may use /auth/register."
    )
    password_min: int = Field(8, ge=1, le=1024, description="Shortest password accepted.")
    password_max: int = Field(128, ge=8, le=4096, description="Longest password accepted.")
    argon2_time_cost: int = Field(2, ge=1, le=64, description="argon2id iterations.")
    argon2_memory_cost: int = Field(
        19456, ge=1024, le=4 * 1024 * 1024, description="argon2id memory in KiB."
    )
    argon2_parallelism: int = Field(1, ge=1, le=64, description="argon2id lanes.")
    password_workers: int = Field(
        0, ge=0, le=256, description="Password hashes run at once in threads (0: CPUs)."
    )
    password_niceness: int = Field(
        5, ge=0, le=19, description="How much lower the hashing threads' priority is (Linux)."
    )
    username_max: int = Field(64, ge=1, le=256, description="Longest username accepted.")
    default_scope: str = Field(
        "openid profile", description="`scope` of first-party access tokens (empty: none)."
    )
    setup_token_ttl: Duration = Field(
        86400, ge=60, description="Lifetime of the one-time first-admin setup token."
    )
    invite_ttl: Duration = Field(7 * 86400, ge=60, description="Default lifetime of an invite.")
    rate_limits: bool = Field(True, description="Per-account and per-address limits (S26).")
    rate_account_limit: int = Field(
        5, ge=1, description="Failed logins per account within the window before back-off."
    )
    rate_account_window: Duration = Field(300, ge=1, description="Per-account window.")
    rate_address_limit: int = Field(
        50, ge=1, description="Failed attempts per client address within the window."
    )
    rate_address_window: Duration = Field(300, ge=1, description="Per-address window.")
    rate_register_limit: int = Field(
        20, ge=1, description="Registrations per client address within the window."
    )
    rate_register_window: Duration = Field(3600, ge=1, description="Registration window.")
    rate_inspect_limit: int = Field(
        60, ge=1, description="Token-inspector calls per client address within the window."
    )
    rate_inspect_window: Duration = Field(60, ge=1, description="Token-inspector window.")

    # DPoP (RFC 9449)
    dpop_algs: StrList = Field(
        default_factory=lambda: list(DEFAULT_DPOP_ALGORITHMS),
        description="DPoP proof algorithms accepted (asymmetric only).",
    )
    dpop_iat_window: Duration = Field(
        60, ge=1, le=3600, description="How old a DPoP proof's iat may be."
    )
    dpop_leeway: Duration = Field(
        5, ge=0, le=300, description="Clock skew allowed for a DPoP proof's iat."
    )
    dpop_nonce: bool = Field(False, description="Require DPoP server nonces (DPoP-Nonce).")
    dpop_nonce_period: Duration = Field(
        300, ge=10, le=86400, description="How long one DPoP server nonce is handed out."
    )
    dpop_first_party: Literal["required", "optional", "off"] = Field(
        "optional", description="DPoP mode of the first-party client (/auth/login)."
    )

    # HTTP
    cookie_mode: bool = Field(
        False,
        description="Cookie mode of the first-party client: its refresh token only in a "
        "__Host- cookie (SPAs), with CSRF protection. The web pages need no setting.",
    )
    pages: bool = Field(
        True,
        description="Serve the web pages (/, /signin, /signup, /account, /console, "
        "/inspector) and accept their built-in client; off for an API-only server.",
    )
    allowed_origins: StrList = Field(
        default_factory=list,
        description="Origins allowed to use cookie mode; defaults to the issuer's origin.",
    )
    max_body_bytes: int = Field(
        65536, ge=1024, le=16 * 1024 * 1024, description="Largest request body (413 beyond)."
    )
    max_header_bytes: int = Field(
        16384, ge=1024, le=1024 * 1024, description="Largest request header block (431 beyond)."
    )
    revocation_feed_secret: SecretStr | None = Field(
        None,
        description="Bearer secret for GET /auth/revocations (besides an admin access token).",
    )
    trust_forwarded: bool = Field(
        False, description="Take the client address from X-Forwarded-For (behind a proxy)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level of the server."
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="Server log lines: one JSON object each, or plain text."
    )
    workers: int = Field(
        1, ge=1, le=64, description="Server processes on one host (more than 1: PostgreSQL)."
    )
    shutdown_timeout: Duration = Field(
        30, ge=0, le=3600, description="After SIGTERM, how long in-flight requests may finish."
    )
    metrics: Literal["off", "loopback", "bearer"] = Field(
        "off",
        description="GET /metrics (Prometheus): off (404), loopback (direct loopback "
        "peers only) or bearer (Authorization: Bearer METRICS_SECRET).",
    )
    metrics_secret: SecretStr | None = Field(
        None, description="The bearer secret of GET /metrics when metrics = bearer."
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL (redis://, rediss://, unix://) for rate limits, replay caches "
        "and the fan-out of revocations and key changes between processes; unset: in-process.",
    )
    redis_prefix: str = Field(
        "tokensmith:", min_length=1, max_length=100, description="Prefix of every Redis key."
    )
    redis_failure: Literal["closed", "open"] = Field(
        "closed",
        description="While Redis is down, rate-limit checks fail (503, closed) or are skipped "
        "(open, logged).",
    )
    test_clock_file: Path | None = Field(
        None,
        description="TEST ONLY: a file holding '+SECONDS' (offset) or 'SECONDS' (absolute "
        "Unix time) that the server's clock reads. Never set in production.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_file.get()
        if path is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, path))

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value or any(c.isspace() or c in "/?#@" for c in value):
            raise ValueError("must be a host name or an IP address")
        return value

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urllib.parse.urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("must be an http(s) URL like https://id.example.com")
        if parsed.query or parsed.fragment:
            raise ValueError("must have no query or fragment (RFC 8414)")
        return value.rstrip("/")

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        out = []
        for origin in value:
            parsed = urllib.parse.urlsplit(origin)
            if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path:
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
            out.append(_origin(parsed.scheme, parsed.netloc))
        return out

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urllib.parse.urlsplit(value)
        if parsed.scheme not in ("redis", "rediss", "unix") or not (parsed.netloc or parsed.path):
            raise ValueError("must be a Redis URL like redis://127.0.0.1:6379/0")
        return value

    @field_validator("master_key")
    @classmethod
    def _master_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_master_key(value.get_secret_value())
        return value

    @field_validator("extra_claims")
    @classmethod
    def _extra_claims(cls, value: dict[str, Any]) -> dict[str, Any]:
        reserved = set(value) & RESERVED_CLAIMS
        if reserved:
            raise ValueError(f"may not set registered claims: {', '.join(sorted(reserved))}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.password_min > self.password_max:
            raise ValueError("password_min is larger than password_max")
        if self.refresh_idle_ttl > self.refresh_absolute_ttl:
            raise ValueError("refresh_idle_ttl is longer than refresh_absolute_ttl")
        if self.refresh_grace >= self.refresh_idle_ttl:
            raise ValueError("refresh_grace must be shorter than refresh_idle_ttl")
        if self.metrics == "bearer" and (
            self.metrics_secret is None or len(self.metrics_secret.get_secret_value()) < 16
        ):
            raise ValueError("metrics = bearer needs metrics_secret (at least 16 characters)")
        if self.key_rotation < 2 * self.jwks_max_age:
            raise ValueError(
                "key_rotation must be at least twice jwks_max_age "
                "(the next key is published one cache lifetime before it signs)"
            )
        return self

    # derived values ---------------------------------------------------------------

    @property
    def issuer_url(self) -> str:
        """The configured issuer, else ``http://HOST:PORT``."""
        if self.issuer:
            return self.issuer
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def database(self) -> str:
        """The configured database URL, else SQLite under the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'tokensmith.db'}"

    @property
    def audiences(self) -> tuple[str, ...]:
        return tuple(self.audience) or (self.issuer_url,)

    @property
    def own_origin(self) -> str:
        """The issuer's origin: where the server's own web pages are served from, and the
        only origin their built-in client accepts (whatever ``allowed_origins`` says)."""
        parsed = urllib.parse.urlsplit(self.issuer_url)
        return _origin(parsed.scheme, parsed.netloc)

    @property
    def origins(self) -> tuple[str, ...]:
        """Origins allowed for cookie mode: the configured list, else the issuer's origin."""
        if self.allowed_origins:
            return tuple(self.allowed_origins)
        return (self.own_origin,)

    @property
    def master_key_file(self) -> Path:
        return self.data_dir / "master.key"

    def effective(self) -> dict[str, Any]:
        """Every setting with its effective value, secrets masked (``config show``)."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in SECRET_FIELDS and value is not None:
                value = _mask(name, value)
            elif isinstance(value, Path):
                value = str(value)
            out[name] = value
        out["issuer"] = self.issuer_url
        out["audience"] = list(self.audiences)
        out["allowed_origins"] = list(self.origins)
        if self.database_url is None:
            out["database_url"] = self.database
        if self.master_key is None:
            out["master_key"] = f"(file {self.master_key_file})"
        return out


def _mask(name: str, value: Any) -> str:
    if name in ("database_url", "redis_url"):
        text = str(value)
        parsed = urllib.parse.urlsplit(text)
        if parsed.password:
            netloc = parsed.netloc.replace(f":{parsed.password}@", ":****@")
            return urllib.parse.urlunsplit(parsed._replace(netloc=netloc))
        return text
    return "****"


def decode_master_key(text: str) -> bytes:
    """base64url (padding optional) of exactly 32 bytes -> the bytes; else ValueError."""
    cleaned = text.strip()
    if not cleaned or not re.fullmatch(r"[A-Za-z0-9_-]+=*", cleaned):
        raise ValueError("must be base64url of 32 random bytes")
    try:
        raw = base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("must be base64url of 32 random bytes") from None
    if len(raw) != 32:
        raise ValueError(f"must decode to 32 bytes, not {len(raw)}")
    return raw


#: TOKENSMITH_* variables that are not settings: the config file and the test harness's
NON_SETTING_VARIABLES = frozenset({"TOKENSMITH_CONFIG", "TOKENSMITH_REQUIRE_SERVICES"})


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """``TOKENSMITH_*`` variables that name no setting (typos are otherwise ignored)."""
    known = {env_name(name) for name in Settings.model_fields} | NON_SETTING_VARIABLES
    return sorted(
        name
        for name in environ
        if name.upper().startswith(ENV_PREFIX)
        and name.upper() not in known
        and not name.upper().startswith(f"{ENV_PREFIX}TEST_")
    )


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def load_settings(*, config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from flags (``overrides``; ``None`` values are ignored), env and TOML.

    ``config_file`` defaults to ``TOKENSMITH_CONFIG``. Raises :class:`SettingsError` with
    one line per problem.
    """
    if config_file is None and os.environ.get(f"{ENV_PREFIX}CONFIG"):
        config_file = os.environ[f"{ENV_PREFIX}CONFIG"]
    path = Path(config_file) if config_file is not None else None
    if path is not None:
        _check_toml(path)
    given = {k: v for k, v in overrides.items() if v is not None}
    token = _config_file.set(path)
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise SettingsError(_problems(exc, path)) from None
    finally:
        _config_file.reset(token)


def _check_toml(path: Path) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SettingsError([f"config file {path}: cannot read it ({exc.strerror})"]) from None
    try:
        tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise SettingsError([f"config file {path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"config file {path}: not valid TOML ({exc})"]) from None


def _problems(exc: ValidationError, path: Path | None) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        field = loc[0] if loc else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            where = f" in {path}" if path else ""
            problems.append(f"unknown setting {field!r}{where}")
            continue
        if not field:
            problems.append(f"settings: {message}")
            continue
        shown = ""
        if field not in SECRET_FIELDS and error["type"] not in ("missing",):
            shown = f" (got {error.get('input')!r})"
        problems.append(f"{field} ({env_name(field)}): {message}{shown}")
    return problems


__all__ = [
    "SECRET_FIELDS",
    "Settings",
    "SettingsError",
    "decode_master_key",
    "env_name",
    "load_settings",
    "parse_duration",
    "unknown_variables",
]
