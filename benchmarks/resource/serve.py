"""The benchmark's API process: ``python -m benchmarks.resource.serve VARIANT PORT KEYFILE``.

One FastAPI route ``GET /orders`` under uvicorn (one process), with no auth, or behind
``BearerAuthMiddleware`` with the verified-token cache on or off. KEYFILE holds the
public JWK the tokens are signed for.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from tokensmith.jose import JWK
from tokensmith.resource import AccessTokenVerifier, VerifierOptions
from tokensmith.resource.asgi import BearerAuthMiddleware

ISSUER = "https://id.example"
AUDIENCE = "orders-api"


def build(variant: str, key: JWK) -> Any:
    app = FastAPI()

    @app.get("/orders")
    async def orders() -> dict[str, int]:
        return {"count": 0}

    if variant == "no_auth":
        return app
    verifier = AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=key,
        options=VerifierOptions(cache=variant == "middleware_cache_on"),  # off: *_cache_off*
    )
    return BearerAuthMiddleware(app, verifier=verifier)


def main() -> None:
    variant, port, key_file = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    app = build(variant, JWK.from_json(key_file.read_text()))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
