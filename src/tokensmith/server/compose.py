"""Building the issuer from settings: the pieces of the composition root.

Used by :func:`tokensmith.server.app.create_app` and by the operator commands (``users``,
``keys``), so both open the same database with the same master key.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..issuer.config import (
    PAGES_CLIENT_ID,
    Argon2Params,
    DPoPConfig,
    IssuerConfig,
    RateLimitRule,
    RateLimits,
)
from ..issuer.service import Issuer
from ..settings import Settings, SettingsError
from ..store import Stores, open_stores, with_redis
from .clock import make_clock
from .master_key import resolve_master_key
from .remote_keys import HttpRemoteKeySets

log = logging.getLogger("tokensmith.server")


def issuer_config(settings: Settings) -> IssuerConfig:
    """The :class:`IssuerConfig` the settings describe (SettingsError if it refuses them)."""
    defaults = RateLimits()
    try:
        return IssuerConfig(
            issuer=settings.issuer_url,
            audience=tuple(settings.audience),
            access_ttl=settings.access_ttl,
            refresh_idle_ttl=settings.refresh_idle_ttl,
            refresh_absolute_ttl=settings.refresh_absolute_ttl,
            refresh_grace=settings.refresh_grace,
            pages_client=settings.pages,
            signing_alg=settings.signing_alg,
            signing_algs=tuple(settings.signing_algs),
            key_rotation=settings.key_rotation,
            jwks_max_age=settings.jwks_max_age,
            registration=settings.registration,
            password_min=settings.password_min,
            password_max=settings.password_max,
            argon2=Argon2Params(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_cost,
                parallelism=settings.argon2_parallelism,
            ),
            password_workers=settings.password_workers,
            password_niceness=settings.password_niceness,
            rate_limits=RateLimits(
                enabled=settings.rate_limits,
                account=RateLimitRule(
                    settings.rate_account_limit,
                    float(settings.rate_account_window),
                    defaults.account.backoff,
                    defaults.account.max_backoff,
                ),
                address=RateLimitRule(
                    settings.rate_address_limit,
                    float(settings.rate_address_window),
                    defaults.address.backoff,
                    defaults.address.max_backoff,
                ),
                register=RateLimitRule(
                    settings.rate_register_limit,
                    float(settings.rate_register_window),
                    defaults.register.backoff,
                    defaults.register.max_backoff,
                ),
                inspect=RateLimitRule(
                    settings.rate_inspect_limit,
                    float(settings.rate_inspect_window),
                    defaults.inspect.backoff,
                    defaults.inspect.max_backoff,
                ),
            ),
            first_party_client_id=settings.first_party_client_id,
            default_scope=settings.default_scope,
            extra_claims=settings.extra_claims,
            setup_token_ttl=settings.setup_token_ttl,
            invite_ttl=settings.invite_ttl,
            username_max=settings.username_max,
            dpop=DPoPConfig(
                algorithms=tuple(settings.dpop_algs),
                max_age=settings.dpop_iat_window,
                leeway=settings.dpop_leeway,
                nonce=settings.dpop_nonce,
                nonce_period=settings.dpop_nonce_period,
                first_party=settings.dpop_first_party,
            ),
        )
    except (TypeError, ValueError) as exc:
        raise SettingsError([f"settings: {exc}"]) from None


async def open_issuer(settings: Settings) -> tuple[Issuer, Stores]:
    """Open the stores (migrating the database; Redis when ``redis_url`` is set) and the
    Issuer over them.

    Creates the data dir (0700) and, without ``TOKENSMITH_MASTER_KEY``, the master key
    file. The caller closes both: ``await issuer.close(); await stores.close()``.
    """
    config = issuer_config(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    master_key = resolve_master_key(settings)
    if settings.database_url is None:
        _create_private(settings.data_dir / "tokensmith.db")
    stores = await open_stores(settings.database)
    if settings.redis_url is not None:
        try:
            stores = await with_redis(
                stores,
                settings.redis_url,
                prefix=settings.redis_prefix,
                fail_open=settings.redis_failure == "open",
            )
        except BaseException:
            await stores.close()
            raise
    try:
        issuer = await Issuer.open(
            config,
            stores,
            master_key=master_key,
            clock=make_clock(settings.test_clock_file),
            remote_keys=HttpRemoteKeySets(),
        )
    except BaseException:
        await stores.close()
        raise
    if settings.pages and await stores.clients.get(PAGES_CLIENT_ID) is not None:
        # registered before the id was reserved: logins and refreshes with this id are the
        # web pages' built-in client's now, whatever the stored client says
        log.warning(
            "a registered client has the id %r, which the web pages' built-in client now "
            "holds: its logins and refreshes are the pages' (cookie mode, this server's "
            "origin only); register the app again under another name and disable this one",
            PAGES_CLIENT_ID,
        )
    return issuer, stores


def _create_private(path: Path) -> None:
    """Create the embedded database file 0600 before SQLite does (it would use the umask);
    SQLite gives its -wal and -shm files the same mode (S27)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
