// What every page shares: finding elements, the signed-in header, going to sign-in.

import * as session from "./session.js";

/** The words for why signing in cannot work at this address, or "" when it can. The
 *  pages' session cookies are __Host- cookies (Secure) of the server's own origin, which
 *  the server sends as data-origin; it refuses sign-ins from any other origin. */
export function setupProblem(expected = document.body.dataset.origin) {
  if (expected && location.origin !== expected) {
    return (
      `These pages sign in only at ${expected}, the server's own address (its issuer URL). ` +
      "Open them there, or start the server with TOKENSMITH_ISSUER set to the address you use."
    );
  }
  if (!window.isSecureContext) {
    return (
      "Signing in needs a secure connection: serve these pages over https " +
      "(browsers treat only http://localhost and http://127.0.0.1 as secure without it)."
    );
  }
  return "";
}

function showSetupProblem() {
  const problem = setupProblem();
  const notice = bound("setup-notice");
  if (!problem || !notice) return;
  bound("setup-notice-text", notice).textContent = problem;
  notice.hidden = false;
}

/** The first element with data-bind="name". */
export function bound(name, root = document) {
  return root.querySelector(`[data-bind="${name}"]`);
}

/** Show `text` in the element (hidden when empty). */
export function say(element, text) {
  if (!element) return;
  element.textContent = text ?? "";
  element.hidden = !text;
}

/** Mark `input` invalid, say `message` in the `error` element and focus the input. */
export function markInvalid(input, error, message) {
  input.setAttribute("aria-invalid", "true");
  say(error, message);
  input.focus();
}

/** Undo markInvalid on every input of `form`, and empty the `messages` elements. */
export function clearInvalid(form, ...messages) {
  for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
  for (const message of messages) say(message, "");
}

/** Toggle the data-when="signed-in|signed-out|admin" parts and fill in the username. */
export function showUser(user) {
  const roles = user?.roles ?? [];
  for (const element of document.querySelectorAll("[data-when]")) {
    const when = element.dataset.when;
    const visible =
      when === "signed-in" ? !!user : when === "signed-out" ? !user : roles.includes(when);
    element.hidden = !visible;
  }
  for (const element of document.querySelectorAll('[data-bind="username"]')) {
    element.textContent = user?.preferred_username ?? "";
  }
}

/** A same-origin path to return to after signing in (anything else: the account page).
 *  The browser's own URL parser decides, so "/\t/evil.example" and the like cannot
 *  turn into another origin. */
export function safeNext(value) {
  if (typeof value !== "string" || !value.startsWith("/")) return "/account";
  let url;
  try {
    url = new URL(value, location.origin);
  } catch {
    return "/account";
  }
  if (url.origin !== location.origin || url.pathname.startsWith("/signin")) return "/account";
  return url.pathname + url.search + url.hash;
}

/** Go to the sign-in page, saying why and where to come back to. */
export function goToSignIn(reason) {
  const params = new URLSearchParams();
  if (reason) params.set("reason", reason);
  params.set("next", location.pathname);
  location.assign(`/signin?${params}`);
}

showSetupProblem();

function wireSignOut() {
  for (const button of document.querySelectorAll('[data-action="sign-out"]')) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      await session.signOut();
    });
  }
}

/**
 * For pages that need a user: restore the session (refresh through the cookie), show
 * the header, and go to sign-in when the session ends. Resolves to /userinfo's answer.
 */
export async function requireUser() {
  session.onSignedOut((reason) => goToSignIn(reason === "signed-out" ? "signed-out" : reason));
  wireSignOut();
  if (!(await session.restore())) {
    goToSignIn(null);
    return new Promise(() => {});
  }
  const user = await session.api("/userinfo");
  showUser(user);
  return user;
}

/** For pages open to everyone: show the header as signed in when a session exists. */
export async function optionalUser() {
  session.onSignedOut(() => showUser(null));
  wireSignOut();
  if (!(await session.restore())) {
    showUser(null);
    return null;
  }
  try {
    const user = await session.api("/userinfo");
    showUser(user);
    return user;
  } catch {
    showUser(null);
    return null;
  }
}
