"""``tokensmith users``: add, list, disable, enable, revoke, set-password, invite."""

from __future__ import annotations

import json

import click

from ..issuer.service import Issuer, UserInfo
from ..settings import parse_duration
from .server_common import (
    echo_table,
    read_password,
    run_with_issuer,
    settings_options,
    settings_or_exit,
    when,
)


@click.group()
def users() -> None:
    """Manage accounts in the server's database (works while the server runs)."""


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="Give the account the admin role.")
@settings_options
def add(name: str, admin: bool, data_dir: str | None, config_file: str | None) -> None:
    """Create the account NAME. The password comes from stdin when stdin is not a
    terminal (echo "$PW" | tokensmith users add alice), else from a hidden prompt."""
    settings = settings_or_exit(config_file, data_dir=data_dir)
    password = read_password()

    async def use(issuer: Issuer) -> UserInfo:
        return await issuer.add_user(username=name, password=password, admin=admin)

    info = run_with_issuer(settings, use)
    role = " (admin)" if info.is_admin else ""
    click.echo(f"created user {info.username}{role}, id {info.id}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100000))
@settings_options
def list_(as_json: bool, limit: int, data_dir: str | None, config_file: str | None) -> None:
    """List the accounts."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> list[UserInfo]:
        return await issuer.list_users(limit=limit)

    found = run_with_issuer(settings, use)
    if as_json:
        for info in found:
            click.echo(
                json.dumps(
                    {
                        "id": info.id,
                        "username": info.username,
                        "roles": list(info.roles),
                        "created_at": info.created_at,
                        "disabled": info.disabled,
                    }
                )
            )
        return
    if not found:
        click.echo("no users")
        return
    rows = [("USERNAME", "ID", "ROLES", "CREATED", "STATUS")]
    rows += [
        (
            info.username,
            info.id,
            ",".join(info.roles) or "-",
            when(info.created_at),
            "disabled" if info.disabled else "active",
        )
        for info in found
    ]
    echo_table(rows)


@users.command("disable")
@click.argument("name")
@settings_options
def disable(name: str, data_dir: str | None, config_file: str | None) -> None:
    """Disable NAME: every session ends and every access token is denied."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> None:
        await issuer.disable_user(username=name)

    run_with_issuer(settings, use)
    click.echo(f"disabled {name}; its sessions are revoked")


@users.command("enable")
@click.argument("name")
@settings_options
def enable(name: str, data_dir: str | None, config_file: str | None) -> None:
    """Enable a disabled account again."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> None:
        await issuer.enable_user(username=name)

    run_with_issuer(settings, use)
    click.echo(f"enabled {name}")


@users.command("revoke")
@click.argument("name")
@settings_options
def revoke(name: str, data_dir: str | None, config_file: str | None) -> None:
    """End every session of NAME and deny every access token issued so far; the account
    stays usable (a new login works)."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> int:
        return await issuer.revoke_user(username=name)

    count = run_with_issuer(settings, use)
    click.echo(f"revoked {count} session(s) of {name}; its access tokens are denied")


@users.command("set-password")
@click.argument("name")
@settings_options
def set_password(name: str, data_dir: str | None, config_file: str | None) -> None:
    """Set NAME's password (stdin or hidden prompt); every session of NAME ends."""
    settings = settings_or_exit(config_file, data_dir=data_dir)
    password = read_password(prompt="New password")

    async def use(issuer: Issuer) -> None:
        await issuer.set_password(username=name, password=password)

    run_with_issuer(settings, use)
    click.echo(f"password of {name} changed; its sessions are revoked")


@users.command("invite")
@click.option("--ttl", help="How long the invite is valid (e.g. 2d; default invite_ttl).")
@settings_options
def invite(ttl: str | None, data_dir: str | None, config_file: str | None) -> None:
    """Print a one-time invite code for registration = invite (shown once; only its
    hash is stored). Register with POST /auth/register {"username", "password", "invite"}."""
    settings = settings_or_exit(config_file, data_dir=data_dir)
    seconds: int | None = None
    if ttl is not None:
        try:
            parsed = parse_duration(ttl)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--ttl") from None
        if not isinstance(parsed, int) or parsed <= 0:
            raise click.BadParameter(f"{ttl!r} is not a positive duration", param_hint="--ttl")
        seconds = parsed

    async def use(issuer: Issuer) -> str:
        return await issuer.create_invite(ttl=seconds)

    click.echo(run_with_issuer(settings, use))
