// The account page: sessions (revoke one, sign out everywhere) and the password.

import { textCell, timeCell } from "./cells.js";
import { describeAgent } from "./device.js";
import { bound, clearInvalid, markInvalid, requireUser, say } from "./page.js";
import * as session from "./session.js";
import { describeError, relativeTime } from "./words.js";

const user = await requireUser();
say(bound("loading"), "");
const error = bound("error");
const status = bound("status");
const rows = bound("sessions");

// Which app holds a session: these pages (their built-in client), the first-party API
// client, or a registered login client by its id.
const PAGES_CLIENT = document.body.dataset.clientId;
const appName = (clientId) => (clientId === PAGES_CLIENT ? "These pages" : clientId);

function row(item) {
  const tr = document.createElement("tr");
  tr.dataset.session = item.id;
  const device = describeAgent(item.user_agent);
  const deviceCell = textCell(device);
  if (item.current) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "this device";
    deviceCell.append(" ", badge);
    tr.classList.add("current");
  }
  if (item.user_agent) {
    const agent = document.createElement("span");
    agent.className = "agent";
    agent.textContent = item.user_agent;
    deviceCell.append(agent);
  }
  const action = document.createElement("td");
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = item.current ? "Sign out" : "Revoke";
  button.setAttribute(
    "aria-label",
    item.current
      ? "Sign out of this device"
      : `Revoke the session on ${device}, last used ${relativeTime(item.last_used_at)}`,
  );
  button.addEventListener("click", () => revoke(item, button));
  action.append(button);
  tr.append(
    deviceCell,
    textCell(appName(item.client_id), "App"),
    textCell(item.ip ?? "unknown", "Address"),
    timeCell(item.created_at, "Signed in"),
    timeCell(item.last_used_at, "Last used"),
    action,
  );
  return tr;
}

async function loadSessions() {
  say(error, "");
  try {
    const sessions = await session.api("/auth/sessions");
    rows.replaceChildren(...sessions.map(row));
  } catch (failure) {
    say(error, describeError(failure, "loading of your sessions"));
  }
}

async function revoke(item, button) {
  if (item.current) {
    await session.signOut();
    return;
  }
  button.disabled = true;
  try {
    await session.api(`/auth/sessions/${encodeURIComponent(item.id)}`, { method: "DELETE" });
    say(status, "The session has ended.");
  } catch (failure) {
    button.disabled = false;
    say(error, describeError(failure, "revocation"));
  }
  await loadSessions();
}

document
  .querySelector('[data-action="reload-sessions"]')
  .addEventListener("click", () => loadSessions());

document
  .querySelector('[data-action="sign-out-everywhere"]')
  .addEventListener("click", async (event) => {
    event.currentTarget.disabled = true;
    try {
      await session.signOutEverywhere();
    } catch (failure) {
      event.currentTarget.disabled = false;
      say(error, describeError(failure, "sign-out"));
    }
  });

const form = document.querySelector('[data-form="password"]');
const passwordError = bound("password-error", form);
const passwordStatus = bound("password-status", form);

const invalid = (input, message) => markInvalid(input, passwordError, message);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const { old_password: current, new_password: fresh, confirm } = form.elements;
  clearInvalid(form, passwordError, passwordStatus);
  if (!current.value) return invalid(current, "Enter your current password.");
  if (fresh.value.length < fresh.minLength) {
    return invalid(fresh, `The new password needs at least ${fresh.minLength} characters.`);
  }
  if (fresh.value !== confirm.value) return invalid(confirm, "The new passwords differ.");
  const button = form.querySelector('[type="submit"]');
  button.disabled = true;
  try {
    await session.api("/auth/password", {
      method: "POST",
      body: { old_password: current.value, new_password: fresh.value },
    });
    form.reset();
    say(passwordStatus, "Your password has been changed.");
  } catch (failure) {
    const wrong = failure.code === "invalid_credentials";
    invalid(
      wrong ? current : fresh,
      wrong ? "The current password is wrong." : describeError(failure, "password change"),
    );
  } finally {
    button.disabled = false;
  }
});

document.title = `${user.preferred_username} · tokensmith`;
await loadSessions();
