"""The server's clock: the system time, or (tests only) a time read from a file.

``TOKENSMITH_TEST_CLOCK_FILE`` names a file holding ``+SECONDS`` / ``-SECONDS`` (an offset
added to the system time) or ``SECONDS`` (an absolute Unix time). Integration tests write
it to move a real server process through expiry without sleeping. Off by default; never
set it in production.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def system_clock() -> float:
    return time.time()


def file_clock(path: Path) -> Callable[[], float]:
    """A clock that reads ``path`` on every call; a missing or empty file means no shift."""

    def now() -> float:
        try:
            text = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return time.time()
        if not text:
            return time.time()
        try:
            value = float(text)
        except ValueError:
            return time.time()
        if text[0] in "+-":
            return time.time() + value
        return value

    return now


def make_clock(test_clock_file: Path | None) -> Callable[[], float]:
    return system_clock if test_clock_file is None else file_clock(test_clock_file)
