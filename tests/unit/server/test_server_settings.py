"""Settings: env, TOML, flags; one clear line per problem; secrets masked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tokensmith.server.compose import issuer_config
from tokensmith.settings import Settings, SettingsError, decode_master_key, load_settings

MASTER = "A" * 43  # base64url of 32 zero-ish bytes


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TOKENSMITH_"):
            monkeypatch.delenv(name)


def test_defaults_listen_on_loopback_8000_with_issuer_from_host_and_port() -> None:
    settings = load_settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.issuer_url == "http://127.0.0.1:8000"
    assert settings.data_dir == Path("tokensmith-data")
    assert settings.database.startswith("sqlite+aiosqlite:///")
    assert settings.database.endswith("tokensmith-data/tokensmith.db")
    assert settings.audiences == ("http://127.0.0.1:8000",)
    assert settings.origins == ("http://127.0.0.1:8000",)


def test_issuer_follows_the_port_flag_and_ipv6_hosts_are_bracketed() -> None:
    assert load_settings(port=9123).issuer_url == "http://127.0.0.1:9123"
    assert load_settings(host="::1", port=9000).issuer_url == "http://[::1]:9000"


def test_env_overrides_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOKENSMITH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TOKENSMITH_ACCESS_TTL", "5m")
    monkeypatch.setenv("TOKENSMITH_ALLOWED_ORIGINS", "https://A.example, https://b.example")
    settings = load_settings()
    assert settings.data_dir == tmp_path
    assert settings.access_ttl == 300
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.database == f"sqlite+aiosqlite:///{tmp_path.resolve()}/tokensmith.db"


def test_origins_are_written_as_browsers_send_them(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        allowed_origins="https://A.example:443, http://b.example:80, https://c.example:8443",
        issuer="https://ID.example:443",
    )
    assert settings.allowed_origins == [
        "https://a.example",
        "http://b.example",
        "https://c.example:8443",
    ]
    assert settings.own_origin == "https://id.example"


def test_flags_beat_env_and_env_beats_the_toml_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "tokensmith.toml"
    config.write_text('port = 9001\nhost = "127.0.0.2"\nrefresh_grace = "20s"\n')
    monkeypatch.setenv("TOKENSMITH_PORT", "9002")
    settings = load_settings(config_file=config)
    assert settings.port == 9002
    assert settings.host == "127.0.0.2"
    assert settings.refresh_grace == 20
    assert load_settings(config_file=config, port=9003).port == 9003


def test_config_file_comes_from_tokensmith_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "t.toml"
    config.write_text("registration = 'invite'\n")
    monkeypatch.setenv("TOKENSMITH_CONFIG", str(config))
    assert load_settings().registration == "invite"


def test_each_problem_is_one_line_naming_setting_and_env_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOKENSMITH_PORT", "0")
    monkeypatch.setenv("TOKENSMITH_SIGNING_ALG", "none")
    with pytest.raises(SettingsError) as info:
        load_settings(access_ttl="5 fortnights")
    problems = info.value.problems
    assert len(problems) == 3
    assert all("\n" not in p for p in problems)
    joined = "\n".join(problems)
    assert "port (TOKENSMITH_PORT)" in joined
    assert "signing_alg (TOKENSMITH_SIGNING_ALG)" in joined
    assert "access_ttl (TOKENSMITH_ACCESS_TTL)" in joined
    assert "Traceback" not in joined


def test_unknown_key_in_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(SettingsError) as info:
        load_settings(config_file=config)
    assert info.value.problems == [f"unknown setting 'prot' in {config}"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"port = \n", "not valid TOML"), (b"\xff\xfe", "not UTF-8")],
)
def test_unparseable_toml_is_one_clear_line(tmp_path: Path, content: bytes, expected: str) -> None:
    config = tmp_path / "broken.toml"
    config.write_bytes(content)
    with pytest.raises(SettingsError) as info:
        load_settings(config_file=config)
    assert len(info.value.problems) == 1
    assert expected in info.value.problems[0]


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(config_file=tmp_path / "nope.toml")
    assert "cannot read it" in info.value.problems[0]


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("issuer", "ftp://id.example", "http(s) URL"),
        ("issuer", "https://id.example/?x=1", "no query"),
        ("allowed_origins", "https://app.example/path", "not an origin"),
        ("host", "a b", "host name"),
        ("extra_claims", {"sub": "x"}, "registered claims"),
        ("registration", "sometimes", "Input should be"),
        ("refresh_grace", -1, "greater than or equal"),
    ],
)
def test_invalid_values_are_refused(field: str, value: object, fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(**{field: value})
    assert fragment in info.value.problems[0]
    assert info.value.problems[0].startswith(field)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"password_min": 50, "password_max": 20}, "password_min is larger"),
        ({"refresh_idle_ttl": "31d"}, "refresh_idle_ttl is longer"),
        ({"key_rotation": "1h", "jwks_max_age": "1h"}, "twice jwks_max_age"),
    ],
)
def test_inconsistent_settings_are_refused(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(**overrides)
    assert fragment in info.value.problems[0]


def test_master_key_value_is_never_echoed_in_a_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSMITH_MASTER_KEY", "c2VjcmV0LXNob3J0")
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert "32 bytes" in info.value.problems[0]
    assert "c2VjcmV0LXNob3J0" not in info.value.problems[0]


def test_decode_master_key_needs_exactly_32_bytes_of_base64url() -> None:
    assert decode_master_key(MASTER) == bytes(32)
    for bad in ("", "not base64!", "A" * 42 + "==", "A" * 44):
        with pytest.raises(ValueError, match=r"32|base64url"):
            decode_master_key(bad)


def test_effective_settings_mask_secrets_s27(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENSMITH_MASTER_KEY", MASTER)
    monkeypatch.setenv("TOKENSMITH_REVOCATION_FEED_SECRET", "feed-secret-value")
    monkeypatch.setenv("TOKENSMITH_DATABASE_URL", "postgresql+asyncpg://app:pw123@db/ts")
    shown = load_settings().effective()
    text = repr(shown)
    assert MASTER not in text
    assert "feed-secret-value" not in text
    assert "pw123" not in text
    assert shown["master_key"] == "****"
    assert shown["database_url"] == "postgresql+asyncpg://app:****@db/ts"


def test_every_setting_has_a_description() -> None:
    missing = [name for name, f in Settings.model_fields.items() if not f.description]
    assert missing == []


def test_settings_become_an_issuer_config() -> None:
    settings = load_settings(
        access_ttl="10m",
        signing_alg="EdDSA",
        registration="closed",
        rate_account_limit=3,
        password_niceness=0,
    )
    config = issuer_config(settings)
    assert config.issuer == settings.issuer_url
    assert config.access_ttl == 600
    assert config.signing_alg == "EdDSA"
    assert config.registration == "closed"
    assert config.rate_limits.account.limit == 3
    assert config.password_niceness == 0
    assert issuer_config(load_settings()).password_niceness == 5
    assert config.audiences == (settings.issuer_url,)


def test_unknown_tokensmith_variables_are_named_so_typos_do_not_pass_silently() -> None:
    from tokensmith.settings import unknown_variables

    environ = {
        "TOKENSMITH_PROT": "9000",
        "TOKENSMITH_PORT": "9000",
        "TOKENSMITH_CONFIG": "x.toml",
        "TOKENSMITH_TEST_PG_HOST": "127.0.0.1",
        "tokensmith_acess_ttl": "5",
        "HOME": "/root",
    }
    assert unknown_variables(environ) == ["TOKENSMITH_PROT", "tokensmith_acess_ttl"]


def test_the_inspector_rate_limit_comes_from_env_and_toml_and_is_validated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    defaults = issuer_config(load_settings()).rate_limits.inspect
    assert (defaults.limit, defaults.window) == (60, 60.0)
    config = tmp_path / "tokensmith.toml"
    config.write_text('rate_inspect_limit = 5\nrate_inspect_window = "2m"\n')
    monkeypatch.setenv("TOKENSMITH_RATE_INSPECT_LIMIT", "7")
    rule = issuer_config(load_settings(config_file=config)).rate_limits.inspect
    assert (rule.limit, rule.window) == (7, 120.0)  # env beats the file
    assert (rule.backoff, rule.max_backoff) == (defaults.backoff, defaults.max_backoff)
    monkeypatch.setenv("TOKENSMITH_RATE_INSPECT_LIMIT", "0")
    monkeypatch.setenv("TOKENSMITH_RATE_INSPECT_WINDOW", "soon")
    with pytest.raises(SettingsError) as info:
        load_settings()
    joined = "\n".join(info.value.problems)
    assert "rate_inspect_limit (TOKENSMITH_RATE_INSPECT_LIMIT)" in joined
    assert "rate_inspect_window (TOKENSMITH_RATE_INSPECT_WINDOW)" in joined
