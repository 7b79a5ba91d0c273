"""The web pages' infrastructure: security headers, templates, static files.

The pages render without the issuer (their scripts fetch data), so these tests use the
app without running its lifespan. The browser half is in tests/e2e/.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tokensmith.server.app import create_app
from tokensmith.server.pages import headers
from tokensmith.settings import Settings

PAGES = (
    "/signin",
    "/signup",
    "/account",
    "/console/users",
    "/console/clients",
    "/console/keys",
    "/console/audit",
    "/inspector",
)
STRICT_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def _client(tmp_path: Path, **settings: Any) -> TestClient:
    values: dict[str, Any] = {"data_dir": tmp_path, **settings}
    return TestClient(create_app(Settings(**values)))


class _Page(HTMLParser):
    """What the accessibility and CSP checks need from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes = 0
        self.event_attributes: list[str] = []
        self.inputs: list[dict[str, str | None]] = []
        self.labels: set[str] = set()
        self.landmarks: set[str] = set()
        self.assets: list[str] = []
        self.lang: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        if tag == "script":
            if found.get("src"):
                self.assets.append(found["src"] or "")
            else:
                self._in_script = True
        if tag == "link" and found.get("href"):
            self.assets.append(found["href"] or "")
        if tag == "style":
            self.style_elements += 1
        if "style" in found:
            self.style_attributes += 1
        self.event_attributes += [name for name in found if name.startswith("on")]
        if tag in ("input", "textarea", "select") and found.get("type") != "hidden":
            self.inputs.append(found)
        if tag == "label" and found.get("for"):
            self.labels.add(found["for"] or "")
        if tag in ("header", "nav", "main", "footer"):
            self.landmarks.add(tag)

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _csp(value: str) -> dict[str, str]:
    out = {}
    for directive in value.split(";"):
        name, _, rest = directive.strip().partition(" ")
        out[name] = rest.strip()
    return out


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_strict_security_headers(tmp_path: Path, path: str) -> None:
    response = _client(tmp_path).get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = _csp(response.headers["content-security-policy"])
    for directive, value in STRICT_CSP.items():
        assert csp[directive] == value, directive
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "unsafe-eval" not in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_style_and_label_every_input(
    tmp_path: Path, path: str
) -> None:
    page = _parse(_client(tmp_path, registration="invite").get(path).text)
    assert page.inline_scripts == 0
    assert page.style_elements == 0
    assert page.style_attributes == 0
    assert page.event_attributes == []
    assert page.lang == "en"
    assert {"header", "nav", "main", "footer"} <= page.landmarks
    for field in page.inputs:
        assert field.get("id") in page.labels, field


def test_signup_follows_the_registration_setting(tmp_path: Path) -> None:
    open_page = _parse(_client(tmp_path / "a", registration="open").get("/signup").text)
    invite_page = _parse(_client(tmp_path / "b", registration="invite").get("/signup").text)
    closed = _client(tmp_path / "c", registration="closed").get("/signup").text
    open_names = {f.get("name") for f in open_page.inputs}
    assert open_names == {"username", "password", "confirm"}
    assert {f.get("name") for f in invite_page.inputs} == open_names | {"invite"}
    assert "Registration is closed" in closed
    assert _parse(closed).inputs == []
    assert "<form" not in closed


def _body_data(html: str) -> dict[str, str]:
    found = re.search(r"<body ([^>]*)>", html)
    assert found is not None
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', found.group(1)))


@pytest.mark.parametrize("cookie_mode", [False, True], ids=["default", "cookie-mode"])
def test_pages_name_their_built_in_client_and_need_no_setting(
    tmp_path: Path, cookie_mode: bool
) -> None:
    """Regression: with the default settings every page said "These pages need cookie
    mode" and signing in did not work. The pages' client is in cookie mode whatever
    TOKENSMITH_COOKIE_MODE says, so no page asks for a setting; the scripts learn the
    client, its CSRF cookie and the one origin it accepts from data-* attributes."""
    client = _client(tmp_path, cookie_mode=cookie_mode, issuer="https://id.example:443/")
    for path in PAGES:
        html = client.get(path).text
        assert "TOKENSMITH_COOKIE_MODE" not in html, path
        assert "need cookie mode" not in html, path
        assert _body_data(html) == {
            "client-id": "tokensmith-pages",
            "csrf-cookie": "__Host-tokensmith-csrf-tokensmith-pages",
            "origin": "https://id.example",  # as browsers write it: no default port
        }, path
        # the notice for a wrong address or an insecure page is the script's, hidden here
        assert re.search(r'data-bind="setup-notice" hidden', html), path


def test_home_leads_to_the_account_page(tmp_path: Path) -> None:
    response = _client(tmp_path).get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_every_asset_a_page_names_is_served_with_its_type(tmp_path: Path) -> None:
    client = _client(tmp_path)
    seen: set[str] = set()
    queue = [a for path in PAGES for a in _parse(client.get(path).text).assets]
    while queue:
        url = queue.pop().split("?")[0]
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["x-content-type-options"] == "nosniff"
        if url.endswith(".js"):
            assert response.headers["content-type"].startswith("text/javascript")
            base = url.rsplit("/", 1)[0]
            imports = re.findall(r'from "\./([\w-]+\.js)"', response.text)
            queue += [f"{base}/{name}" for name in imports]
        else:
            assert response.headers["content-type"].startswith("text/css")
    assert "/static/js/session.js" in seen


@pytest.mark.parametrize(
    "path",
    [
        "/static/js/nope.js",
        "/static/js/../../app.py",
        "/static/js/%2e%2e/%2e%2e/app.py",
        "/static/.hidden.js",
        "/static/js/",
        "/static/css",
        "/static/js/session.py",
    ],
)
def test_static_serves_only_known_files(tmp_path: Path, path: str) -> None:
    response = _client(tmp_path).get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_pages_stay_out_of_the_openapi_schema(tmp_path: Path) -> None:
    schema = _client(tmp_path).get("/openapi.json").json()
    assert not [p for p in schema["paths"] if p.startswith(("/static", "/signin", "/account"))]


def test_no_script_keeps_a_token_in_storage_or_a_url() -> None:
    static = Path(headers.__file__).parent.parent / "static" / "js"
    sources = {p.name: p.read_text() for p in static.glob("*.js")}
    assert "session.js" in sources
    for name, text in sources.items():
        for forbidden in ("localStorage", "sessionStorage", "indexedDB", "document.cookie ="):
            assert forbidden not in text, (name, forbidden)
        assert "innerHTML" not in text, name
    # only session.js sees the access token, and it never builds a URL with it
    holders = [name for name, text in sources.items() if "accessToken" in text]
    assert holders == ["session.js"]
    assert not re.search(r"[?&][a-z_]*token=", sources["session.js"])


def test_the_package_data_globs_cover_every_template_and_static_file() -> None:
    """An installed wheel must carry the pages' files (pyproject package-data)."""
    import tomllib

    root = Path(__file__).resolve().parents[3]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["tokensmith"]
    package = root / "src" / "tokensmith"
    files = [
        p.relative_to(package).as_posix()
        for folder in ("server/static", "server/pages/templates")
        for p in (package / folder).rglob("*")
        if p.is_file()
    ]
    assert "server/static/js/session.js" in files
    assert "server/pages/templates/base.html" in files
    covered = {p.relative_to(package).as_posix() for g in globs for p in package.glob(g)}
    assert sorted(set(files) - covered) == []
