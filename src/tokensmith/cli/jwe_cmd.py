"""``tokensmith jwe``: encrypt and decrypt compact JWE."""

from __future__ import annotations

import sys

import click

from ..jose import JoseError
from ..jose import jwe as jose_jwe
from ..jose.content import ALL_CONTENT_ENCRYPTIONS
from ..jose.keymgmt import ALL_KEY_MANAGEMENT
from .inputs import Rejected, fail, load_key, load_key_or_set, read_token

MAX_PLAINTEXT = 256 * 1024
_ENCRYPT_ALGS = tuple(a for a in ALL_KEY_MANAGEMENT if a != "RSA1_5")


@click.group(name="jwe")
def jwe_group() -> None:
    """Encrypt and decrypt JSON Web Encryption tokens."""


@jwe_group.command()
@click.option("--key", "key_file", required=True, help="Recipient key: public JWK/PEM or secret.")
@click.option("--alg", type=click.Choice(_ENCRYPT_ALGS), help="Key management (default: key's).")
@click.option("--enc", type=click.Choice(ALL_CONTENT_ENCRYPTIONS), default="A256GCM",
              show_default=True, help="Content encryption.")  # fmt: skip
@click.option("--zip", "compress", is_flag=True, help="Compress the plaintext (zip: DEF).")
@click.argument("text", default="-")
def encrypt(key_file: str, alg: str | None, enc: str, compress: bool, text: str) -> None:
    """Print TEXT (or stdin, with - or nothing) encrypted as a compact JWE."""
    data = sys.stdin.buffer.read(MAX_PLAINTEXT + 1) if text == "-" else text.encode("utf-8")
    if len(data) > MAX_PLAINTEXT:
        raise click.BadParameter(f"the plaintext is larger than {MAX_PLAINTEXT} bytes")
    try:
        key = load_key(key_file)
        click.echo(jose_jwe.encrypt(data, key, alg=alg, enc=enc, compress=compress))
    except JoseError as exc:
        fail(exc)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@jwe_group.command()
@click.option("--key", "key_file", required=True, help="Private key or secret, or a key set.")
@click.option("--alg", "algs", multiple=True, type=click.Choice(ALL_KEY_MANAGEMENT),
              help="Allowed key management (repeat; default: the recommended set).")  # fmt: skip
@click.option("--enc", "encs", multiple=True, type=click.Choice(ALL_CONTENT_ENCRYPTIONS),
              help="Allowed content encryption (repeat; default: all).")  # fmt: skip
@click.option("--max-p2c", type=click.IntRange(0, jose_jwe.MAX_P2C_LIMIT), default=0,
              help="Highest PBES2 iteration count accepted (needed to allow PBES2).")  # fmt: skip
@click.argument("token")
def decrypt(
    key_file: str, algs: tuple[str, ...], encs: tuple[str, ...], max_p2c: int, token: str
) -> None:
    """Decrypt TOKEN (or - for stdin) and print the plaintext."""
    try:
        policy = jose_jwe.JWEPolicy(
            algorithms=algs or jose_jwe.DEFAULT_ALGORITHMS,
            encryptions=encs or jose_jwe.DEFAULT_ENCRYPTIONS,
            max_p2c=max_p2c,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        keys = load_key_or_set(key_file)
        result = jose_jwe.decrypt(read_token(token), keys, policy=policy)
    except (JoseError, Rejected) as exc:
        fail(exc)
        return
    sys.stdout.buffer.write(result.plaintext)
    sys.stdout.buffer.flush()
