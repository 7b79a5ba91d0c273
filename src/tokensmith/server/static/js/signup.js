// The sign-up page (not loaded when registration is closed: the page has no form).

import { bound, clearInvalid, markInvalid, showUser } from "./page.js";
import * as session from "./session.js";
import { describeError } from "./words.js";

showUser(null);
const form = document.querySelector('[data-form="signup"]');
const error = bound("error", form);
const { username, password, confirm, invite } = form.elements;

const invalid = (input, message) => markInvalid(input, error, message);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearInvalid(form, error);
  if (invite && !invite.value.trim()) return invalid(invite, "Enter your invite code.");
  if (!username.value.trim()) return invalid(username, "Choose a username.");
  if (password.value.length < password.minLength) {
    return invalid(password, `The password needs at least ${password.minLength} characters.`);
  }
  if (password.value !== confirm.value) return invalid(confirm, "The passwords differ.");
  const button = form.querySelector('[type="submit"]');
  button.disabled = true;
  const name = username.value.trim();
  const body = { username: name, password: password.value };
  if (invite) body.invite = invite.value.trim();
  try {
    await session.postJSON("/auth/register", body);
    await session.signIn(name, password.value);
    location.assign("/account");
  } catch (failure) {
    button.disabled = false;
    const field =
      failure.code === "username_taken" || failure.code === "invalid_username"
        ? username
        : failure.code === "invite_required"
          ? (invite ?? username)
          : password;
    invalid(field, describeError(failure, "sign-up"));
  }
});
