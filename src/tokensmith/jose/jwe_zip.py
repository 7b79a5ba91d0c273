"""``zip: DEF`` (RFC 7516 §4.1.3): raw DEFLATE (RFC 1951), inflated with a bound (S9).

The decompressor is asked for at most ``max_size + 1`` bytes, so the work done for a
compression bomb is bounded by the cap, not by what the sender hoped to expand to.
"""

from __future__ import annotations

import zlib
from typing import Final

from .errors import LimitExceededError, MalformedError

#: The default cap on an inflated plaintext.
DEFAULT_MAX_INFLATED: Final = 250 * 1024
_RAW_DEFLATE: Final = -15


def deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, _RAW_DEFLATE)
    return compressor.compress(data) + compressor.flush()


def inflate(data: bytes, max_size: int) -> bytes:
    """Inflate raw DEFLATE ``data`` into at most ``max_size`` bytes, or raise."""
    decompressor = zlib.decompressobj(_RAW_DEFLATE)
    try:
        out = decompressor.decompress(data, max_size + 1)
    except zlib.error:
        raise MalformedError(
            "the compressed plaintext is not valid DEFLATE", code="jwe_bad_zip"
        ) from None
    if len(out) > max_size or decompressor.unconsumed_tail:
        raise LimitExceededError(
            f"the plaintext inflates to more than {max_size} bytes", code="jwe_zip_too_large"
        )
    if not decompressor.eof or decompressor.unused_data:
        raise MalformedError(
            "the compressed plaintext is truncated or has trailing data", code="jwe_bad_zip"
        )
    return out


__all__ = ["DEFAULT_MAX_INFLATED", "deflate", "inflate"]
