"""The master key that encrypts private signing keys at rest (AES-GCM, in issuer/).

From ``TOKENSMITH_MASTER_KEY`` (base64url of 32 bytes) or ``DATA_DIR/master.key``,
created with mode 0600 on first run. A key file readable by group or others is refused.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path

from ..settings import Settings, decode_master_key


class MasterKeyError(Exception):
    """The master key cannot be read or created; the message says what to do."""


def resolve_master_key(settings: Settings, *, create: bool = True) -> bytes:
    if settings.master_key is not None:
        return decode_master_key(settings.master_key.get_secret_value())
    return read_or_create_key_file(settings.master_key_file, create=create)


def read_or_create_key_file(path: Path, *, create: bool = True) -> bytes:
    if create:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        except OSError as exc:
            raise MasterKeyError(f"cannot create {path}: {exc.strerror}") from None
        else:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                encoded = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=")
                handle.write(encoded.decode("ascii") + "\n")
    try:
        info = path.stat()
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise MasterKeyError(
                f"{path} is readable by other users (mode {stat.S_IMODE(info.st_mode):o}); "
                f"run: chmod 600 {path}"
            )
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise MasterKeyError(
            f"{path} does not exist; start `tokensmith serve` once or set TOKENSMITH_MASTER_KEY"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MasterKeyError(f"cannot read {path}: {exc}") from None
    try:
        return decode_master_key(text)
    except ValueError as exc:
        raise MasterKeyError(f"{path}: {exc}") from None
