"""The root command group."""

from __future__ import annotations

import click

from .. import __version__
from .jwe_cmd import jwe_group
from .jwk_cmd import jwk
from .jwt_cmd import jwt_group
from .server_cmds import register_server_commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tokensmith")
def cli() -> None:
    """tokensmith: JWT keys and tokens, strictly.

    \b
    tokensmith jwk generate ES256 --kid k1 > key.json
    tokensmith jwt sign --key key.json --claims '{"sub":"u1"}' --exp 15m
    tokensmith jwt verify --key key.json TOKEN
    """


cli.add_command(jwk)
cli.add_command(jwe_group)
cli.add_command(jwt_group)
register_server_commands(cli)
