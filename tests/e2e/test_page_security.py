"""What the browser enforces: the CSP (no inline script runs), and a page on another
origin that POSTs to the refresh endpoint gets nothing (Origin check, CSRF double submit,
CORS, SameSite=Strict)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from integration.server_process import Server

from .conftest import sign_in, sign_up, unique

# It names the pages' client (tokensmith-pages) the way the pages do, in a JSON body;
# the forms and the no-cors fetch can only send it as text/plain (the classic JSON CSRF
# shape), which the server does not read as JSON.
ATTACK = """<!doctype html>
<title>attacker</title>
<form id="forged" method="post" action="TARGET/auth/refresh" enctype="text/plain">
<input type="hidden" name='{"client_id":"tokensmith-pages","x":"' value='"}'>
</form>
<script>
const target = "TARGET";
const body = JSON.stringify({ client_id: "tokensmith-pages" });
window.results = (async () => {
  const found = document.cookie.match(/__Host-tokensmith-csrf-tokensmith-pages=([^;]+)/);
  const out = { csrfVisible: found !== null };
  try {
    const r = await fetch(target + "/auth/refresh", {
      method: "POST", credentials: "include", body,
      headers: { "X-CSRF-Token": found ? found[1] : "guess", "Content-Type": "application/json" },
    });
    out.cors = { status: r.status, body: await r.text() };
  } catch (e) {
    out.cors = "blocked";
  }
  const r = await fetch(target + "/auth/refresh", {
    method: "POST", credentials: "include", mode: "no-cors", body,
  });
  out.noCors = { type: r.type, status: r.status };
  return out;
})();
</script>
"""


@pytest.fixture(scope="module")
def attacker(web_server: Server) -> Iterator[int]:
    """A second local web server (another origin) serving the attack page; its port."""
    page = ATTACK.replace("TARGET", web_server.url).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("host", "same_site"),
    [("127.0.0.1", True), ("localhost", False)],
    ids=["same-site-other-port", "cross-site"],
)
def test_a_page_on_another_origin_gets_nothing_from_the_refresh_endpoint(
    web_server: Server, new_page: Any, attacker: int, host: str, same_site: bool
) -> None:
    username = unique("eve")
    sign_up(web_server, username)
    page = new_page()
    sign_in(page, web_server, username)
    refresh_answers: list[Any] = []
    page.on(
        "response",
        lambda r: refresh_answers.append(r) if r.url.endswith("/auth/refresh") else None,
    )

    page.goto(f"http://{host}:{attacker}/")
    results = page.evaluate("window.results")
    # Cookies are per host, not per port: a same-site page can read the CSRF cookie, so
    # the Origin check and CORS are what stop it; a cross-site page cannot even read it.
    assert results["csrfVisible"] is same_site
    assert results["cors"] == "blocked"  # the preflight is refused: nothing is sent
    assert results["noCors"] == {"type": "opaque", "status": 0}
    with page.expect_navigation() as forged:
        page.evaluate("document.getElementById('forged').submit()")
    answer = forged.value
    assert answer is not None
    assert answer.status in (400, 403)
    assert "access_token" not in answer.text()
    assert refresh_answers  # the simple (no-cors) POST and the form did reach the server
    for response in refresh_answers:
        assert response.status in (400, 403)
        assert "set-cookie" not in response.headers

    # the victim's session is untouched: its own page still restores it
    with page.expect_response("**/auth/refresh") as restored:
        page.goto(f"{web_server.url}/account")
    assert restored.value.status == 200
    page.locator("main strong[data-bind=username]").filter(has_text=username).wait_for()


def test_the_csp_header_is_sent_and_the_browser_runs_no_inline_script(
    web_server: Server, new_page: Any
) -> None:
    page = new_page()
    response = page.goto(f"{web_server.url}/signin")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    outcome = page.evaluate(
        """async () => {
            const violations = [];
            document.addEventListener("securitypolicyviolation",
                (e) => violations.push(e.violatedDirective));
            const script = document.createElement("script");
            script.textContent = "window.pwned = 1";
            document.body.append(script);
            document.body.insertAdjacentHTML("beforeend",
                '<img alt="" src="/nothing.png" onerror="window.pwned = 2">');
            const style = document.createElement("div");
            style.setAttribute("style", "color: red");
            document.body.append(style);
            await new Promise((resolve) => setTimeout(resolve, 300));
            return { pwned: window.pwned ?? null, violations,
                     color: getComputedStyle(style).color };
        }"""
    )
    assert outcome["pwned"] is None
    assert any(v.startswith("script-src") for v in outcome["violations"])
    assert outcome["color"] != "rgb(255, 0, 0)"
    # and the page's own module did run (it is same-origin): the form is wired up
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_text("Enter your username.").is_visible()


def test_the_page_may_not_be_framed(web_server: Server, new_page: Any, attacker: int) -> None:
    page = new_page()
    page.goto(f"http://127.0.0.1:{attacker}/")
    with page.expect_response(f"{web_server.url}/signin") as framed:
        page.evaluate(
            """(url) => new Promise((resolve) => {
                const frame = document.createElement("iframe");
                frame.onload = resolve;
                frame.src = url;
                document.body.append(frame);
            })""",
            f"{web_server.url}/signin",
        )
    assert framed.value.headers["x-frame-options"] == "DENY"
    rendered = [f for f in page.frames if f.url.startswith(web_server.url)]
    assert all(f.locator("form").count() == 0 for f in rendered)
