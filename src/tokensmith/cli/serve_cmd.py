"""``tokensmith serve``: the auth server on uvicorn."""

from __future__ import annotations

import socket
import urllib.parse

import click

from ..issuer.errors import MasterKeyError as KeysUnreadableError
from ..issuer.service import Issuer
from ..server.compose import open_issuer
from ..server.master_key import MasterKeyError, resolve_master_key
from ..settings import Settings, SettingsError
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


def preflight(settings: Settings) -> None:
    """Open (migrate, create keys) and close the issuer once before listening, so a
    database that cannot be reached is one line and exit 2, not a traceback at startup."""
    import asyncio

    async def check() -> None:
        issuer, stores = await open_issuer(settings)
        await issuer.close()
        await stores.close()

    try:
        asyncio.run(check())
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
@settings_options
def serve(
    host: str | None, port: int | None, data_dir: str | None, config_file: str | None
) -> None:
    """Run the auth server: accounts, login, rotating refresh tokens, JWKS.

    \b
    First start creates DATA_DIR with the SQLite database, the master key (master.key,
    mode 0600) and the signing keys. While no admin exists it prints a one-time setup
    token; or create the admin with: tokensmith users add NAME --admin
    """
    import uvicorn

    from ..server import create_app
    from ..server.logs import configure_logging, uvicorn_log_config

    settings = settings_or_exit(config_file, host=host, port=port, data_dir=data_dir)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        resolve_master_key(settings)
    except (OSError, MasterKeyError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    preflight(settings)
    configure_logging(settings.log_level)
    base = settings.issuer_url
    bind = f"[{settings.host}]" if ":" in settings.host else settings.host

    async def announce(issuer: Issuer) -> None:
        """Once the socket is bound: where we listen, and the setup token if needed."""
        click.echo(f"tokensmith listening on http://{bind}:{settings.port}")
        click.echo(f"  issuer:   {base}")
        click.echo(f"  data dir: {settings.data_dir.resolve()}")
        click.echo(f"  docs:     http://{bind}:{settings.port}/docs")
        for warning in startup_warnings(settings):
            click.echo(f"  WARNING: {warning}")
        token = await issuer.setup_token()
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

    app = create_app(settings)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)  # exits 1 if the port cannot be bound
            if self.started and app.state.issuer is not None:
                await announce(app.state.issuer)

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level=settings.log_level,
        log_config=uvicorn_log_config(settings.log_level),
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=3,
        h11_max_incomplete_event_size=settings.max_header_bytes + 16384,
        lifespan="on",
    )
    server = Server(config)
    server.run()
    if not server.started:
        raise SystemExit(1)
