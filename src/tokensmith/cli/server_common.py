"""What the server-side commands share: settings from flags/env/TOML, and an Issuer.

Exit codes: 0 success, 1 refused by the issuer (``error: <code>: <message>``), 2 bad
settings or usage (one line per problem).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..issuer.errors import AuthError
from ..issuer.errors import MasterKeyError as KeysUnreadableError
from ..issuer.service import Issuer
from ..server.compose import issuer_config, open_issuer
from ..server.master_key import MasterKeyError
from ..settings import Settings, SettingsError, load_settings, unknown_variables

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def settings_options(func: F) -> F:
    """``--data-dir DIR`` and ``--config FILE`` (or TOKENSMITH_DATA_DIR / TOKENSMITH_CONFIG)."""
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        help="TOML settings file (default: $TOKENSMITH_CONFIG).",
    )(func)
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False),
        help="Data directory (default: $TOKENSMITH_DATA_DIR or ./tokensmith-data).",
    )(func)


def settings_or_exit(config_file: str | None, **overrides: Any) -> Settings:
    """Load and check the settings; on a problem print one line each and exit 2."""
    if overrides.get("data_dir") is not None:
        overrides["data_dir"] = Path(overrides["data_dir"])
    for name in unknown_variables(os.environ):
        click.echo(f"warning: {name} is not a tokensmith setting (ignored)", err=True)
    try:
        settings = load_settings(config_file=config_file, **overrides)
        issuer_config(settings)
    except SettingsError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        raise SystemExit(2) from None
    return settings


def run_with_issuer(settings: Settings, use: Callable[[Issuer], Awaitable[T]]) -> T:
    """Open the issuer over the configured database, run ``use``, close everything.

    An :class:`AuthError` exits 1 with ``error: <code>: <message>``."""

    async def main() -> T:
        issuer, stores = await open_issuer(settings)
        try:
            return await use(issuer)
        finally:
            await issuer.close()
            await stores.close()

    try:
        return asyncio.run(main())
    except AuthError as exc:
        click.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise SystemExit(1) from None
    except (MasterKeyError, KeysUnreadableError, SettingsError) as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None


def read_password(*, prompt: str = "Password") -> str:
    """From stdin when it is not a terminal (one line, the newline removed), else a hidden
    prompt with confirmation."""
    if not sys.stdin.isatty():
        text = sys.stdin.readline()
        password = text.removesuffix("\n").removesuffix("\r")
        if not password:
            raise click.UsageError("no password on stdin")
        return password
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return value


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    import datetime

    return datetime.datetime.fromtimestamp(ts, tz=datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def echo_table(rows: list[tuple[str, ...]]) -> None:
    """Print rows (the first is the heading) as left-aligned columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
