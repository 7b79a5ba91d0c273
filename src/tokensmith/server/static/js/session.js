// The signed-in session of this page, in cookie mode (docs/web.md).
//
// The pages sign in as the server's built-in client for them (its client_id is in the
// page's data-client-id), which is always in cookie mode with its own pair of cookies.
// The access token lives in this module's variables only: never in storage, a cookie or
// a URL. The refresh token is an HttpOnly cookie that script cannot read; refreshing
// sends the CSRF token (double submit) in X-CSRF-Token. After a reload the page has no
// access token and calls restore(), which refreshes through the cookie.

const CLIENT_ID = document.body.dataset.clientId;
const CSRF_COOKIE = document.body.dataset.csrfCookie;
const MIN_DELAY_MS = 5000;
const RETRY_MS = 10000;

let accessToken = null;
let csrfToken = null;
let expiresAt = 0;
let timer = null;
let inflight = null;
const listeners = new Set();

/** An error answer of the server: `code` is its stable error code. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

const NETWORK = () => new ApiError(0, "network", "the server could not be reached");

async function readError(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: keep the status
  }
  const retry = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  return new ApiError(
    response.status,
    body.error ?? `http_${response.status}`,
    body.message ?? body.error_description ?? response.statusText,
    Number.isFinite(retry) ? retry : null,
  );
}

function csrfFromCookie() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === CSRF_COOKIE) return decodeURIComponent(rest.join("="));
  }
  return null;
}

function schedule(delayMs) {
  clearTimeout(timer);
  timer = setTimeout(() => {
    refresh().catch(() => {
      // refresh() already signed out (or rescheduled after a network error)
    });
  }, delayMs);
}

function accept(body) {
  accessToken = body.access_token;
  csrfToken = body.csrf_token ?? csrfToken;
  expiresAt = Date.now() + body.expires_in * 1000;
  // refresh a fifth of the lifetime (at most a minute) before the token expires
  const lead = Math.min(60, body.expires_in * 0.2);
  schedule(Math.max(MIN_DELAY_MS, (body.expires_in - lead) * 1000));
}

function end(reason) {
  accessToken = null;
  csrfToken = null;
  expiresAt = 0;
  clearTimeout(timer);
  timer = null;
  for (const listener of listeners) listener(reason);
}

/** Call `listener(reason)` when the session ends ("expired", "signed-out", ...). */
export function onSignedOut(listener) {
  listeners.add(listener);
}

export function isSignedIn() {
  return accessToken !== null;
}

/** Seconds until the access token expires (0 when signed out). */
export function expiresIn() {
  return accessToken === null ? 0 : Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
}

/** POST JSON without a token (sign-in, sign-up); the JSON answer, or ApiError. */
export async function postJSON(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw NETWORK();
  }
  if (!response.ok) throw await readError(response);
  return response.json();
}

/** Sign in with a password; throws ApiError (invalid_credentials, rate_limited, ...). */
export async function signIn(username, password) {
  accept(await postJSON("/auth/login", { username, password, client_id: CLIENT_ID }));
}

async function refreshOnce() {
  const csrf = csrfFromCookie() ?? csrfToken;
  if (!csrf) {
    end("expired");
    throw new ApiError(401, "no_session", "not signed in");
  }
  let response;
  try {
    response = await fetch("/auth/refresh", {
      method: "POST",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
      body: JSON.stringify({ client_id: CLIENT_ID }),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    if (accessToken !== null) schedule(RETRY_MS);
    throw NETWORK();
  }
  if (!response.ok) {
    const error = await readError(response);
    if (error.status >= 500 || error.status === 429) {
      if (accessToken !== null) schedule(RETRY_MS);
    } else {
      end("expired");
    }
    throw error;
  }
  accept(await response.json());
}

/** Get a new access token through the refresh cookie (one request at a time). */
export function refresh() {
  if (inflight === null) {
    inflight = refreshOnce().finally(() => {
      inflight = null;
    });
  }
  return inflight;
}

/** After a page load: true when the cookie still holds a session (now refreshed). */
export async function restore() {
  if (accessToken !== null) return true;
  if (csrfFromCookie() === null) return false;
  try {
    await refresh();
    return true;
  } catch {
    return false;
  }
}

async function send(path, method, body) {
  const headers = { Authorization: `Bearer ${accessToken}` };
  const init = { method, headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(path, init);
  } catch {
    throw NETWORK();
  }
}

// A 401 about the access token (a Bearer challenge), not e.g. a wrong current password.
const tokenRefused = (response) =>
  response.status === 401 && /^Bearer/i.test(response.headers.get("WWW-Authenticate") ?? "");

/** Call the API with the access token; when it is refused, refresh once and retry. */
export async function api(path, { method = "GET", body } = {}) {
  if (accessToken === null || Date.now() >= expiresAt) await refresh();
  let response = await send(path, method, body);
  if (tokenRefused(response)) {
    await refresh();
    response = await send(path, method, body);
  }
  if (!response.ok) throw await readError(response);
  if (response.status === 204) return null;
  return response.json();
}

/** End this session (the cookie's) on the server and here. */
export async function signOut() {
  const csrf = csrfFromCookie() ?? csrfToken;
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  if (accessToken) headers.Authorization = `Bearer ${accessToken}`;
  try {
    await fetch("/auth/logout", {
      method: "POST",
      headers,
      body: JSON.stringify({ client_id: CLIENT_ID }),
      credentials: "same-origin",
    });
  } catch {
    // signed out here anyway; the server session ends at its idle timeout
  } finally {
    end("signed-out");
  }
}

/** End every session of this user, on every device; returns how many ended. */
export async function signOutEverywhere() {
  const answer = await api("/auth/logout-all", { method: "POST" });
  end("signed-out-everywhere");
  return answer?.revoked ?? 0;
}
