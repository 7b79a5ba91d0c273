"""S4: ``jku`` / ``x5u`` (and ``x5c``) headers never cause a fetch; the CLI's key-set
client fetches only the URL it is given: https, or http on loopback, no redirects,
bounded size and time. Talks only to 127.0.0.1."""

from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest
from hostile import CLAIMS, POLICY, forge, rejected

from tokensmith.cli.inputs import MAX_JWKS_DOWNLOAD, Rejected, fetch_jwks
from tokensmith.jose import JWK, JWKSet, jws, jwt

URL_HEADERS = [
    {"jku": "https://attacker.example/jwks.json"},
    {"x5u": "https://attacker.example/cert.pem"},
    {"jku": "http://127.0.0.1:1/jwks.json", "x5u": "file:///etc/passwd"},
    {"x5c": ["MIIB"], "jku": "https://169.254.169.254/latest/meta-data/"},
]


@pytest.fixture
def attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record (and block) every way a fetch could start."""
    attempts: list[str] = []

    def blocked(name: str) -> Any:
        def spy(*args: Any, **kwargs: Any) -> Any:
            attempts.append(f"{name}{args[1:]!r}")
            raise OSError(f"test: {name} blocked")

        return spy

    monkeypatch.setattr(socket.socket, "connect", blocked("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", blocked("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", blocked("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", blocked("getaddrinfo"))
    monkeypatch.setattr(urllib.request, "urlopen", blocked("urlopen"))
    monkeypatch.setattr(urllib.request.OpenerDirector, "open", blocked("opener.open"))
    monkeypatch.setattr(http.client.HTTPConnection, "connect", blocked("HTTPConnection.connect"))
    return attempts


@pytest.mark.parametrize("url_header", URL_HEADERS, ids=",".join)
def test_s4_header_urls_never_fetched_for_a_forgery(
    url_header: dict[str, Any], es256: JWK, attempts: list[str]
) -> None:
    attacker = JWK.generate("ES256", kid="ec")
    token = forge({"alg": "ES256", "kid": "ec", **url_header}, CLAIMS, attacker)
    with rejected("jws_invalid_signature"):
        jwt.decode(token, es256.public(), policy=POLICY)
    with rejected("jws_invalid_signature"):
        jws.verify(token, JWKSet([es256.public()]))
    header_b64, payload_b64, signature_b64 = token.split(".")
    with rejected("jws_invalid_signature"):
        jws.verify_json(
            {"protected": header_b64, "payload": payload_b64, "signature": signature_b64},
            es256.public(),
        )
    assert attempts == []


@pytest.mark.parametrize("url_header", URL_HEADERS, ids=",".join)
def test_s4_header_urls_ignored_for_a_genuine_token(
    url_header: dict[str, Any], es256: JWK, attempts: list[str]
) -> None:
    token = forge({"alg": "ES256", "kid": "ec", **url_header}, CLAIMS, es256)
    assert jwt.decode(token, es256.public(), policy=POLICY).claims == CLAIMS
    assert attempts == []


# ---- the CLI key-set client --------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}
    hits: ClassVar[list[str]] = []
    release: ClassVar[threading.Event] = threading.Event()

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path == "/hang":
            self.release.wait(5)
            return
        status, headers, body = self.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(served_key: JWK) -> Iterator[str]:
    public_set = json.dumps({"keys": [served_key.public().to_dict()]}).encode()
    private_set = json.dumps({"keys": [served_key.to_dict()]}).encode()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    _Handler.routes = {
        "/jwks": (200, {"Content-Type": "application/json"}, public_set),
        "/redirect": (302, {"Location": f"{base}/jwks"}, b""),
        "/redirect-away": (301, {"Location": "https://attacker.example/jwks"}, b""),
        "/big": (200, {}, b" " * (MAX_JWKS_DOWNLOAD + 10)),
        "/private": (200, {}, private_set),
        "/error": (500, {}, b"{}"),
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield base
    _Handler.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def served_key() -> JWK:
    return JWK.generate("ES256", kid="served")


@pytest.fixture(autouse=True)
def _clear_hits() -> None:
    _Handler.hits.clear()


def test_s4_fetch_jwks_from_loopback_http(server: str) -> None:
    key_set = fetch_jwks(f"{server}/jwks")
    assert isinstance(key_set, JWKSet)
    assert key_set.get("served") is not None
    assert _Handler.hits == ["/jwks"]


def test_s4_fetch_jwks_from_loopback_never_goes_through_a_proxy(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy from the environment would fetch "127.0.0.1" on its own host: here it is
    a port where nothing listens, so going through it fails."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.setenv(name, nowhere)
    assert fetch_jwks(f"{server}/jwks").get("served") is not None
    assert _Handler.hits == ["/jwks"]


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/jwks.json",
        "http://10.0.0.1/jwks.json",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost.attacker.example/jwks.json",
        "http://127.0.0.1.nip.io/jwks.json",
        "http://127.0.0.1@attacker.example/jwks.json",
        "file:///etc/passwd",
        "ftp://127.0.0.1/jwks.json",
        "gopher://127.0.0.1/",
        "jwks.json",
        "https:///jwks.json",
    ],
)
def test_s4_fetch_jwks_refuses_without_connecting(url: str, attempts: list[str]) -> None:
    with pytest.raises(Rejected) as exc_info:
        fetch_jwks(url)
    assert exc_info.value.code == "jwks_fetch_refused"
    assert attempts == []


@pytest.mark.parametrize("path", ["/redirect", "/redirect-away"])
def test_s4_fetch_jwks_does_not_follow_redirects(server: str, path: str) -> None:
    with pytest.raises(Rejected) as exc_info:
        fetch_jwks(f"{server}{path}")
    assert exc_info.value.code == "jwks_fetch_failed"
    assert _Handler.hits == [path]  # the redirect target was never requested


def test_s4_fetch_jwks_refuses_an_oversize_body(server: str) -> None:
    with pytest.raises(Rejected) as exc_info:
        fetch_jwks(f"{server}/big")
    assert exc_info.value.code == "jwks_fetch_failed"
    assert "too large" in exc_info.value.message


def test_s4_fetch_jwks_refuses_error_status(server: str) -> None:
    with pytest.raises(Rejected) as exc_info:
        fetch_jwks(f"{server}/error")
    assert exc_info.value.code == "jwks_fetch_failed"


def test_s4_fetch_jwks_refuses_private_keys(server: str) -> None:
    with rejected("jwks_invalid"):
        fetch_jwks(f"{server}/private")


def test_s4_fetch_jwks_is_bounded_in_time(server: str) -> None:
    with pytest.raises(Rejected) as exc_info:
        fetch_jwks(f"{server}/hang", timeout=0.2)
    assert exc_info.value.code == "jwks_fetch_failed"
    assert _Handler.hits == ["/hang"]


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@example.com/jwks.json",
        "https://secret@example.com/jwks.json",
        "http://user:secret@127.0.0.1/jwks.json",
        "http://secret@localhost:8080/jwks.json",
        "https://:secret@example.com/jwks.json",
        "ftp://user:secret@127.0.0.1/jwks.json",
    ],
)
def test_s4_fetch_jwks_refuses_credentials_in_the_url(url: str, attempts: list[str]) -> None:
    with pytest.raises(Rejected) as exc_info:
        fetch_jwks(url)
    assert exc_info.value.code == "jwks_fetch_refused"
    assert "secret" not in str(exc_info.value)
    assert attempts == []


# ---- a raw, misbehaving server: headers and bodies as slow or as large as it likes ----


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], str]]:
    """``start(script)`` -> the base URL of a one-connection server on 127.0.0.1 that
    reads the request and hands the socket to ``script``; everything stops at teardown."""
    done = threading.Event()
    threads: list[threading.Thread] = []
    listeners: list[socket.socket] = []

    def start(script: Callable[[socket.socket], None]) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(10)
        listeners.append(listener)

        def serve() -> None:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                request = b""
                while b"\r\n\r\n" not in request:
                    data = conn.recv(4096)
                    if not data:
                        return
                    request += data
                with contextlib.suppress(OSError):  # the client hung up: what these tests want
                    script(conn)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    start.done = done  # type: ignore[attr-defined]
    yield start
    done.set()
    for listener in listeners:
        listener.close()
    for thread in threads:
        thread.join(10)


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_s4_fetch_jwks_has_an_overall_deadline(
    raw_server: Callable[[Callable[[socket.socket], None]], str], phase: str
) -> None:
    """One byte every 50 ms keeps each socket read well inside its 2 s timeout; only the
    overall deadline (0.5 s here) stops the fetch."""
    done: threading.Event = raw_server.done  # type: ignore[attr-defined]
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    filler = b"X-Padding: " + b"a" * 1000 + b"\r\n"

    def script(conn: socket.socket) -> None:
        deadline = time.monotonic() + 10
        if phase == "headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            data = filler
        else:
            conn.sendall(head)
            data = b" " * 1000
        for i in range(len(data)):
            if done.is_set() or time.monotonic() > deadline:
                return
            conn.sendall(data[i : i + 1])
            time.sleep(0.05)

    url = raw_server(script)
    started = time.monotonic()
    with pytest.raises(Rejected) as exc_info:
        fetch_jwks(f"{url}/jwks", timeout=2.0, deadline=0.5)
    elapsed = time.monotonic() - started
    assert exc_info.value.code == "jwks_fetch_failed"
    assert "longer than" in exc_info.value.message
    assert elapsed < 5  # generous: the point is "not for ever"


@pytest.mark.parametrize(
    ("length", "words"),
    [(str(MAX_JWKS_DOWNLOAD + 1), "too large"), ("12x", "invalid Content-Length")],
    ids=["oversize", "invalid"],
)
def test_s4_fetch_jwks_refuses_a_bad_content_length_before_reading(
    raw_server: Callable[[Callable[[socket.socket], None]], str], length: str, words: str
) -> None:
    """A ``Content-Length`` above the cap, or not a number, is refused at once: the server
    sends a few bytes and then nothing, and the fetch does not wait for the rest."""
    done: threading.Event = raw_server.done  # type: ignore[attr-defined]

    def script(conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {length}\r\n\r\n".encode()
            + b'{"keys": ['
        )
        done.wait(10)

    url = raw_server(script)
    with pytest.raises(Rejected) as exc_info:
        fetch_jwks(f"{url}/jwks", timeout=2.0)
    assert exc_info.value.code == "jwks_fetch_failed"
    assert words in exc_info.value.message


def test_s4_fetch_jwks_stops_an_undeclared_body_at_the_cap(
    raw_server: Callable[[Callable[[socket.socket], None]], str],
) -> None:
    """No ``Content-Length``, a body that never ends: reading stops just past the cap."""
    done: threading.Event = raw_server.done  # type: ignore[attr-defined]
    sent = [0]

    def script(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
        block = b" " * 1024
        while not done.is_set() and sent[0] < 64 * 1024 * 1024:
            conn.sendall(block)
            sent[0] += len(block)

    url = raw_server(script)
    with pytest.raises(Rejected) as exc_info:
        fetch_jwks(f"{url}/jwks", timeout=5.0, deadline=8.0, max_bytes=4096)
    assert exc_info.value.code == "jwks_fetch_failed"
    assert "too large" in exc_info.value.message


def test_s4_fetch_jwks_deadline_covers_a_name_lookup_that_hangs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A resolver that never answers (the stand-in for a dead DNS server: socket.getaddrinfo
    has no timeout of its own) is cut off by the overall deadline."""
    release = threading.Event()
    looked_up: list[str] = []

    def hanging_lookup(host: str, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(host)
        release.wait(30)
        raise OSError("test: no resolver")

    monkeypatch.setattr(socket, "getaddrinfo", hanging_lookup)
    started = time.monotonic()
    try:
        with pytest.raises(Rejected) as exc_info:
            fetch_jwks("https://jwks.example.test/jwks.json", timeout=2.0, deadline=0.3)
    finally:
        release.set()
    assert time.monotonic() - started < 5  # generous: the point is "not for ever"
    assert exc_info.value.code == "jwks_fetch_failed"
    assert "longer than 0.3 s" in exc_info.value.message
    assert looked_up == ["jwks.example.test"]


def test_s4_fetch_jwks_deadline_covers_a_tls_handshake_that_drips() -> None:
    """A server that accepts, announces a 16 KiB TLS record and sends it one byte every
    50 ms keeps each read of the handshake inside its 2 s timeout, for 800 s; the overall
    deadline (0.5 s) stops the fetch."""
    done = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    received = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                received.append(conn.recv(5))  # the ClientHello's record header
                conn.sendall(b"\x16\x03\x03\x40\x00")  # handshake record, 16,384 bytes
                while not done.wait(0.05):
                    conn.sendall(b"\x00")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    started = time.monotonic()
    try:
        with pytest.raises(Rejected) as exc_info:
            fetch_jwks(f"https://127.0.0.1:{port}/jwks", timeout=2.0, deadline=0.5)
    finally:
        done.set()
        listener.close()
        thread.join(10)
    assert time.monotonic() - started < 5  # generous: the point is "not for ever"
    assert exc_info.value.code == "jwks_fetch_failed"
    assert "longer than 0.5 s" in exc_info.value.message
    assert len(received) == 1
    assert received[0].startswith(b"\x16")  # a handshake had begun
