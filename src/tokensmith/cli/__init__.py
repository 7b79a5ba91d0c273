"""The ``tokensmith`` command (click): parses, calls the public API, prints.

Exit codes: 0 success, 1 a rejected token or key (``error: <code>: <message>`` on
stderr), 2 a usage error.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .app import cli
    except ImportError as exc:  # the CLI's dependencies are an extra
        sys.stderr.write(
            "error: the tokensmith command needs its extra: "
            f"pip install 'tokensmith[cli]' ({exc})\n"
        )
        raise SystemExit(2) from None
    cli(prog_name="tokensmith")


__all__ = ["main"]
