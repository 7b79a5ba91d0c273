// Admin console, signing keys: the timeline (next, current, previous, retired with their
// dates) and "rotate now".

import { call, requireAdmin, sayError, sayStatus, timeElement, badge } from "./admin.js";
import { bound } from "./page.js";
import * as session from "./session.js";
import { formatWait } from "./words.js";

await requireAdmin();
const list = bound("keys");
const rotate = document.querySelector('[data-action="rotate"]');
const force = document.querySelector('[data-action="force"]');
const forceHint = bound("force-hint");

const STATES = {
  next: ["next", "warn", "Published, not signing yet"],
  current: ["current", "ok", "Signs new tokens"],
  previous: ["previous", "muted", "Stopped signing; verifies its tokens until they expire"],
  retired: ["retired", "muted", "Retired"],
};

function fact(term, epochSeconds, now) {
  const wrap = document.createElement("div");
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.append(timeElement(epochSeconds, now));
  wrap.append(dt, dd);
  return wrap;
}

function item(key, now) {
  const [label, colour, meaning] = STATES[key.state];
  const li = document.createElement("li");
  li.className = `key ${key.state}`;
  li.dataset.kid = key.kid;
  li.dataset.state = key.state;
  const head = document.createElement("h3");
  head.append(badge(label, colour), " ");
  const kid = document.createElement("code");
  kid.textContent = key.kid;
  head.append(kid, ` ${key.alg}`);
  const what = document.createElement("p");
  what.className = "hint";
  what.textContent = `${meaning}. ${key.published ? "In the JWKS." : "Not in the JWKS."}`;
  const facts = document.createElement("dl");
  facts.className = "facts";
  facts.append(fact("Created", key.created_at, now));
  if (key.activated_at) facts.append(fact("Signing since", key.activated_at, now));
  if (key.deactivated_at) facts.append(fact("Stopped signing", key.deactivated_at, now));
  if (key.retired_at) facts.append(fact("Retired", key.retired_at, now));
  if (key.publish_until) facts.append(fact("Leaves the JWKS", key.publish_until, now));
  li.append(head, what, facts);
  return li;
}

/** A schedule period in words: whole days from two days up, else formatWait's words. */
function period(seconds) {
  return seconds >= 2 * 86400 ? `${Math.round(seconds / 86400)} days` : formatWait(seconds);
}

function setFact(name, epochSeconds, now) {
  bound(name).replaceChildren(timeElement(epochSeconds, now));
}

async function load() {
  let answer;
  try {
    answer = await call("/admin/keys", { action: "loading the keys" });
  } catch {
    return;
  }
  // relative times against the server's clock
  const now = answer.now * 1000;
  list.replaceChildren(...answer.keys.map((key) => item(key, now)));
  setFact("due", answer.next_rotation_at, now);
  setFact("ready", answer.next_ready_at, now);
  bound("rotation-period").textContent = period(answer.key_rotation);
  bound("max-age").textContent = period(answer.jwks_max_age);
}

async function doRotate(forced) {
  rotate.disabled = true;
  force.disabled = true;
  try {
    const answer = await session.api("/admin/keys/rotate", {
      method: "POST",
      body: { force: forced },
    });
    force.hidden = true;
    forceHint.hidden = true;
    sayStatus(`Rotated: ${answer.current.kid} signs from now on.`);
    await load();
  } catch (error) {
    if (error.code === "key_state" && !forced) {
      force.hidden = false;
      forceHint.hidden = false;
      sayError(error, "rotation");
    } else {
      sayError(error, "rotation");
    }
  } finally {
    rotate.disabled = false;
    force.disabled = false;
  }
}

rotate.addEventListener("click", () => doRotate(false));
force.addEventListener("click", () => doRotate(true));
document.querySelector('[data-action="reload"]').addEventListener("click", load);
await load();
