"""The pages people use: sign in, sign up, their account (``/`` leads to the account)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ..deps import settings_of
from . import page_router
from .render import render

router = page_router()


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/account", status_code=303)


@router.get("/signin")
async def signin(request: Request) -> HTMLResponse:
    return render(request, "signin.html", title="Sign in", script="signin.js")


@router.get("/signup")
async def signup(request: Request) -> HTMLResponse:
    return render(
        request,
        "signup.html",
        title="Create an account",
        script="signup.js",
        registration=settings_of(request).registration,
        password_min=settings_of(request).password_min,
        password_max=settings_of(request).password_max,
    )


@router.get("/account")
async def account(request: Request) -> HTMLResponse:
    settings = settings_of(request)
    return render(
        request,
        "account.html",
        title="Your account",
        script="account.js",
        password_min=settings.password_min,
        password_max=settings.password_max,
    )
