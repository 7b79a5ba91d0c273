// Table cells and times shared by the account page and the admin console.

import { localTime, relativeTime } from "./words.js";

/** A <time> for epoch seconds: the local date and time, then "in 3 days" / "5 minutes ago"
 * (relative to `now`, milliseconds); "—" when there is no time. */
export function timeElement(epochSeconds, now = Date.now()) {
  const wrap = document.createElement("span");
  if (!epochSeconds) {
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

/** A table cell with text; `label` names the column on phone-sized screens. */
export function textCell(text, label, className) {
  const cell = document.createElement("td");
  cell.textContent = text;
  if (label) cell.dataset.label = label;
  if (className) cell.className = className;
  return cell;
}

/** A table cell holding timeElement(). */
export function timeCell(epochSeconds, label, now) {
  const cell = textCell("", label);
  cell.append(timeElement(epochSeconds, now));
  return cell;
}
