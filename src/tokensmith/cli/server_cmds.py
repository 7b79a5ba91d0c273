"""Registers the server-side commands (serve, users, keys, config) when their extra is
installed; without it the JOSE commands still work."""

from __future__ import annotations

import click


def register_server_commands(group: click.Group) -> None:
    try:
        from .clients_cmd import clients
        from .config_cmd import config_group
        from .db_cmd import db_group, migrate_data
        from .keys_cmd import keys
        from .serve_cmd import serve
        from .users_cmd import users
    except ImportError:  # the `server` extra is not installed
        return
    group.add_command(serve)
    group.add_command(users)
    group.add_command(keys)
    group.add_command(config_group)
    group.add_command(clients)
    group.add_command(db_group)
    group.add_command(migrate_data)
