"""Prometheus metrics of the auth server: ``GET /metrics`` (``TOKENSMITH_METRICS``).

- ``tokensmith_http_requests_total{route,method,status}`` and
  ``tokensmith_http_request_seconds{route,method}``: every HTTP request, labelled by its
  route template (``/auth/login``; ``unmatched`` for a path no route knows, so a scanner
  cannot grow the label set);
- ``tokensmith_logins_total{outcome}`` (``ok``/``failed``), ``tokensmith_refreshes_total``,
  ``tokensmith_refresh_reuse_total``, ``tokensmith_revocations_total{kind}`` (``logout``,
  ``logout_all``, ``session_revoked``, ``token_revoked``), ``tokensmith_key_rotations_total``
  and ``tokensmith_audit_events_total{event}``: counted from the issuer's audit events
  (``Issuer.watch_audit``), so the issuer knows nothing of metrics.

Access (the careful default is ``off``): ``loopback`` answers only a direct loopback peer
whose request carries no ``Forwarded``/``X-Forwarded-For`` header (a reverse proxy on the
same host forwarding a public request adds one); ``bearer`` answers anyone presenting
``Authorization: Bearer $TOKENSMITH_METRICS_SECRET``.

Several processes (``tokensmith serve --workers N``): the supervisor points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers start; each worker
writes its values there and any worker's ``/metrics`` answers the sum over all of them.
Separate instances (hosts) are scraped one by one; Prometheus adds them up.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as render_registry

from ..issuer.service import Issuer
from .deps import secret_matches, settings_of
from .limits import Scope

__all__ = ["MULTIPROC_ENV", "ServerMetrics", "router"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_REVOCATIONS = frozenset({"logout", "logout_all", "session_revoked", "token_revoked"})


class ServerMetrics:
    """The server's metrics on their own registry (several apps may live in one process,
    as in the tests); :meth:`attach` starts counting an issuer's audit events,
    :meth:`detach` stops."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "tokensmith_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "tokensmith_http_request_seconds",
            "HTTP request duration by route template and method",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.logins = Counter("tokensmith_logins", "logins by outcome", ["outcome"], registry=r)
        self.refreshes = Counter("tokensmith_refreshes", "refresh-token rotations", registry=r)
        self.reuse = Counter(
            "tokensmith_refresh_reuse", "refresh-token reuses (family revoked)", registry=r
        )
        self.revocations = Counter(
            "tokensmith_revocations", "revocations by kind", ["kind"], registry=r
        )
        self.key_rotations = Counter(
            "tokensmith_key_rotations", "signing-key rotations", registry=r
        )
        self.audit_events = Counter(
            "tokensmith_audit_events", "audit events by kind", ["event"], registry=r
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._by_event: dict[str, tuple[Counter, ...]] = {}
        self._unwatch: Callable[[], None] | None = None

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """One HTTP request (the access log calls this): by route template, never by
        path."""
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = scope["method"] if scope["method"] in _METHODS else "other"
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            # few label sets (route templates, not paths), so kept: labels() costs more
            # than the counting itself
            children = (
                self.requests.labels(route, method, str(status)),
                self.latency.labels(route, method),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def count(self, event: str) -> None:
        """One audit event of the kind ``event``."""
        counters = self._by_event.get(event)
        if counters is None:
            if len(event) > 64:
                return
            counters = self._by_event[event] = self._counters_of(event)
        for counter in counters:
            counter.inc()

    def _counters_of(self, event: str) -> tuple[Counter, ...]:
        """The counters an event of the kind ``event`` adds one to (kept per kind, as in
        :meth:`observe`: the kinds are the issuer's few names)."""
        found = [self.audit_events.labels(event)]
        if event in ("login_ok", "login_failed"):
            found.append(self.logins.labels("ok" if event == "login_ok" else "failed"))
        elif event == "refresh":
            found.append(self.refreshes)
        elif event == "refresh_reuse_detected":
            found.append(self.reuse)
        elif event == "key_rotated":
            found.append(self.key_rotations)
        elif event in _REVOCATIONS:
            found.append(self.revocations.labels(event))
        return tuple(found)

    def attach(self, issuer: Issuer) -> None:
        """Count ``issuer``'s audit events from now on (one issuer at a time)."""
        self.detach()
        self._unwatch = issuer.watch_audit(self.count)

    def detach(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    def render(self) -> bytes:
        """The exposition text: this registry's, or every worker's sum in multiprocess
        mode."""
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return render_registry(merged)
        return render_registry(self.registry)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

router = APIRouter(tags=["health"])


def _loopback_peer(request: Request) -> bool:
    if "forwarded" in request.headers or "x-forwarded-for" in request.headers:
        return False
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics; who may read them is ``TOKENSMITH_METRICS``."""
    settings = settings_of(request)
    if settings.metrics == "off":
        return JSONResponse({"error": "not_found", "message": "Not Found"}, status_code=404)
    if settings.metrics == "loopback" and not _loopback_peer(request):
        return JSONResponse(
            {"error": "forbidden", "message": "metrics are served to loopback peers only"},
            status_code=403,
        )
    if settings.metrics == "bearer":
        secret = settings.metrics_secret.get_secret_value() if settings.metrics_secret else ""
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if not secret or scheme.lower() != "bearer" or not secret_matches(given.strip(), secret):
            return JSONResponse(
                {"error": "unauthorized", "message": "metrics need the metrics bearer secret"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
    body = request.app.state.metrics.render()
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
