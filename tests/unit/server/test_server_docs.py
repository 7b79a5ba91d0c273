"""The docs name every setting and every path the server has (they cannot drift apart)."""

from __future__ import annotations

from pathlib import Path

from tokensmith.server import create_app
from tokensmith.settings import Settings, env_name, load_settings

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_configuration_doc_lists_every_setting_and_its_variable() -> None:
    text = (DOCS / "configuration.md").read_text()
    missing = [
        name
        for name in Settings.model_fields
        if f"`{name}`" not in text or f"`{env_name(name)}`" not in text
    ]
    assert missing == []


def test_endpoints_doc_lists_every_path() -> None:
    text = (DOCS / "endpoints.md").read_text()
    paths = create_app(load_settings()).openapi()["paths"]
    missing = [p for p in paths if p.replace("{session_id}", "{id}") not in text]
    assert missing == []


def test_endpoints_doc_lists_every_mapped_error_code() -> None:
    from tokensmith.server.errors import AUTH_STATUS

    text = (DOCS / "endpoints.md").read_text()
    missing = [code for code in AUTH_STATUS if f"`{code}`" not in text]
    assert missing == []
