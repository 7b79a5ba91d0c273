"""The `tokensmith` command: jwk generate/public/thumbprint, jwt sign/verify/decode.

Exit codes: 0 success, 1 rejected (``error: <code>: ...`` on stderr), 2 usage error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokensmith.cli.app import cli
from tokensmith.cli.inputs import parse_duration
from tokensmith.jose import JWK, ClaimsPolicy, jwt
from tokensmith.jose.jwk import generatable_algorithms


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _run(runner: CliRunner, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def es256_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "es256.json"
    path.write_text(JWK.generate("ES256", kid="k1").to_json())
    return path


@pytest.mark.parametrize("alg", [a for a in generatable_algorithms() if not a.startswith("RS")])
def test_jwk_generate_prints_a_private_jwk_for_the_algorithm(runner: CliRunner, alg: str) -> None:
    code, out, _ = _run(runner, "jwk", "generate", alg, "--kid", "my-kid")
    assert code == 0
    key = JWK.from_json(out)
    assert key.alg == alg
    assert key.kid == "my-kid"
    assert key.is_private


def test_jwk_generate_defaults_kid_to_thumbprint(runner: CliRunner) -> None:
    code, out, _ = _run(runner, "jwk", "generate", "EdDSA")
    assert code == 0
    key = JWK.from_json(out)
    assert key.kid == key.thumbprint()


def test_jwk_generate_unknown_alg_is_a_usage_error(runner: CliRunner) -> None:
    code, _, err = _run(runner, "jwk", "generate", "none")
    assert code == 2
    assert "none" in err


def test_jwk_public_strips_private_members(runner: CliRunner, es256_file: Path) -> None:
    code, out, _ = _run(runner, "jwk", "public", str(es256_file))
    assert code == 0
    public = json.loads(out)
    assert "d" not in public
    assert public["kid"] == "k1"
    assert JWK.from_json(es256_file.read_text()).public().to_dict() == public


def test_jwk_public_of_a_pem_file(runner: CliRunner, tmp_path: Path) -> None:
    key = JWK.generate("ES384")
    pem = tmp_path / "key.pem"
    pem.write_bytes(key.to_pem())
    code, out, _ = _run(runner, "jwk", "public", str(pem))
    assert code == 0
    assert JWK.from_json(out).thumbprint() == key.thumbprint()


def test_jwk_public_of_a_symmetric_key_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "hs.json"
    path.write_text(JWK.generate("HS256").to_json())
    code, _, err = _run(runner, "jwk", "public", str(path))
    assert code == 2
    assert "symmetric" in err


def test_jwk_thumbprint_matches_rfc7638(runner: CliRunner, es256_file: Path) -> None:
    code, out, _ = _run(runner, "jwk", "thumbprint", str(es256_file))
    assert code == 0
    assert out.strip() == JWK.from_json(es256_file.read_text()).thumbprint()


def test_jwk_thumbprint_of_garbage_exits_1_with_code(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}')
    code, _, err = _run(runner, "jwk", "thumbprint", str(path))
    assert code == 1
    assert err.startswith("error: jwk_invalid: ")


def test_missing_key_file_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    code, _, err = _run(runner, "jwk", "public", str(tmp_path / "nope.json"))
    assert code == 2
    assert "cannot read" in err


def test_sign_then_verify_round_trip(runner: CliRunner, es256_file: Path) -> None:
    code, token, _ = _run(
        runner,
        "jwt", "sign", "--key", str(es256_file), "--claims", '{"sub":"u1","roles":["a"]}',
        "--exp", "15m", "--iss", "https://id.example", "--aud", "api",
    )  # fmt: skip
    assert code == 0
    token = token.strip()
    header = jwt.peek(token).header
    assert header == {"alg": "ES256", "kid": "k1", "typ": "JWT"}
    code, out, _ = _run(
        runner, "jwt", "verify", "--key", str(es256_file), "--iss", "https://id.example",
        "--aud", "api", token,
    )  # fmt: skip
    assert code == 0
    claims = json.loads(out)
    assert claims["sub"] == "u1"
    assert claims["roles"] == ["a"]
    assert claims["iss"] == "https://id.example"
    assert claims["exp"] - claims["iat"] == 900


def test_sign_kid_option_overrides_the_header_kid(runner: CliRunner, es256_file: Path) -> None:
    code, token, _ = _run(
        runner, "jwt", "sign", "--key", str(es256_file), "--kid", "other", "--exp", "1h"
    )
    assert code == 0
    assert jwt.peek(token.strip()).header["kid"] == "other"


def test_sign_with_bad_claims_json_is_a_usage_error(runner: CliRunner, es256_file: Path) -> None:
    code, _, err = _run(
        runner, "jwt", "sign", "--key", str(es256_file), "--claims", '{"a":1,"a":2}'
    )
    assert code == 2
    assert "duplicate" in err


def test_sign_with_bad_duration_is_a_usage_error(runner: CliRunner, es256_file: Path) -> None:
    code, _, _ = _run(runner, "jwt", "sign", "--key", str(es256_file), "--exp", "soon")
    assert code == 2


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("30s", 30), ("15m", 900), ("1h", 3600), ("7d", 604800)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_verify_rejected_token_exits_1_with_code(runner: CliRunner, es256_file: Path) -> None:
    key = JWK.from_json(es256_file.read_text())
    expired = jwt.encode({"sub": "u1", "exp": int(time.time()) - 60}, key)
    code, out, err = _run(runner, "jwt", "verify", "--key", str(es256_file), expired)
    assert code == 1
    assert out == ""
    assert err.startswith("error: jwt_expired: ")


def test_verify_wrong_audience_exits_1(runner: CliRunner, es256_file: Path) -> None:
    key = JWK.from_json(es256_file.read_text())
    token = jwt.encode({"sub": "u1", "aud": "other", "exp": int(time.time()) + 60}, key)
    code, _, err = _run(runner, "jwt", "verify", "--key", str(es256_file), "--aud", "api", token)
    assert code == 1
    assert err.startswith("error: jwt_invalid_audience: ")


def test_verify_alg_allow_list(runner: CliRunner, es256_file: Path) -> None:
    key = JWK.from_json(es256_file.read_text())
    token = jwt.encode({"exp": int(time.time()) + 60}, key)
    code, _, err = _run(runner, "jwt", "verify", "--key", str(es256_file), "--alg", "EdDSA", token)
    assert code == 1
    assert err.startswith("error: jose_alg_not_allowed: ")
    code, _, _ = _run(runner, "jwt", "verify", "--key", str(es256_file), "--alg", "ES256", token)
    assert code == 0


def test_verify_leeway(runner: CliRunner, es256_file: Path) -> None:
    key = JWK.from_json(es256_file.read_text())
    token = jwt.encode({"exp": int(time.time()) - 5}, key)
    assert _run(runner, "jwt", "verify", "--key", str(es256_file), token)[0] == 1
    assert _run(runner, "jwt", "verify", "--key", str(es256_file), "--leeway", "60", token)[0] == 0
    assert _run(runner, "jwt", "verify", "--key", str(es256_file), "--leeway", "301", token)[0] == 2


def test_verify_token_from_stdin(runner: CliRunner, es256_file: Path) -> None:
    key = JWK.from_json(es256_file.read_text())
    token = jwt.encode({"sub": "stdin", "exp": int(time.time()) + 60}, key)
    code, out, _ = _run(runner, "jwt", "verify", "--key", str(es256_file), "-", stdin=token + "\n")
    assert code == 0
    assert json.loads(out)["sub"] == "stdin"


def test_verify_needs_exactly_one_key_source(runner: CliRunner, es256_file: Path) -> None:
    assert _run(runner, "jwt", "verify", "x.y.z")[0] == 2
    code, _, _ = _run(
        runner, "jwt", "verify", "--key", str(es256_file), "--jwks", str(es256_file), "x.y.z"
    )
    assert code == 2


def test_verify_garbage_token_exits_1(runner: CliRunner, es256_file: Path) -> None:
    code, _, err = _run(runner, "jwt", "verify", "--key", str(es256_file), "not-a-token")
    assert code == 1
    assert err.startswith("error: jose_malformed: ")


def test_verify_with_jwks_file_selects_by_kid(runner: CliRunner, tmp_path: Path) -> None:
    keys = [JWK.generate("ES256", kid=f"k{i}") for i in range(3)]
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [k.public().to_dict() for k in keys]}))
    token = jwt.encode({"sub": "u2", "exp": int(time.time()) + 60}, keys[2])
    code, out, _ = _run(runner, "jwt", "verify", "--jwks", str(jwks), token)
    assert code == 0
    assert json.loads(out)["sub"] == "u2"
    stranger = jwt.encode({"exp": int(time.time()) + 60}, JWK.generate("ES256", kid="k9"))
    code, _, err = _run(runner, "jwt", "verify", "--jwks", str(jwks), stranger)
    assert code == 1
    assert err.startswith("error: jwks_key_not_found: ")


class _JWKSHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, JWK]]:
    key = JWK.generate("EdDSA", kid="remote")
    handler = type(
        "H", (_JWKSHandler,), {"body": json.dumps({"keys": [key.public().to_dict()]}).encode()}
    )
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key
    finally:
        server.shutdown()
        server.server_close()


def test_verify_with_jwks_url_on_loopback(runner: CliRunner, jwks_server: tuple[str, JWK]) -> None:
    url, key = jwks_server
    token = jwt.encode({"sub": "remote-user", "exp": int(time.time()) + 60}, key)
    code, out, _ = _run(runner, "jwt", "verify", "--jwks", url, token)
    assert code == 0
    assert json.loads(out)["sub"] == "remote-user"


def test_verify_refuses_plain_http_off_loopback(runner: CliRunner) -> None:
    code, _, err = _run(runner, "jwt", "verify", "--jwks", "http://example.com/jwks", "a.b.c")
    assert code == 1
    assert err.startswith("error: jwks_fetch_refused: ")


def test_verify_refuses_credentials_in_the_jwks_url(runner: CliRunner) -> None:
    url = "https://user:secret@example.com/jwks"
    code, _, err = _run(runner, "jwt", "verify", "--jwks", url, "a.b.c")
    assert code == 1
    assert err.startswith("error: jwks_fetch_refused: ")
    assert "secret" not in err


def test_decode_prints_unverified_header_and_claims(runner: CliRunner, es256_file: Path) -> None:
    key = JWK.from_json(es256_file.read_text())
    token = jwt.encode({"sub": "u1"}, key)
    code, out, err = _run(runner, "jwt", "decode", token)
    assert code == 0
    assert "not verified" in err
    assert json.loads(out) == {
        "header": {"alg": "ES256", "kid": "k1", "typ": "JWT"},
        "claims": {"sub": "u1"},
    }


def test_decode_garbage_exits_1(runner: CliRunner) -> None:
    code, _, err = _run(runner, "jwt", "decode", "e30.e30")
    assert code == 1
    assert "error: jose_malformed: " in err


def test_installed_command_runs_in_a_real_process(es256_file: Path) -> None:
    """The console script as a user runs it: sign, then verify through stdin."""
    exe = Path(sys.executable).with_name("tokensmith")
    sign = subprocess.run(
        [str(exe), "jwt", "sign", "--key", str(es256_file), "--sub", "proc", "--exp", "5m"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    token = sign.stdout.strip()
    verify = subprocess.run(
        [str(exe), "jwt", "verify", "--key", str(es256_file), "-"],
        input=token, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["sub"] == "proc"
    decoded = jwt.decode(
        token, JWK.from_json(es256_file.read_text()).public(), policy=ClaimsPolicy()
    )
    assert decoded.claims["sub"] == "proc"
    bad = subprocess.run(
        [str(exe), "jwt", "verify", "--key", str(es256_file), token[:-4] + "AAAA"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: jws_invalid_signature: ")
