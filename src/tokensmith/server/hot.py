"""A short path for the hottest JSON endpoints (``POST /auth/login``, ``/auth/refresh``).

FastAPI's generic request handling (two more middleware layers, routing through the
included routers, the body parsing and dependency solving of its request handler) costs
a login about a sixth of its event-loop CPU (docs/benchmarks-server.md). For a request
that FastAPI would read as a JSON body of the route's model, :class:`HotRoutes` does the
same steps itself (``json.loads``, then the model's validation) and calls the **same
endpoint function** with the **same model**; the app's own exception handlers render
what the endpoint raises.

Everything else takes FastAPI's path, with the body replayed unchanged: another method or
path, a body that is not one ``application/json`` message, JSON that does not parse or
does not validate (FastAPI then answers with the usual 400). The short path never answers
differently, only sooner: ``tests/unit/server/test_server_hot.py`` sends the same
requests both ways and compares the answers.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from .limits import replaying

#: the endpoints taken on the short path (every other one takes FastAPI's)
HOT_PATHS = ("/auth/login", "/auth/refresh")

Endpoint = Callable[..., Awaitable[Response]]
Handler = Callable[[Request, Exception], Any]


class HotRoute:
    """One endpoint on the short path: ``await endpoint(body=model(...), request=...)``."""

    def __init__(self, route: APIRoute, model: type[BaseModel]) -> None:
        self.route = route
        self.model = model
        self.endpoint: Endpoint = route.endpoint


class HotRoutes:
    """ASGI middleware, the innermost of the app's own (inside the size limits, which
    have already read the body): a ``POST`` to one of ``paths`` whose body is JSON of the
    route's model goes straight to the endpoint. ``routes`` are searched for those paths
    once; ``handlers`` are the app's exception handlers (``app.exception_handlers``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Iterable[BaseRoute],
        paths: Collection[str],
        handlers: Mapping[Any, Handler],
    ) -> None:
        self.app = app
        self.handlers = handlers
        self.routes: dict[str, HotRoute] = {}
        for route in routes:
            if (
                isinstance(route, APIRoute)
                and route.path in paths
                and "POST" in (route.methods or ())
            ):
                model = _body_model(route)
                if model is not None:
                    self.routes[route.path] = HotRoute(route, model)
        #: requests answered on the short path (the tests check that it is taken)
        self.taken = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if (
            hot is None
            or scope["method"] != "POST"
            or scope.get("root_path")
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        message = await receive()
        replay = replaying(message, receive)
        if message["type"] != "http.request" or message.get("more_body", False):
            await self.app(scope, replay, send)
            return
        try:
            body = hot.model.model_validate(json.loads(message.get("body", b"")))
        except Exception:  # not JSON, too deep, not the model: FastAPI says which
            await self.app(scope, replay, send)
            return
        self.taken += 1
        scope["route"] = hot.route  # what routing would have set (the metrics read it)
        scope["endpoint"] = hot.endpoint
        request = Request(scope, receive)
        try:
            response = await hot.endpoint(body=body, request=request)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise  # as on the long path: ServerErrorMiddleware answers 500
            if inspect.iscoroutinefunction(handler):
                response = await handler(request, exc)
            else:
                response = await run_in_threadpool(handler, request, exc)
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        """The handler of ``exc``'s class or its nearest base, as Starlette's
        ExceptionMiddleware finds it; ``Exception``'s own handler is the outermost
        ServerErrorMiddleware's, as on the long path."""
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            if cls in self.handlers:
                return self.handlers[cls]
        return None


def _is_json(scope: Scope) -> bool:
    """``Content-Type: application/json`` (parameters allowed): the one type the short
    path reads. FastAPI also reads ``+json`` types and a body with no type, on its path."""
    for key, value in scope["headers"]:
        if key == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == b"application/json")
    return False


def _body_model(route: APIRoute) -> type[BaseModel] | None:
    """The model of the route's JSON body when its endpoint is a coroutine that takes
    just ``body`` and ``request`` and returns a Response: nothing that needs FastAPI's
    dependency solving or response serialization. None otherwise."""
    if not inspect.iscoroutinefunction(route.endpoint):
        return None
    dependant = route.dependant
    others = (
        dependant.dependencies,
        dependant.path_params,
        dependant.query_params,
        dependant.header_params,
        dependant.cookie_params,
    )
    if any(others) or len(dependant.body_params) != 1:
        return None
    if dependant.body_params[0].name != "body" or dependant.request_param_name != "request":
        return None
    hints = typing.get_type_hints(route.endpoint)
    answer = hints.get("return")
    if not (isinstance(answer, type) and issubclass(answer, Response)):
        return None
    model = hints.get("body")
    if typing.get_origin(model) in (typing.Union, types.UnionType):  # ``Model | None``
        members = [arg for arg in typing.get_args(model) if arg is not type(None)]
        model = members[0] if len(members) == 1 else None
    if isinstance(model, type) and issubclass(model, BaseModel):
        return model
    return None
