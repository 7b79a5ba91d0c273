"""Loopback servers and a movable clock for the resource tests.

``JWKSServer``: a real threaded HTTP server on 127.0.0.1 serving a discovery document
and a JWKS, counting requests per path, with switchable failure modes (down, redirect,
a 5 MB body, a slow drip). Tests change what it serves and move the injected clock;
nothing sleeps to make time pass.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tokensmith.jose import JWK, jwt

JWKS_PATH = "/jwks"


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _drip(h: BaseHTTPRequestHandler, piece: bytes) -> None:
    """``piece`` 1,000 times, 50 ms apart (until the client hangs up)."""
    with contextlib.suppress(OSError):
        for _ in range(1000):
            h.wfile.write(piece)
            h.wfile.flush()
            time.sleep(0.05)


class JWKSServer:
    def __init__(self) -> None:
        self.keys: list[JWK] = []
        self.cache_control: str | None = "public, max-age=3600"
        self.mode = "ok"
        self.delay = 0.0
        self.requests: Counter[str] = Counter()
        self.discovery_issuer: str | None = None
        self.extra_members: dict[str, Any] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with server._lock:
                    server.requests[self.path] += 1
                if server.delay:
                    time.sleep(server.delay)
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.jwks_url = self.url + JWKS_PATH
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def jwks_fetches(self) -> int:
        return self.requests[JWKS_PATH]

    def document(self) -> dict[str, Any]:
        return {"keys": [k.public().to_dict() for k in self.keys], **self.extra_members}

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        if h.path == "/.well-known/openid-configuration":
            doc = {"issuer": self.discovery_issuer or self.url, "jwks_uri": self.jwks_url}
            self._send(h, 200, json.dumps(doc).encode())
            return
        if h.path != JWKS_PATH:
            self._send(h, 404, b"{}")
            return
        mode = self.mode
        if mode == "down":
            self._send(h, 503, b"down")
        elif mode == "redirect":
            self._send(h, 302, b"", extra={"Location": self.url + "/elsewhere"})
        elif mode == "big":
            self._send(h, 200, b'{"keys": [' + b" " * (5 * 1024 * 1024) + b"]}")
        elif mode == "big-chunked":
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            piece = b" " * 65536
            try:
                for _ in range(80):  # 5 MB
                    h.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                h.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
        elif mode == "drip":  # the headers, then a byte of the body every 50 ms
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", "1000")
            h.end_headers()
            _drip(h, b" ")
        elif mode == "drip-headers":  # a status line, then a header line every 50 ms
            h.wfile.write(b"HTTP/1.1 200 OK\r\n")
            _drip(h, b"X-Padding: a\r\n")
            h.close_connection = True
        elif mode == "private":
            doc = {"keys": [k.to_dict() for k in self.keys]}
            self._send(h, 200, json.dumps(doc).encode())
        else:
            extra = {"Cache-Control": self.cache_control} if self.cache_control else {}
            self._send(h, 200, json.dumps(self.document()).encode(), extra=extra)

    @staticmethod
    def _send(
        h: BaseHTTPRequestHandler, status: int, body: bytes, extra: dict[str, str] | None = None
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            h.send_header(name, value)
        h.end_headers()
        with contextlib.suppress(OSError):
            h.wfile.write(body)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


ISSUER = "https://id.example"
AUDIENCE = "orders-api"


def make_token(
    key: JWK,
    *,
    now: float | None = None,
    ttl: int = 600,
    typ: str | None = "at+jwt",
    alg: str | None = None,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    issued = int(now if now is not None else time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": issued,
        "exp": issued + ttl,
        "jti": f"jti-{issued}-{id(key)}",
        "client_id": "first-party",
        "scope": "orders:read",
    }
    body.update(claims)
    return jwt.encode(body, key, alg=alg, typ=typ, header=header)


class FeedServer:
    """A loopback SSE revocation feed shaped like tokensmith serve's
    (``id:``/``event: revocation``/``data:`` blocks, resume with ``Last-Event-ID``).
    Live items (events and raw blocks) go out in the order they were made."""

    SECRET = "feed-secret-for-tests"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.items: list[bytes] = []  # every block, in order: rendered events and raw blocks
        self.item_ids: list[int | None] = []  # the event id of each item (None: raw)
        self.last_event_ids: list[str | None] = []
        self.status = 200
        self.connections = 0
        self._cond = threading.Condition()
        self._generation = 0  # bumped by drop_connections()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.serve(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, kind: str, value: str, *, expires_at: float, **extra: Any) -> int:
        with self._cond:
            ident = len(self.events) + 1
            event = {
                "id": ident,
                "kind": kind,
                "value": value,
                "created_at": time.time(),
                "expires_at": expires_at,
                **extra,
            }
            self.events.append(event)
            data = json.dumps(event, separators=(",", ":"))
            self.items.append(f"id: {ident}\nevent: revocation\ndata: {data}\n\n".encode())
            self.item_ids.append(ident)
            self._cond.notify_all()
            return ident

    def send_raw(self, block: bytes) -> None:
        """Send ``block`` as it is to the connected clients (not replayed later)."""
        with self._cond:
            self.items.append(block)
            self.item_ids.append(None)
            self._cond.notify_all()

    def drop_connections(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def serve(self, h: BaseHTTPRequestHandler) -> None:
        if h.path != "/auth/revocations":
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        with self._cond:
            self.connections += 1
            self.last_event_ids.append(h.headers.get("Last-Event-ID"))
            generation = self._generation
            position = len(self.items)
        if self.status != 200 or h.headers.get("Authorization") != f"Bearer {self.SECRET}":
            status = self.status if self.status != 200 else 401
            h.send_response(status)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-store")
        h.send_header("Connection", "close")
        h.end_headers()
        after = int(h.headers.get("Last-Event-ID") or 0)
        try:
            h.wfile.write(b"retry: 3000\n\n")
            with self._cond:  # the backlog: events made before this connection
                backlog = [
                    item
                    for item, ident in zip(self.items[:position], self.item_ids, strict=False)
                    if ident is not None and ident > after
                ]
            for item in backlog:
                h.wfile.write(item)
            h.wfile.flush()
            while True:
                with self._cond:
                    if len(self.items) == position and generation == self._generation:
                        self._cond.wait(0.5)
                    if generation != self._generation:
                        return
                    fresh = self.items[position:]
                    position += len(fresh)
                for item in fresh:
                    h.wfile.write(item)
                if not fresh:
                    h.wfile.write(b": keep-alive\n\n")
                h.wfile.flush()
        except OSError:
            return
        finally:
            h.close_connection = True

    def close(self) -> None:
        self.drop_connections()
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_for(condition: Any, timeout: float = 5.0) -> bool:
    """Poll ``condition()`` until true (for background threads); never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())


def bound_token(key: JWK, client_key: JWK, **claims: Any) -> str:
    """An access token bound to ``client_key`` (``cnf.jkt``, RFC 9449 §6.1)."""
    return make_token(key, cnf={"jkt": client_key.thumbprint()}, **claims)


def dpop_headers(
    client_key: JWK,
    token: str,
    *,
    url: str,
    method: str = "GET",
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """``Authorization: DPoP <token>`` and a fresh proof for this request."""
    from tokensmith.jose import dpop

    proof = dpop.make_proof(
        client_key,
        htm=method,
        htu=url,
        iat=int(now if now is not None else time.time()),
        access_token=token,
        nonce=nonce,
    )
    return {"Authorization": f"DPoP {token}", "DPoP": proof}
