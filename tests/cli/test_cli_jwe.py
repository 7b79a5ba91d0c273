"""``tokensmith jwe encrypt|decrypt``: exit 0 on success, 1 with ``error: <code>: ...``
when the token is rejected, 2 for usage errors; once through a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokensmith.cli.app import cli
from tokensmith.jose import JWK, jwe


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _run(runner: CliRunner, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("jwe-keys")
    rsa = JWK.generate("RSA-OAEP-256", kid="r1")
    out = {
        "rsa": rsa.to_json(),
        "rsa_public": rsa.public().to_json(),
        "aes": JWK.generate("A256KW", kid="a1").to_json(),
        "other_aes": JWK.generate("A256KW", kid="a1").to_json(),
        "password": JWK.from_secret(b"long enough password", alg="PBES2-HS256+A128KW").to_json(),
    }
    paths = {}
    for name, text in out.items():
        paths[name] = root / f"{name}.json"
        paths[name].write_text(text)
    return paths


def test_encrypt_to_public_key_then_decrypt(runner: CliRunner, keys: dict[str, Path]) -> None:
    code, token, _ = _run(runner, "jwe", "encrypt", "--key", str(keys["rsa_public"]), "hello")
    assert code == 0
    assert token.strip().count(".") == 4
    code, out, err = _run(runner, "jwe", "decrypt", "--key", str(keys["rsa"]), token.strip())
    assert (code, out, err) == (0, "hello", "")


@pytest.mark.parametrize("enc", ["A128GCM", "A256CBC-HS512"])
def test_encrypt_from_stdin_with_zip_and_enc(
    runner: CliRunner, keys: dict[str, Path], enc: str
) -> None:
    text = "stdin text " * 100
    code, token, _ = _run(
        runner, "jwe", "encrypt", "--key", str(keys["aes"]), "--enc", enc, "--zip", "-", stdin=text
    )
    assert code == 0
    result = jwe.decrypt(token.strip(), JWK.from_json(keys["aes"].read_text()))
    assert result.header["zip"] == "DEF"
    assert result.header["enc"] == enc
    assert result.plaintext == text.encode()


def test_decrypt_reads_the_token_from_stdin(runner: CliRunner, keys: dict[str, Path]) -> None:
    token = jwe.encrypt("via stdin", JWK.from_json(keys["aes"].read_text()))
    code, out, _ = _run(runner, "jwe", "decrypt", "--key", str(keys["aes"]), "-", stdin=token)
    assert (code, out) == (0, "via stdin")


def test_decrypt_with_the_wrong_key_exits_1_with_code(
    runner: CliRunner, keys: dict[str, Path]
) -> None:
    token = jwe.encrypt("x", JWK.from_json(keys["aes"].read_text()))
    code, out, err = _run(runner, "jwe", "decrypt", "--key", str(keys["other_aes"]), token)
    assert code == 1
    assert out == ""
    assert err.startswith("error: jwe_decryption_failed: ")


def test_decrypt_alg_allow_list_is_enforced(runner: CliRunner, keys: dict[str, Path]) -> None:
    token = jwe.encrypt("x", JWK.from_json(keys["aes"].read_text()))
    args = ["jwe", "decrypt", "--key", str(keys["aes"])]
    code, _, err = _run(runner, *args, "--alg", "A128KW", token)
    assert code == 1
    assert err.startswith("error: jose_alg_not_allowed: ")
    code, _, err = _run(runner, *args, "--enc", "A128GCM", token)
    assert code == 1
    assert err.startswith("error: jose_alg_not_allowed: ")
    code, out, _ = _run(runner, *args, "--alg", "A256KW", "--enc", "A256GCM", token)
    assert (code, out) == (0, "x")


def test_pbes2_needs_max_p2c(runner: CliRunner, keys: dict[str, Path]) -> None:
    key = JWK.from_json(keys["password"].read_text())
    token = jwe.encrypt("pw", key, header={"p2c": 2000})
    base = ["jwe", "decrypt", "--key", str(keys["password"]), "--alg", "PBES2-HS256+A128KW"]
    code, _, err = _run(runner, *base, token)
    assert code == 2
    assert "p2c" in err
    code, _, err = _run(runner, *base, "--max-p2c", "1000", token)
    assert code == 1
    assert err.startswith("error: jwe_invalid_p2c: ")
    code, out, _ = _run(runner, *base, "--max-p2c", "5000", token)
    assert (code, out) == (0, "pw")


def test_malformed_token_exits_1(runner: CliRunner, keys: dict[str, Path]) -> None:
    code, _, err = _run(runner, "jwe", "decrypt", "--key", str(keys["aes"]), "a.b.c")
    assert code == 1
    assert err.startswith("error: jose_malformed: ")


@pytest.mark.parametrize(
    "args",
    [
        ["jwe", "encrypt", "--key", "KEY", "--alg", "RSA1_5", "x"],
        ["jwe", "encrypt", "--key", "KEY", "--enc", "A512GCM", "x"],
        ["jwe", "encrypt", "x"],
        ["jwe", "decrypt", "--key", "KEY"],
        ["jwe", "encrypt", "--key", "/nonexistent/key.json", "x"],
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, keys: dict[str, Path], args: list[str]) -> None:
    args = [str(keys["rsa_public"]) if a == "KEY" else a for a in args]
    code, _, _ = _run(runner, *args)
    assert code == 2


def test_symmetric_key_without_alg_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(JWK.from_secret(bytes(range(32))).to_json())
    code, _, err = _run(runner, "jwe", "encrypt", "--key", str(path), "x")
    assert code == 2
    assert "alg" in err


def test_jwe_commands_in_a_real_process(keys: dict[str, Path]) -> None:
    exe = Path(sys.executable).with_name("tokensmith")
    enc = subprocess.run(
        [str(exe), "jwe", "encrypt", "--key", str(keys["rsa_public"]), "--zip", "-"],
        input="from a real process", capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    token = enc.stdout.strip()
    dec = subprocess.run(
        [str(exe), "jwe", "decrypt", "--key", str(keys["rsa"]), "-"],
        input=token, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout == "from a real process"
    bad = subprocess.run(
        [str(exe), "jwe", "decrypt", "--key", str(keys["aes"]), token],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: ")
