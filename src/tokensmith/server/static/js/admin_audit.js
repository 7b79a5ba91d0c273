// Admin console, audit log: filters (event, user, time range) and older pages.

import { call, fill, requireAdmin, sayError, textCell, timeCell } from "./admin.js";
import { bound } from "./page.js";

await requireAdmin();
const PAGE = 50;
const form = document.querySelector('[data-form="filters"]');
const rows = bound("events");
const more = document.querySelector('[data-action="more"]');
let filters = new URLSearchParams();
let before = null;
let shown = [];

/** A datetime-local value (local time) as Unix seconds, or null when empty. */
function seconds(value) {
  if (!value) return null;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms / 1000 : Number.NaN;
}

function details(event) {
  const cell = textCell("", "Details");
  const list = document.createElement("dl");
  list.className = "details";
  for (const [name, value] of Object.entries(event.details ?? {})) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = typeof value === "string" ? value : JSON.stringify(value);
    list.append(dt, dd);
  }
  if (event.session_id) {
    const dt = document.createElement("dt");
    dt.textContent = "session";
    const dd = document.createElement("dd");
    dd.textContent = event.session_id;
    list.append(dt, dd);
  }
  cell.append(list);
  return cell;
}

function row(event) {
  const tr = document.createElement("tr");
  tr.dataset.kind = event.kind;
  const user = textCell(event.username ?? (event.user_id ? "" : "—"), "User");
  if (event.user_id) {
    const id = document.createElement("span");
    id.className = "agent";
    id.textContent = event.user_id;
    user.append(id);
  }
  tr.append(
    timeCell(event.at, "When"),
    textCell(event.kind, "Event", "mono"),
    user,
    textCell(event.ip ?? "—", "Address"),
    details(event),
  );
  return tr;
}

async function load(append) {
  const params = new URLSearchParams(filters);
  params.set("limit", String(PAGE));
  if (append && before !== null) params.set("before", String(before));
  let answer;
  try {
    answer = await call(`/admin/audit?${params}`, { action: "search" });
  } catch {
    return;
  }
  shown = append ? shown.concat(answer.events) : answer.events;
  fill(rows, shown.map(row), bound("empty"));
  before = answer.next_before;
  more.hidden = before === null;
  bound("count").textContent = `${shown.length} event${shown.length === 1 ? "" : "s"} shown`;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const next = new URLSearchParams();
  for (const name of ["kind", "user"]) {
    const value = String(data.get(name) ?? "").trim();
    if (value) next.set(name, value);
  }
  for (const name of ["since", "until"]) {
    const value = seconds(String(data.get(name) ?? ""));
    if (Number.isNaN(value)) {
      sayError({ message: `the ${name === "since" ? "start" : "end"} time is not a date` }, "search");
      return;
    }
    if (value !== null) next.set(name, String(value));
  }
  filters = next;
  before = null;
  load(false);
});
form.addEventListener("reset", () => {
  filters = new URLSearchParams();
  before = null;
  setTimeout(() => load(false), 0);
});
more.addEventListener("click", () => load(true));
await load(false);
