// What the admin console pages share: the admin check, messages, table cells.

import { bound, requireUser, say } from "./page.js";
import * as session from "./session.js";
import { describeError } from "./words.js";

export { textCell, timeCell, timeElement } from "./cells.js";

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
