"""``tokensmith jwt``: sign, verify, decode."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from ..jose import ClaimsPolicy, JoseError
from ..jose import jwt as jose_jwt
from ..jose.algorithms import ALL_SIGNING_ALGORITHMS
from ..jose.encoding import parse_json_object
from .inputs import Rejected, fail, load_jwks, load_key, load_key_or_set, parse_duration, read_token


@click.group(name="jwt")
def jwt_group() -> None:
    """Sign, verify and read JSON Web Tokens."""


@jwt_group.command()
@click.option("--key", "key_file", required=True, help="Private key: JWK JSON or PEM file.")
@click.option("--alg", type=click.Choice(ALL_SIGNING_ALGORITHMS), help="Default: the key's.")
@click.option("--kid", help="The 'kid' header (default: the key's kid).")
@click.option("--claims", "claims_json", default="{}", help="Claims as a JSON object.")
@click.option("--exp", "exp", help="Lifetime: 15m, 1h, 7d... (sets exp).")
@click.option("--iss", help="Issuer claim.")
@click.option("--aud", help="Audience claim.")
@click.option("--sub", help="Subject claim.")
def sign(
    key_file: str,
    alg: str | None,
    kid: str | None,
    claims_json: str,
    exp: str | None,
    iss: str | None,
    aud: str | None,
    sub: str | None,
) -> None:
    """Print a signed JWT. iat is set to now."""
    try:
        claims: dict[str, Any] = parse_json_object(
            claims_json, max_size=128 * 1024, max_depth=16, what="--claims"
        )
    except JoseError as exc:
        raise click.BadParameter(exc.message, param_hint="--claims") from None
    now = int(time.time())
    claims.setdefault("iat", now)
    if exp is not None:
        claims["exp"] = now + parse_duration(exp)
    for name, value in (("iss", iss), ("aud", aud), ("sub", sub)):
        if value is not None:
            claims[name] = value
    try:
        key = load_key(key_file)
        if kid is not None:
            key = key.with_kid(kid)
        click.echo(jose_jwt.encode(claims, key, alg=alg))
    except JoseError as exc:
        fail(exc)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@jwt_group.command()
@click.option("--key", "key_file", help="Public key or secret: JWK JSON, JWK set or PEM file.")
@click.option("--jwks", "jwks_source", help="A JWK set: a file, or an http(s) URL.")
@click.option("--alg", "algs", multiple=True, type=click.Choice(ALL_SIGNING_ALGORITHMS))
@click.option("--iss", help="Required issuer.")
@click.option("--aud", help="This recipient's audience.")
@click.option("--leeway", type=click.FloatRange(0, 300), default=0, show_default=True)
@click.argument("token")
def verify(
    key_file: str | None,
    jwks_source: str | None,
    algs: tuple[str, ...],
    iss: str | None,
    aud: str | None,
    leeway: float,
    token: str,
) -> None:
    """Verify TOKEN (or - for stdin) and print its claims as JSON."""
    if (key_file is None) == (jwks_source is None):
        raise click.UsageError("give exactly one of --key and --jwks")
    try:
        keys = load_key_or_set(key_file) if key_file else load_jwks(jwks_source or "")
        policy = ClaimsPolicy(issuer=iss, audience=aud, algorithms=algs or None, leeway=leeway)
        result = jose_jwt.decode(read_token(token), keys, policy=policy)
    except (JoseError, Rejected) as exc:
        fail(exc)
        return
    click.echo(json.dumps(result.claims, indent=2, ensure_ascii=False))


@jwt_group.command()
@click.argument("token")
def decode(token: str) -> None:
    """Print TOKEN's header and claims WITHOUT verifying anything."""
    click.echo("warning: not verified: signature and claims were not checked", err=True)
    try:
        result = jose_jwt.peek(read_token(token))
    except JoseError as exc:
        fail(exc)
        return
    click.echo(
        json.dumps({"header": result.header, "claims": result.claims}, indent=2, ensure_ascii=False)
    )
