"""Browser tests: Playwright driving the machine's Chromium against a real server.

- ``browser``: headless Chromium from ``TOKENSMITH_CHROMIUM`` or ``/usr/bin/chromium``
  (Debian's ``chromium``; never a downloaded build). Without it, or without the
  ``playwright`` package, the tests skip with the reason, and fail when
  ``TOKENSMITH_REQUIRE_SERVICES=1`` (CI), like the PostgreSQL/Redis tests.
- ``default_server``: one ``tokensmith serve`` per package run (per xdist worker) with
  the **default settings** (no cookie mode, no origins, no issuer: it is
  ``http://127.0.0.1:PORT``), as ``make run`` starts it; only the harness's own data dir,
  test clock file and quick argon2 parameters are set. The main flow runs against it.
- ``web_server``: another, also without cookie mode, with a 30 s access-token lifetime
  and 3 failed sign-ins per account before back-off, for the tests that need those.
- Their origin is ``http://127.0.0.1:PORT``: Chromium treats 127.0.0.1 as a secure
  context, so it keeps the ``__Host-``/``Secure`` cookies over http. Time moves with
  ``server.advance()`` (the server's test clock file) and ``page.clock`` (the page's
  timers).
- ``new_page()``: a page in a fresh browser context (its own cookie jar), phone-sized or
  not; ``sign_up(server, name)`` makes an account through the API; ``sign_in(page, ...)``
  signs in through the page; ``shot(page, name)`` saves a screenshot to ``artifacts/``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from integration.server_process import PASSWORD, Server
from services import unavailable

ARTIFACTS = Path(__file__).parent / "artifacts"
ACCESS_TTL = 30
DEFAULT_ACCESS_TTL = 900  # the access_ttl setting's default
ACCOUNT_LIMIT = 3
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 800}

_names = itertools.count()


def chromium_path() -> str | None:
    configured = os.environ.get("TOKENSMITH_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


# Package scope, not session: Playwright's sync API keeps an event loop running in this
# thread while it is started, and every later test of the same xdist worker that calls
# asyncio.run() would fail ("cannot be called from a running event loop").
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("browser tests need the playwright package (pip install -e '.[dev]')")
    executable = chromium_path()
    if executable is None:
        where = os.environ.get("TOKENSMITH_CHROMIUM") or "chromium on PATH or /usr/bin/chromium"
        unavailable(f"browser tests need Chromium: none at {where} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def default_server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("default") / "data", {})
    del server.env["TOKENSMITH_ISSUER"]  # the default: http://HOST:PORT
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def web_server(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("web")
    server = Server(
        base / "data",
        {
            "TOKENSMITH_ACCESS_TTL": str(ACCESS_TTL),
            "TOKENSMITH_RATE_ACCOUNT_LIMIT": str(ACCOUNT_LIMIT),
        },
    )
    server.start()
    yield server
    server.stop()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}{os.getpid()}"


def sign_up(server: Server, username: str, password: str = PASSWORD) -> None:
    with server.client() as client:
        created = client.post("/auth/register", json={"username": username, "password": password})
    assert created.status_code == 201, created.text


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(phone=False, clock=False)``: a page in its own context; ``clock``
    installs Playwright's fake timers before the first page script runs."""
    contexts: list[Any] = []

    def make(*, phone: bool = False, clock: bool = False) -> Any:
        context = browser.new_context(viewport=PHONE if phone else DESKTOP)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        if clock:
            page.clock.install()
        return page

    yield make
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()


def sign_in(page: Any, server: Server, username: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page; wait for the account page to show the user and
    its session list."""
    page.goto(f"{server.url}/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/account")
    page.locator("main strong[data-bind=username]").filter(has_text=username).wait_for()
    page.locator("tbody tr.current").wait_for()


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def docs_shot(page: Any, name: str) -> Path:
    """``shot(page, name)``; with ``TOKENSMITH_DOCS_SCREENSHOTS=1`` also copied to
    docs/screenshots/ (the images the docs show), so ordinary runs leave docs/ alone."""
    path = shot(page, name)
    if os.environ.get("TOKENSMITH_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / f"{name}.png")
    return path
