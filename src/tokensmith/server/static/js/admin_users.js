// Admin console, users: search, disable or enable, reset sessions.

import { actionButton, badge, call, fill, requireAdmin, sayStatus, textCell, timeCell } from "./admin.js";
import { bound } from "./page.js";

const me = await requireAdmin();
const PAGE = 20;
const form = document.querySelector('[data-form="search"]');
const rows = bound("users");
const previous = document.querySelector('[data-action="previous"]');
const next = document.querySelector('[data-action="next"]');
let query = "";
let offset = 0;

function row(user) {
  const tr = document.createElement("tr");
  tr.dataset.user = user.username;
  const name = textCell(user.username, "Username");
  for (const role of user.roles) name.append(" ", badge(role, "muted"));
  const id = document.createElement("span");
  id.className = "agent";
  id.textContent = user.id;
  name.append(id);
  const status = textCell("", "Status");
  status.append(user.disabled ? badge("disabled", "danger") : badge("active", "ok"));
  const actions = document.createElement("td");
  actions.className = "row-actions";
  const isMe = user.id === me.sub;
  if (user.disabled) {
    actions.append(
      actionButton("Enable", `Enable ${user.username}`, async () => {
        await call(`/admin/users/${encodeURIComponent(user.id)}/enable`, {
          method: "POST",
          action: "enabling",
        });
        sayStatus(`${user.username} is enabled and can sign in again.`);
        await load();
      }),
    );
  } else if (!isMe) {
    actions.append(
      actionButton(
        "Disable",
        `Disable ${user.username}`,
        async () => {
          await call(`/admin/users/${encodeURIComponent(user.id)}/disable`, {
            method: "POST",
            action: "disabling",
          });
          sayStatus(`${user.username} is disabled: every session ended and no sign-in is possible.`);
          await load();
        },
        "danger",
      ),
    );
  }
  actions.append(
    actionButton("Reset sessions", `Sign ${user.username} out everywhere`, async () => {
      const answer = await call(`/admin/users/${encodeURIComponent(user.id)}/revoke-sessions`, {
        method: "POST",
        action: "session reset",
      });
      const n = answer.revoked;
      sayStatus(`${user.username}: ${n} session${n === 1 ? "" : "s"} ended; their access tokens are refused.`);
    }),
  );
  tr.append(name, status, timeCell(user.created_at, "Created"), actions);
  return tr;
}

async function load() {
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if (query) params.set("q", query);
  let answer;
  try {
    answer = await call(`/admin/users?${params}`, { action: "search" });
  } catch {
    return;
  }
  fill(rows, answer.users.map(row), bound("empty"));
  previous.disabled = offset === 0;
  next.disabled = answer.next_offset === null;
  const first = answer.users.length ? offset + 1 : 0;
  bound("page-info").textContent = `Showing ${first}–${offset + answer.users.length}`;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  query = new FormData(form).get("q").trim();
  offset = 0;
  load();
});
previous.addEventListener("click", () => {
  offset = Math.max(0, offset - PAGE);
  load();
});
next.addEventListener("click", () => {
  offset += PAGE;
  load();
});
await load();
