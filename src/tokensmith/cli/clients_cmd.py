"""``tokensmith clients``: add, list, rotate-secret, disable, enable (issue 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..issuer.clients import GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE, ClientInfo, NewClient
from ..issuer.service import Issuer
from ..settings import parse_duration
from .server_common import echo_table, run_with_issuer, settings_options, settings_or_exit, when

#: short names accepted by --grant
_GRANTS = {
    "client_credentials": GRANT_CLIENT_CREDENTIALS,
    "token-exchange": GRANT_TOKEN_EXCHANGE,
    "token_exchange": GRANT_TOKEN_EXCHANGE,
    GRANT_TOKEN_EXCHANGE: GRANT_TOKEN_EXCHANGE,
    # a public login client: users log in at /auth/login with its client_id
    "refresh_token": "refresh_token",
}
_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")


@click.group()
def clients() -> None:
    """Manage OAuth clients (services) in the server's database."""


def _words(values: tuple[str, ...]) -> list[str]:
    return [w for value in values for w in value.split() if w]


@clients.command("add")
@click.argument("name")
@click.option(
    "--grant",
    "grants",
    multiple=True,
    type=click.Choice(sorted(_GRANTS)),
    help="An allowed grant (repeat); default client_credentials. refresh_token (with "
    "--public): a login client whose users log in at /auth/login with its client_id.",
)
@click.option("--audience", "audiences", multiple=True, help="An allowed audience (repeat).")
@click.option("--scope", "scopes", multiple=True, help="An allowed scope (repeat).")
@click.option(
    "--auth",
    "auth_method",
    type=click.Choice(_METHODS),
    default="client_secret_basic",
    show_default=True,
    help="How the client authenticates at the token endpoint.",
)
@click.option("--public", is_flag=True, help="A public client (no secret, no client grants).")
@click.option("--access-ttl", help="Lifetime of its access tokens (e.g. 5m); default the server's.")
@click.option(
    "--signing-alg",
    help="Signing algorithm of its tokens: the server's or one of TOKENSMITH_SIGNING_ALGS "
    "(default: the server's).",
)
@click.option(
    "--cookie-mode",
    is_flag=True,
    help="A login client's refresh tokens travel only in its __Host- cookie (CSRF "
    "double submit + Origin check); needs --public --grant refresh_token.",
)
@click.option(
    "--jwks",
    "jwks_file",
    type=click.Path(exists=True, dir_okay=False),
    help="private_key_jwt: a file holding the client's public JWK Set.",
)
@click.option("--jwks-uri", help="private_key_jwt: where the client publishes its JWK Set.")
@click.option(
    "--dpop",
    type=click.Choice(["required", "optional", "off"]),
    default="optional",
    show_default=True,
    help="DPoP (RFC 9449): require a proof, bind tokens when one comes, or ignore proofs.",
)
@settings_options
def add(
    name: str,
    grants: tuple[str, ...],
    audiences: tuple[str, ...],
    scopes: tuple[str, ...],
    auth_method: str,
    public: bool,
    access_ttl: str | None,
    signing_alg: str | None,
    cookie_mode: bool,
    jwks_file: str | None,
    jwks_uri: str | None,
    dpop: str,
    data_dir: str | None,
    config_file: str | None,
) -> None:
    """Register the client NAME (its client_id) and print it as JSON; a
    client_secret_* client's client_secret is printed this once and stored only hashed."""
    settings = settings_or_exit(config_file, data_dir=data_dir)
    ttl: int | None = None
    if access_ttl is not None:
        try:
            parsed = parse_duration(access_ttl)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--access-ttl") from None
        if not isinstance(parsed, int) or parsed <= 0:
            raise click.BadParameter(f"{access_ttl!r} is not a duration", param_hint="--access-ttl")
        ttl = parsed
    jwks: dict[str, Any] | None = None
    if jwks_file is not None:
        try:
            loaded = json.loads(Path(jwks_file).read_text())
        except (OSError, ValueError) as exc:
            raise click.BadParameter(f"not a JSON file: {exc}", param_hint="--jwks") from None
        jwks = loaded if isinstance(loaded, dict) else {"keys": "not an object"}
    grant_types = [_GRANTS[g] for g in grants]
    if not grant_types and not public:
        grant_types = [GRANT_CLIENT_CREDENTIALS]

    async def use(issuer: Issuer) -> NewClient:
        return await issuer.clients.create(
            name=name,
            auth_method="none" if public else auth_method,
            grant_types=grant_types,
            scopes=_words(scopes),
            audiences=_words(audiences),
            access_ttl=ttl,
            signing_alg=signing_alg,
            cookie_mode=cookie_mode,
            jwks=jwks,
            jwks_uri=jwks_uri,
            dpop=dpop,
        )

    new = run_with_issuer(settings, use)
    body = new.client.to_dict()
    if new.client_secret is not None:
        body["client_secret"] = new.client_secret
    click.echo(json.dumps(body, indent=2))


@clients.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100000))
@settings_options
def list_(as_json: bool, limit: int, data_dir: str | None, config_file: str | None) -> None:
    """List the clients (never a secret)."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> list[ClientInfo]:
        return await issuer.clients.list(limit=limit)

    found = run_with_issuer(settings, use)
    if as_json:
        for info in found:
            click.echo(json.dumps(info.to_dict()))
        return
    if not found:
        click.echo("no clients")
        return
    rows = [("CLIENT_ID", "AUTH", "AUDIENCES", "SCOPES", "DPOP", "CREATED", "STATUS")]
    rows += [
        (
            info.client_id,
            info.auth_method,
            ",".join(info.audiences) or "-",
            ",".join(info.scopes) or "-",
            info.dpop,
            when(info.created_at),
            "disabled" if info.disabled else "active",
        )
        for info in found
    ]
    echo_table(rows)


@clients.command("rotate-secret")
@click.argument("client_id")
@settings_options
def rotate_secret(client_id: str, data_dir: str | None, config_file: str | None) -> None:
    """Give CLIENT_ID a new secret (printed as JSON, once); the old one stops working."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> str:
        return await issuer.clients.rotate_secret(client_id=client_id)

    secret = run_with_issuer(settings, use)
    click.echo(json.dumps({"client_id": client_id, "client_secret": secret}, indent=2))


@clients.command("disable")
@click.argument("client_id")
@settings_options
def disable(client_id: str, data_dir: str | None, config_file: str | None) -> None:
    """CLIENT_ID can no longer authenticate; tokens it obtained for itself are denied."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> None:
        await issuer.clients.disable(client_id=client_id)

    run_with_issuer(settings, use)
    click.echo(f"disabled client {client_id}")


@clients.command("enable")
@click.argument("client_id")
@settings_options
def enable(client_id: str, data_dir: str | None, config_file: str | None) -> None:
    """Let CLIENT_ID authenticate again."""
    settings = settings_or_exit(config_file, data_dir=data_dir)

    async def use(issuer: Issuer) -> None:
        await issuer.clients.enable(client_id=client_id)

    run_with_issuer(settings, use)
    click.echo(f"enabled client {client_id}")
