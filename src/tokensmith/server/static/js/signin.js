// The sign-in page.

import { bound, clearInvalid, markInvalid, safeNext, say, showUser } from "./page.js";
import * as session from "./session.js";
import { describeError } from "./words.js";

const REASONS = {
  expired: "Your session has ended. Sign in again.",
  "signed-out": "You are signed out.",
  "signed-out-everywhere": "You are signed out on every device.",
};

const params = new URLSearchParams(location.search);
const next = safeNext(params.get("next"));
const reason = REASONS[params.get("reason")] ?? "";
say(bound("reason"), reason);
showUser(null);

const form = document.querySelector('[data-form="signin"]');
const error = bound("error", form);
const username = form.elements.username;
const password = form.elements.password;

const invalid = (input, message) => markInvalid(input, error, message);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearInvalid(form, error);
  if (!username.value.trim()) return invalid(username, "Enter your username.");
  if (!password.value) return invalid(password, "Enter your password.");
  const button = form.querySelector('[type="submit"]');
  button.disabled = true;
  try {
    await session.signIn(username.value.trim(), password.value);
    location.assign(next);
  } catch (failure) {
    button.disabled = false;
    password.value = "";
    invalid(password, describeError(failure, "sign-in"));
  }
});

// A live session (e.g. opening /signin in a new tab): go straight on.
if (!reason && (await session.restore())) location.replace(next);
