"""``tokensmith jwk``: generate, public, thumbprint."""

from __future__ import annotations

import click

from ..jose import JWK, JoseError
from ..jose.jwk import generatable_algorithms
from .inputs import fail, load_key


@click.group()
def jwk() -> None:
    """Make and inspect JSON Web Keys."""


@jwk.command()
@click.argument("alg", type=click.Choice(generatable_algorithms(), case_sensitive=True))
@click.option("--kid", help="Key ID (default: the RFC 7638 thumbprint).")
def generate(alg: str, kid: str | None) -> None:
    """Print a new private JWK for ALG as JSON."""
    click.echo(JWK.generate(alg, kid=kid).to_json())


@jwk.command()
@click.argument("file", type=click.Path(dir_okay=False))
def public(file: str) -> None:
    """Print the public JWK of FILE (JWK JSON or PEM)."""
    try:
        key = load_key(file)
        if key.is_symmetric:
            raise click.UsageError("a symmetric (oct) key has no public form")
        click.echo(key.public().to_json())
    except JoseError as exc:
        fail(exc)


@jwk.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--hash", "hash_name", default="sha256", type=click.Choice(["sha256", "sha384", "sha512"])
)
def thumbprint(file: str, hash_name: str) -> None:
    """Print the RFC 7638 thumbprint of FILE (base64url)."""
    try:
        click.echo(load_key(file).thumbprint(hash_name))
    except JoseError as exc:
        fail(exc)
