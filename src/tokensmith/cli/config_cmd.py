"""``tokensmith config show``: the effective settings, secrets masked."""

from __future__ import annotations

import json

import click

from ..settings import env_name
from .server_common import settings_options, settings_or_exit


@click.group("config")
def config_group() -> None:
    """Inspect the server's settings (env TOKENSMITH_*, TOML file, defaults)."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="A JSON object instead of TOML.")
@settings_options
def show(as_json: bool, data_dir: str | None, config_file: str | None) -> None:
    """Print every setting's effective value (secrets as ****), with its env variable."""
    settings = settings_or_exit(config_file, data_dir=data_dir)
    values = settings.effective()
    if as_json:
        click.echo(json.dumps(values, indent=2, sort_keys=True))
        return
    for name, value in values.items():
        if value is None:
            click.echo(f"# {name} is unset  # {env_name(name)}")
        else:
            click.echo(f"{name} = {_toml(value)}  # {env_name(name)}")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)
