"""Django settings: simplejwt with rotation + blacklist on SQLite, nothing else."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import django

SECRET_KEY = os.environ.get("BENCH_DJANGO_SECRET", "benchmark-only-not-a-secret")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "benchmarks.server.simplejwt_app.urls"
WSGI_APPLICATION = "benchmarks.server.simplejwt_app.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
]
MIDDLEWARE: list[str] = []  # the least work per request: no sessions, CSRF, messages

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BENCH_DJANGO_DB", "simplejwt-bench.db"),
        # persistent connections (one per thread), like tokensmith's pool
        "CONN_MAX_AGE": None,
        "OPTIONS": {
            # the pragmas tokensmith's SQLite store sets
            "timeout": 10,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
if django.VERSION >= (5, 1):  # writers take the lock up front: no deadlock-and-retry
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"  # type: ignore[index]

# argon2id with tokensmith's parameters (see hashers.py)
PASSWORD_HASHERS = ["benchmarks.server.simplejwt_app.hashers.BenchArgon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

_key_file = os.environ.get("BENCH_DJANGO_KEY")
_pem = Path(_key_file).read_text() if _key_file else ""
_public_file = os.environ.get("BENCH_DJANGO_PUBLIC_KEY")
_public_pem = Path(_public_file).read_text() if _public_file else ""

SIMPLE_JWT = {
    # tokensmith's defaults: ES256, 15-minute access tokens, 7-day refresh tokens
    "ALGORITHM": "ES256",
    "SIGNING_KEY": _pem,
    "VERIFYING_KEY": _public_pem,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
