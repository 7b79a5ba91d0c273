// What the admin console pages share: the admin check, messages, table cells.

import { bound, requireUser, say } from "./page.js";
import * as session from "./session.js";
import { describeError, localTime, relativeTime } from "./words.js";

const errorBox = () => bound("error");
const statusBox = () => bound("status");

function showNotAdmin() {
  bound("console").hidden = true;
  bound("not-admin").hidden = false;
}

/**
 * Restore the session (or go to sign-in); resolve to the user when they hold the admin
 * role, else show the "administrators only" message and never resolve.
 */
export async function requireAdmin() {
  const user = await requireUser();
  say(bound("loading"), "");
  if (!(user.roles ?? []).includes("admin")) {
    showNotAdmin();
    return new Promise(() => {});
  }
  bound("console").hidden = false;
  return user;
}

/** Say what went right (a polite status) and clear the last error. */
export function sayStatus(text) {
  say(errorBox(), "");
  say(statusBox(), text);
}

/** Say what went wrong, in words; a 403 means the admin role was lost meanwhile. */
export function sayError(error, action) {
  if (error?.status === 403) showNotAdmin();
  say(statusBox(), "");
  say(errorBox(), describeError(error, action));
}

/** Call the admin API; errors are shown and rethrown. */
export async function call(path, { method = "GET", body, action = "request" } = {}) {
  try {
    return await session.api(path, { method, body });
  } catch (error) {
    sayError(error, action);
    throw error;
  }
}

/** A table cell with text (and a class). */
export function textCell(text, className) {
  const cell = document.createElement("td");
  cell.textContent = text;
  if (className) cell.className = className;
  return cell;
}

/** A <time> for epoch seconds: the local date and time, then "in 3 days" / "5 minutes ago". */
export function timeElement(epochSeconds, now = Date.now()) {
  const wrap = document.createElement("span");
  if (epochSeconds === null || epochSeconds === undefined) {
    wrap.textContent = "—";
    return wrap;
  }
  const time = document.createElement("time");
  time.dateTime = new Date(epochSeconds * 1000).toISOString();
  time.textContent = localTime(epochSeconds);
  const relative = document.createElement("span");
  relative.className = "relative";
  relative.textContent = relativeTime(epochSeconds, now);
  wrap.append(time, relative);
  return wrap;
}

/** A table cell holding timeElement(). */
export function timeCell(epochSeconds, now) {
  const cell = document.createElement("td");
  cell.append(timeElement(epochSeconds, now));
  return cell;
}

/** A small label; `kind` picks the colour class (ok, warn, danger, muted). */
export function badge(text, kind = "ok") {
  const element = document.createElement("span");
  element.className = `badge ${kind}`;
  element.textContent = text;
  return element;
}

/** A button that runs `handler` while disabled, with an accessible name. */
export function actionButton(text, label, handler, className) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = text;
  if (label) button.setAttribute("aria-label", label);
  if (className) button.className = className;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await handler();
    } catch {
      // call() has shown the error
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** Replace the children of a tbody/list and show the "empty" note when there are none. */
export function fill(container, children, emptyNote) {
  container.replaceChildren(...children);
  if (emptyNote) emptyNote.hidden = children.length > 0;
}
