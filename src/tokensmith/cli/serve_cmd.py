"""``tokensmith serve``: the auth server on uvicorn."""

from __future__ import annotations

import urllib.parse

import click

from ..issuer.errors import MasterKeyError as KeysUnreadableError
from ..issuer.service import Issuer
from ..server.compose import open_issuer
from ..server.master_key import MasterKeyError, resolve_master_key
from ..settings import Settings, SettingsError
from ..store.sql.engine import is_sqlite
from .inputs import is_loopback_host
from .server_common import settings_options, settings_or_exit


def startup_warnings(settings: Settings) -> list[str]:
    """Settings that work but are probably a mistake, said at start."""
    warnings = []
    issuer = urllib.parse.urlsplit(settings.issuer_url)
    if issuer.scheme == "http" and not is_loopback_host(issuer.hostname or ""):
        warnings.append(
            f"the issuer {settings.issuer_url} is plain http on a non-loopback host; "
            "set TOKENSMITH_ISSUER to the public https URL"
        )
    if settings.cookie_mode:
        for origin in settings.origins:
            parsed = urllib.parse.urlsplit(origin)
            if parsed.scheme == "http" and not is_loopback_host(parsed.hostname or ""):
                warnings.append(
                    f"cookie mode: browsers drop Secure cookies on {origin}; serve it over https"
                )
    if settings.test_clock_file is not None:
        warnings.append(f"test clock file {settings.test_clock_file} is in use (tests only)")
    return warnings


def workers_problem(settings: Settings) -> str | None:
    """Why ``settings.workers`` processes cannot share this configuration, or None."""
    if settings.workers > 1 and is_sqlite(settings.database):
        return (
            f"--workers {settings.workers} needs PostgreSQL (TOKENSMITH_DATABASE_URL): the "
            "embedded SQLite default keeps rate limits and caches inside one process. Run one "
            "process, or move the data with: tokensmith migrate-data --from DATA_DIR --to URL"
        )
    if settings.workers > 1 and settings.redis_url is None:
        return (
            f"--workers {settings.workers} also needs Redis (TOKENSMITH_REDIS_URL): without it "
            "each process would count rate limits and keep replay caches on its own"
        )
    return None


def preflight(settings: Settings, *, setup_token: bool = False) -> str | None:
    """Open (migrate, create keys) and close the issuer once before listening, so a
    database that cannot be reached is one line and exit 2, not a traceback at startup;
    and so several workers never race to do first-start work. With ``setup_token``, the
    one-time setup token while no admin exists."""
    import asyncio

    async def check() -> str | None:
        issuer, stores = await open_issuer(settings)
        try:
            return await issuer.setup_token() if setup_token else None
        finally:
            await issuer.close()
            await stores.close()

    try:
        return asyncio.run(check())
    except (MasterKeyError, KeysUnreadableError, SettingsError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        where = settings.effective()["database_url"]
        click.echo(
            f"error: cannot open the database {where}: {type(exc).__name__}: {reason}", err=True
        )
        raise SystemExit(2) from None


@click.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1; $TOKENSMITH_HOST).")
@click.option(
    "--port", type=click.IntRange(1, 65535), help="Port (default 8000; $TOKENSMITH_PORT)."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Server processes on this host (default 1; $TOKENSMITH_WORKERS). More than one "
    "needs PostgreSQL.",
)
@settings_options
def serve(
    host: str | None,
    port: int | None,
    workers: int | None,
    data_dir: str | None,
    config_file: str | None,
) -> None:
    """Run the auth server: accounts, login, rotating refresh tokens, JWKS.

    \b
    First start creates DATA_DIR with the SQLite database, the master key (master.key,
    mode 0600) and the signing keys. While no admin exists it prints a one-time setup
    token; or create the admin with: tokensmith users add NAME --admin
    SIGTERM stops it gracefully: in-flight requests finish (TOKENSMITH_SHUTDOWN_TIMEOUT).
    """
    from ..server.logs import configure_logging
    from .serve_runtime import run_single, run_workers, uvicorn_config

    settings = settings_or_exit(
        config_file, host=host, port=port, data_dir=data_dir, workers=workers
    )
    problem = workers_problem(settings)
    if problem is not None:
        click.echo(f"error: {problem}", err=True)
        raise SystemExit(2)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        resolve_master_key(settings)
    except (OSError, MasterKeyError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    token = preflight(settings, setup_token=settings.workers > 1)
    configure_logging(settings.log_level, settings.log_format)
    base = settings.issuer_url
    bind = f"[{settings.host}]" if ":" in settings.host else settings.host

    def say_listening(token: str | None) -> None:
        """Once the socket serves: where we listen, and the setup token if needed."""
        workers_note = f" ({settings.workers} workers)" if settings.workers > 1 else ""
        click.echo(f"tokensmith listening on http://{bind}:{settings.port}{workers_note}")
        click.echo(f"  issuer:   {base}")
        click.echo(f"  data dir: {settings.data_dir.resolve()}")
        click.echo(f"  docs:     http://{bind}:{settings.port}/docs")
        for warning in startup_warnings(settings):
            click.echo(f"  WARNING: {warning}")
        if token is not None:
            click.echo(
                "\nNo admin account yet. Create one with this one-time setup token "
                f"(valid {settings.setup_token_ttl // 3600} h):\n"
                f"  curl -X POST http://{bind}:{settings.port}/auth/setup "
                "-H 'Content-Type: application/json' \\\n"
                f'    -d \'{{"setup_token": "{token}", "username": "admin", '
                '"password": "..."}\'\n'
                "or from the command line: tokensmith users add NAME --admin"
                f" --data-dir {settings.data_dir}\n"
            )

    if settings.workers == 1:

        async def announce(issuer: Issuer | None) -> None:
            if issuer is not None:
                say_listening(await issuer.setup_token())

        if not run_single(settings, announce):
            raise SystemExit(1)
        return
    try:
        sock = uvicorn_config(settings, None).bind_socket()
    except SystemExit:  # uvicorn has said why (the port is taken)
        raise SystemExit(1) from None
    raise SystemExit(run_workers(settings, sock, lambda: say_listening(token)))
