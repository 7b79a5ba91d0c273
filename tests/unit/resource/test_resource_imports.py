"""tokensmith.resource needs no web framework: importing it (and the pure ASGI
middleware) loads none; each adapter loads only its own."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("fastapi", "starlette", "flask", "django", "rest_framework", "litestar")


def _loaded_after(statement: str) -> set[str]:
    code = (
        f"import sys; {statement}; "
        f"print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({FRAMEWORKS!r}))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(done.stdout.split())


def test_the_core_and_the_asgi_middleware_load_no_framework() -> None:
    assert _loaded_after("import tokensmith.resource, tokensmith.resource.asgi") == set()


def test_each_adapter_loads_only_its_framework() -> None:
    assert _loaded_after("import tokensmith.resource.flask") == {"flask"}
    assert "flask" not in _loaded_after("import tokensmith.resource.fastapi")
