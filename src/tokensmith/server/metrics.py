"""Prometheus metrics of the auth server: ``GET /metrics`` (``TOKENSMITH_METRICS``).

- ``tokensmith_http_requests_total{route,method,status}`` and
  ``tokensmith_http_request_seconds{route,method}``: every HTTP request, labelled by its
  route template (``/auth/login``; ``unmatched`` for a path no route knows, so a scanner
  cannot grow the label set);
- ``tokensmith_logins_total{outcome}`` (``ok``/``failed``), ``tokensmith_refreshes_total``,
  ``tokensmith_refresh_reuse_total``, ``tokensmith_revocations_total{kind}`` (``logout``,
  ``logout_all``, ``session_revoked``, ``token_revoked``), ``tokensmith_key_rotations_total``
  and ``tokensmith_audit_events_total{event}``: counted from the audit log's lines (the
  ``tokensmith.audit`` logger), so the issuer knows nothing of metrics.

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
import json
import logging
import os

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as render_registry

from .deps import secret_matches, settings_of
from .limits import Scope

__all__ = ["MULTIPROC_ENV", "ServerMetrics", "router"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_REVOCATIONS = frozenset({"logout", "logout_all", "session_revoked", "token_revoked"})
_audit_logger = logging.getLogger("tokensmith.audit")


class ServerMetrics:
    """The server's metrics on their own registry (several apps may live in one process,
    as in the tests); :meth:`attach` starts counting audit events, :meth:`detach` stops."""

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
        self._handler = _AuditCounter(self)
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

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
        self.audit_events.labels(event).inc()
        if event in ("login_ok", "login_failed"):
            self.logins.labels("ok" if event == "login_ok" else "failed").inc()
        elif event == "refresh":
            self.refreshes.inc()
        elif event == "refresh_reuse_detected":
            self.reuse.inc()
        elif event == "key_rotated":
            self.key_rotations.inc()
        elif event in _REVOCATIONS:
            self.revocations.labels(event).inc()

    def attach(self) -> None:
        if not _audit_logger.isEnabledFor(logging.INFO):
            # the handlers above filter by the configured level (logs.configure_logging)
            _audit_logger.setLevel(logging.INFO)
        _audit_logger.addHandler(self._handler)

    def detach(self) -> None:
        _audit_logger.removeHandler(self._handler)

    def render(self) -> bytes:
        """The exposition text: this registry's, or every worker's sum in multiprocess
        mode."""
        if os.environ.get(MULTIPROC_ENV):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return render_registry(merged)
        return render_registry(self.registry)


class _AuditCounter(logging.Handler):
    def __init__(self, metrics: ServerMetrics) -> None:
        super().__init__(logging.INFO)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "audit_event", None)  # set by the issuer's audit log
        if event is None:
            try:
                event = json.loads(record.getMessage()).get("event")
            except (ValueError, AttributeError):
                return
        if isinstance(event, str) and len(event) <= 64:
            self.metrics.count(event)


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
