"""``tokensmith keys``: list, rotate, retire the server's signing keys."""

from __future__ import annotations

import dataclasses
import json

import click

from ..issuer.service import Issuer, KeyInfo
from .server_common import echo_table, run_with_issuer, settings_options, settings_or_exit, when


@click.group()
def keys() -> None:
    """Inspect and rotate signing keys (a running server picks changes up within
    key_maintenance_interval)."""


def _row(key: KeyInfo) -> tuple[str, ...]:
    return (
        key.kid,
        key.alg,
        key.state,
        when(key.created_at),
        when(key.activated_at),
        "yes" if key.published else "no",
        when(key.publish_until),
    )


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@settings_options
def list_(as_json: bool, data_dir: str | None, config_file: str | None) -> None:
    """List keys: next, current, previous, retired (one lifecycle per algorithm)."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> list[KeyInfo]:
        return await issuer.list_keys()

    found = run_with_issuer(settings, use)
    if as_json:
        for key in found:
            click.echo(json.dumps(dataclasses.asdict(key)))
        return
    rows: list[tuple[str, ...]] = [
        ("KID", "ALG", "STATE", "CREATED", "ACTIVATED", "PUBLISHED", "PUBLISHED UNTIL")
    ]
    rows += [_row(key) for key in found]
    echo_table(rows)


@keys.command("rotate")
@click.option(
    "--force",
    is_flag=True,
    help="Sign with the next key now even if it was published less than one JWKS cache "
    "lifetime ago (verifiers with a cached JWKS may reject tokens until they refetch).",
)
@click.option(
    "--alg",
    help="The algorithm whose keys rotate (each algorithm in use has its own); "
    "default the server's signing_alg.",
)
@settings_options
def rotate(force: bool, alg: str | None, data_dir: str | None, config_file: str | None) -> None:
    """Make the next key current (the current one becomes previous)."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> KeyInfo:
        return await issuer.rotate_keys(force=force, alg=alg)

    key = run_with_issuer(settings, use)
    click.echo(f"current key is now {key.kid} ({key.alg})")


@keys.command("retire")
@click.argument("kid")
@settings_options
def retire(kid: str, data_dir: str | None, config_file: str | None) -> None:
    """Retire KID (a next or previous key); it stays published until its tokens expire."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> KeyInfo:
        await issuer.retire_key(kid=kid)
        return next(k for k in await issuer.list_keys() if k.kid == kid)

    key = run_with_issuer(settings, use)
    click.echo(f"retired {kid} ({key.alg})")
