"""Request and response bodies (JSON) of the first-party endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="ignore", str_strip_whitespace=False, strict=True)


class Credentials(BaseModel):
    model_config = _STRICT
    username: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=4096)


class RegisterRequest(Credentials):
    invite: str | None = Field(None, max_length=512)


class SetupRequest(Credentials):
    setup_token: str = Field(min_length=1, max_length=512)


class RefreshRequest(BaseModel):
    model_config = _STRICT
    refresh_token: str | None = Field(None, min_length=1, max_length=1024)
    #: a registered login client (absent: the first-party client)
    client_id: str | None = Field(None, min_length=1, max_length=64)


class LoginRequest(Credentials):
    #: a registered login client (public, grant refresh_token); absent: the first-party
    client_id: str | None = Field(None, min_length=1, max_length=64)


class PasswordChange(BaseModel):
    model_config = _STRICT
    old_password: str = Field(min_length=1, max_length=4096)
    new_password: str = Field(min_length=1, max_length=4096)


class TokenResponse(BaseModel):
    """``/auth/login`` and ``/auth/refresh``; in cookie mode ``refresh_token`` is absent and
    ``csrf_token`` is present."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the scheme, not a secret)
    expires_in: int
    refresh_token: str | None = None
    refresh_expires_in: int
    csrf_token: str | None = None


class UserResponse(BaseModel):
    id: str
    username: str
    roles: list[str] = []


class SessionResponse(BaseModel):
    id: str
    client_id: str | None = None
    created_at: float | None = None
    last_used_at: float | None = None
    expires_at: float | None = None
    ip: str | None = None
    user_agent: str | None = None
    current: bool = False


class CountResponse(BaseModel):
    revoked: int


class ErrorResponse(BaseModel):
    error: str
    message: str


class OAuthErrorResponse(BaseModel):
    error: str
    error_description: str | None = None
