"""`tokensmith serve|users|keys|config` through click's CliRunner (no network)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokensmith.cli.app import cli

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TOKENSMITH_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TOKENSMITH_ARGON2_MEMORY_COST", "1024")
    monkeypatch.setenv("TOKENSMITH_ARGON2_TIME_COST", "1")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _run(runner: CliRunner, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_server_commands_are_registered(runner: CliRunner) -> None:
    code, out, _ = _run(runner, "--help")
    assert code == 0
    for name in ("serve", "users", "keys", "config"):
        assert name in out


def test_config_show_prints_every_setting_with_env_names_and_masks_secrets(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TOKENSMITH_MASTER_KEY", "C" * 43)
    monkeypatch.setenv("TOKENSMITH_REVOCATION_FEED_SECRET", "super-secret-feed")
    code, out, _ = _run(runner, "config", "show", "--data-dir", str(tmp_path))
    assert code == 0
    assert "port = 8000  # TOKENSMITH_PORT" in out
    assert 'issuer = "http://127.0.0.1:8000"' in out
    assert f"{tmp_path}" in out
    assert "C" * 43 not in out
    assert "super-secret-feed" not in out
    assert 'master_key = "****"' in out


def test_config_show_json_reads_the_toml_file(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "ts.toml"
    config.write_text('port = 9444\nregistration = "closed"\n')
    code, out, _ = _run(runner, "config", "show", "--json", "--config", str(config))
    assert code == 0
    shown = json.loads(out)
    assert shown["port"] == 9444
    assert shown["registration"] == "closed"
    assert shown["issuer"] == "http://127.0.0.1:9444"


def test_bad_settings_exit_2_with_one_line_each_and_no_traceback(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKENSMITH_PORT", "99999")
    monkeypatch.setenv("TOKENSMITH_REGISTRATION", "maybe")
    code, _, err = _run(runner, "config", "show")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert all(line.startswith("error: ") for line in lines)
    assert "TOKENSMITH_PORT" in err
    assert "TOKENSMITH_REGISTRATION" in err
    assert "Traceback" not in err


def test_serve_refuses_bad_settings_before_listening(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("acess_ttl = 5\n")
    code, _, err = _run(runner, "serve", "--config", str(config), "--data-dir", str(tmp_path))
    assert code == 2
    assert "unknown setting 'acess_ttl'" in err


def test_serve_refuses_a_master_key_file_others_can_read(runner: CliRunner, tmp_path: Path) -> None:
    key = tmp_path / "master.key"
    key.write_text("A" * 43 + "\n")
    key.chmod(0o644)
    code, _, err = _run(runner, "serve", "--data-dir", str(tmp_path))
    assert code == 2
    assert "chmod 600" in err


def test_users_add_reads_the_password_from_stdin_and_lists_it(
    runner: CliRunner, tmp_path: Path
) -> None:
    data = str(tmp_path / "data")
    code, out, err = _run(
        runner, "users", "add", "alice", "--admin", "--data-dir", data, stdin=PASSWORD + "\n"
    )
    assert code == 0, err
    assert "created user alice (admin)" in out
    assert (tmp_path / "data" / "tokensmith.db").exists()
    assert (tmp_path / "data" / "master.key").stat().st_mode & 0o777 == 0o600
    code, out, _ = _run(runner, "users", "list", "--json", "--data-dir", data)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["username"], r["roles"], r["disabled"]) for r in rows] == [
        ("alice", ["admin"], False)
    ]
    assert PASSWORD not in out


def test_users_add_twice_is_refused_with_the_issuer_code(runner: CliRunner, tmp_path: Path) -> None:
    data = str(tmp_path)
    assert _run(runner, "users", "add", "bob", "--data-dir", data, stdin=PASSWORD)[0] == 0
    code, _, err = _run(runner, "users", "add", "bob", "--data-dir", data, stdin=PASSWORD)
    assert code == 1
    assert err.startswith("error: username_taken:")


def test_users_add_refuses_a_weak_password(runner: CliRunner, tmp_path: Path) -> None:
    code, _, err = _run(runner, "users", "add", "carl", "--data-dir", str(tmp_path), stdin="x\n")
    assert code == 1
    assert "weak_password" in err


def test_users_add_without_a_password_on_stdin_is_a_usage_error(
    runner: CliRunner, tmp_path: Path
) -> None:
    code, _, err = _run(runner, "users", "add", "dan", "--data-dir", str(tmp_path), stdin="")
    assert code == 2
    assert "no password" in err


def test_users_disable_and_set_password(runner: CliRunner, tmp_path: Path) -> None:
    data = str(tmp_path)
    _run(runner, "users", "add", "erin", "--data-dir", data, stdin=PASSWORD)
    code, out, _ = _run(runner, "users", "disable", "erin", "--data-dir", data)
    assert code == 0
    assert "disabled erin" in out
    code, out, _ = _run(runner, "users", "list", "--data-dir", data)
    assert "disabled" in out
    code, out, err = _run(
        runner, "users", "set-password", "erin", "--data-dir", data, stdin="a new long password\n"
    )
    assert code == 0, err
    code, _, err = _run(runner, "users", "disable", "nobody", "--data-dir", data)
    assert code == 1
    assert "user_not_found" in err


def test_keys_list_rotate_retire(runner: CliRunner, tmp_path: Path) -> None:
    # A kid is an RFC 7638 thumbprint and may start with "-": pass it after "--".
    data = str(tmp_path)
    code, out, err = _run(runner, "keys", "list", "--json", "--data-dir", data)
    assert code == 0, err
    keys = [json.loads(line) for line in out.splitlines()]
    states = sorted(k["state"] for k in keys)
    assert "current" in states
    assert all(k["alg"] == "ES256" for k in keys)
    current = next(k["kid"] for k in keys if k["state"] == "current")

    code, _, err = _run(runner, "keys", "retire", "--data-dir", data, "--", current)
    assert code == 1
    assert "key_state" in err

    code, out, err = _run(runner, "keys", "rotate", "--force", "--data-dir", data)
    assert code == 0, err
    assert "current key is now" in out
    code, out, _ = _run(runner, "keys", "list", "--json", "--data-dir", data)
    after = {json.loads(line)["kid"]: json.loads(line)["state"] for line in out.splitlines()}
    assert after[current] == "previous"

    code, out, err = _run(runner, "keys", "retire", "--data-dir", data, "--", current)
    assert code == 0, err
    code, out, _ = _run(runner, "keys", "list", "--data-dir", data)
    assert current in out
    assert "retired" in out
    code, _, err = _run(runner, "keys", "retire", "no-such-kid", "--data-dir", data)
    assert code == 1
    assert "key_not_found" in err


def test_users_invite_prints_a_code_that_registers_once(runner: CliRunner, tmp_path: Path) -> None:
    import asyncio

    from tokensmith.server.compose import open_issuer
    from tokensmith.settings import load_settings

    data = str(tmp_path)
    code, out, err = _run(runner, "users", "invite", "--ttl", "2d", "--data-dir", data)
    assert code == 0, err
    invite = out.strip()
    assert len(invite) >= 20

    async def register(name: str) -> str:
        settings = load_settings(data_dir=tmp_path, registration="invite")
        issuer, stores = await open_issuer(settings)
        try:
            info = await issuer.register(username=name, password=PASSWORD, invite=invite)
            return info.username
        except Exception as exc:  # the second use must be refused with a stable code
            return getattr(exc, "code", type(exc).__name__)
        finally:
            await issuer.close()
            await stores.close()

    assert asyncio.run(register("invited")) == "invited"
    assert asyncio.run(register("second")) == "invite_required"
    code, _, err = _run(runner, "users", "invite", "--ttl", "soon", "--data-dir", data)
    assert code == 2
    assert "--ttl" in err


def test_on_a_terminal_the_password_is_a_hidden_prompt_with_confirmation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    import click

    from tokensmith.cli import server_common

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    asked: dict[str, object] = {}

    def prompt(text: str, **kwargs: object) -> str:
        asked.update(kwargs, text=text)
        return "typed secret"

    monkeypatch.setattr(server_common.sys, "stdin", Terminal("not read\n"))
    monkeypatch.setattr(click, "prompt", prompt)
    assert server_common.read_password() == "typed secret"
    assert asked["hide_input"] is True
    assert asked["confirmation_prompt"] is True


def test_serve_warns_about_probable_mistakes() -> None:
    from tokensmith.cli.serve_cmd import startup_warnings
    from tokensmith.settings import load_settings

    assert startup_warnings(load_settings()) == []
    public = startup_warnings(load_settings(host="192.0.2.10"))
    assert len(public) == 1
    assert "TOKENSMITH_ISSUER" in public[0]
    assert startup_warnings(load_settings(host="192.0.2.10", issuer="https://id.example")) == []
    cookie = startup_warnings(
        load_settings(
            issuer="https://id.example", cookie_mode=True, allowed_origins="http://app.example"
        )
    )
    assert len(cookie) == 1
    assert "Secure cookies" in cookie[0]
    clock = startup_warnings(load_settings(test_clock_file="/tmp/clock"))
    assert clock == ["test clock file /tmp/clock is in use (tests only)"]


def test_a_misspelt_variable_is_warned_about(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKENSMITH_PROT", "9000")
    code, out, err = _run(runner, "config", "show", "--json")
    assert code == 0
    assert "warning: TOKENSMITH_PROT is not a tokensmith setting (ignored)" in err
    assert json.loads(out)["port"] == 8000


def test_serve_with_an_unreachable_database_is_one_line_and_exit_2(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "TOKENSMITH_DATABASE_URL", "postgresql+asyncpg://app:hunter2@127.0.0.1:1/tokensmith"
    )
    code, out, err = _run(runner, "serve", "--data-dir", str(tmp_path))
    assert code == 2
    assert err.startswith("error: cannot open the database postgresql+asyncpg://app:****@")
    assert len(err.strip().splitlines()) == 1
    assert "hunter2" not in err
    assert "connect" in err.lower()  # the reason, not some other failure
    assert "Traceback" not in err
    assert "listening on" not in out


def test_a_wrong_master_key_is_a_clear_error_not_a_traceback(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = str(tmp_path)
    assert _run(runner, "keys", "list", "--data-dir", data)[0] == 0  # keys under master.key
    monkeypatch.setenv("TOKENSMITH_MASTER_KEY", "D" * 43)
    for args in (("keys", "list"), ("serve",)):
        code, out, err = _run(runner, *args, "--data-dir", data)
        assert code == 2, args
        assert err.startswith("error: ")
        assert "master key" in err.lower()
        assert "Traceback" not in err
        assert "listening on" not in out
