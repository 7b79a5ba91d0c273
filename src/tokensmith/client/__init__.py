"""tokensmith.client: the calling side of DPoP (RFC 9449) for httpx.

::

    auth = DPoPAuth()                                   # a new ES256 key, kept in memory
    with httpx.Client(auth=auth) as http:
        http.post("https://id.example/auth/login", json={"username": ..., "password": ...})
        http.get("https://api.example/orders")          # DPoP token + proof (with ath)

Imports :mod:`tokensmith.jose` and ``httpx`` only.
"""

from .auth import DPoPAuth, DPoPClientOptions
from .tokens import TokenSet

__all__ = ["DPoPAuth", "DPoPClientOptions", "TokenSet"]
