"""A notes API protected by tokensmith (Flask). See README.md beside this file.

Run:  ISSUER=http://127.0.0.1:8000 FEED_SECRET=... flask --app app run --port 8002
"""

from __future__ import annotations

import os

from flask import Flask, g

from tokensmith.resource import AccessTokenVerifier, RevocationFeed, VerifierOptions
from tokensmith.resource.flask import TokenAuth

ISSUER = os.environ.get("ISSUER", "http://127.0.0.1:8000")
AUDIENCE = os.environ.get("AUDIENCE", ISSUER)
FEED_SECRET = os.environ.get("FEED_SECRET")

# A sync app: the feed runs in a daemon thread of its own.
feed = RevocationFeed(ISSUER, token=FEED_SECRET).start() if FEED_SECRET else None
verifier = AccessTokenVerifier(
    issuer=ISSUER, audience=AUDIENCE, options=VerifierOptions(revocations=feed)
)

app = Flask(__name__)
auth = TokenAuth(app, verifier=verifier)
NOTES: dict[str, list[str]] = {}


@app.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/notes")
@auth.required(scopes=["profile"])
def list_notes() -> dict[str, object]:
    return {"sub": g.auth.subject, "notes": NOTES.get(g.auth.subject, [])}


@app.post("/notes")
@auth.required()
def add_note() -> tuple[dict[str, object], int]:
    NOTES.setdefault(g.auth.subject, []).append(f"note {len(NOTES.get(g.auth.subject, [])) + 1}")
    return {"notes": NOTES[g.auth.subject]}, 201


@app.get("/admin")
@auth.required(roles=["admin"])
def admin() -> dict[str, int]:
    return {"users_with_notes": len(NOTES)}
