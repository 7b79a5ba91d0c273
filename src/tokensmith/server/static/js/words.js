// Errors and times in words for people.

/** "45 seconds", "2 minutes 5 seconds", "1 hour 3 minutes". */
export function formatWait(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  const plural = (n, unit) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (s < 60) return plural(s, "second");
  if (s < 3600) {
    const rest = s % 60;
    return plural(Math.floor(s / 60), "minute") + (rest ? ` ${plural(rest, "second")}` : "");
  }
  const minutes = Math.floor((s % 3600) / 60);
  return plural(Math.floor(s / 3600), "hour") + (minutes ? ` ${plural(minutes, "minute")}` : "");
}

const MESSAGES = {
  invalid_credentials: "Wrong username or password.",
  account_disabled: "This account is disabled. Ask an administrator.",
  username_taken: "That username is taken. Choose another one.",
  registration_closed: "Registration is closed on this server.",
  invite_required: "That invite code is unknown, used or expired.",
  origin_not_allowed:
    "Signing in works only at the server's own address (its issuer URL): open the pages there.",
  csrf_failed: "Your session could not be confirmed. Sign in again.",
  invalid_grant: "Your session has ended. Sign in again.",
  no_session: "You are not signed in.",
  forbidden: "You are not allowed to do that.",
  network: "The server could not be reached. Check your connection and try again.",
  session_not_found: "That session has already ended.",
};

/** The words for an ApiError; `action` names what was tried ("sign-in", "sign-up", ...). */
export function describeError(error, action = "request") {
  if (error?.code === "rate_limited") {
    const wait = error.retryAfter ? formatWait(error.retryAfter) : "a while";
    if (action === "sign-in") {
      return `Too many failed sign-in attempts: signing in is locked for ${wait}. Try again after that.`;
    }
    return `Too many attempts from your address. Try again in ${wait}.`;
  }
  if (error?.code && MESSAGES[error.code]) return MESSAGES[error.code];
  if (error?.status >= 500) return "The server had a problem. Try again in a moment.";
  const detail = error?.message ? `: ${error.message}` : "";
  return `The ${action} did not work${detail}.`;
}

const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const STEPS = [
  [60, "second"],
  [60, "minute"],
  [24, "hour"],
  [30, "day"],
  [12, "month"],
  [Number.POSITIVE_INFINITY, "year"],
];

/** "5 minutes ago", "in 12 minutes" for a time in epoch seconds. */
export function relativeTime(epochSeconds, now = Date.now()) {
  let value = epochSeconds - now / 1000;
  for (const [size, unit] of STEPS) {
    if (Math.abs(value) < size) return RELATIVE.format(Math.round(value), unit);
    value /= size;
  }
  return "";
}

/** The local date and time for epoch seconds. */
export function localTime(epochSeconds) {
  return new Date(epochSeconds * 1000).toLocaleString(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
}
