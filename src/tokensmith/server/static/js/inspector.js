// The token inspector: sends the pasted token (and key) in a POST body to
// /inspector/analyze and shows the answer. The token is never put in a URL or storage;
// JSON is only parsed (JSON.parse / response.json), never evaluated.

import { bound, optionalUser, say } from "./page.js";
import { postJSON } from "./session.js";
import { describeError, localTime, relativeTime } from "./words.js";

const form = document.querySelector('[data-form="inspect"]');
const result = bound("result");
const errorBox = bound("error");

const TIME_CLAIMS = { exp: "expires", nbf: "valid from", iat: "issued", auth_time: "signed in" };
const SEVERITY = { danger: "Danger", warning: "Warning", info: "Note" };

function describeTime(name, value, nowMs) {
  const when = relativeTime(value, nowMs);
  const past = value * 1000 < nowMs;
  if (name === "exp") return past ? `expired ${when}` : `expires ${when}`;
  if (name === "nbf") return past ? `valid since ${when}` : `valid ${when}`;
  return `${TIME_CLAIMS[name]} ${when}`;
}

function valueCell(name, value, times, nowMs) {
  const cell = document.createElement("td");
  const code = document.createElement("code");
  code.className = "value";
  code.textContent = typeof value === "string" ? value : JSON.stringify(value, null, 1);
  cell.append(code);
  if (times && name in TIME_CLAIMS && typeof times[name] === "number") {
    const local = document.createElement("span");
    local.className = "relative";
    local.textContent = `${localTime(times[name])} · ${describeTime(name, times[name], nowMs)}`;
    local.dataset.time = name;
    cell.append(local);
  }
  return cell;
}

function rows(container, object, times, nowMs) {
  const children = Object.entries(object ?? {}).map(([name, value]) => {
    const tr = document.createElement("tr");
    tr.dataset.name = name;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = name;
    tr.append(th, valueCell(name, value, times, nowMs));
    return tr;
  });
  container.replaceChildren(...children);
}

function verdict(element, status, text) {
  element.className = `verdict ${status}`;
  element.dataset.status = status;
  element.textContent = text;
  element.hidden = false;
}

function signatureWords(signature) {
  switch (signature.status) {
    case "valid":
      return `Signature verified with ${signature.source}${signature.kid ? ` (key ${signature.kid})` : ""}.`;
    case "invalid":
      return `Signature INVALID: it does not verify with ${signature.source}. Do not trust this token.`;
    case "unsigned":
      return "Not signed (alg: none): anyone could have written this token.";
    default:
      return `Signature not checked with ${signature.source}: ${signature.message}.`;
  }
}

function show(answer) {
  const nowMs = answer.now * 1000;
  // a decrypted nested JWT: show the inner token, after the JWE's own verdict
  const inner = answer.nested ?? answer;
  const warnings = [...answer.warnings, ...(answer.nested ? answer.nested.warnings : [])];
  const decryption = bound("decryption");
  if (answer.format === "jwe") {
    const words = {
      decrypted: "Decrypted with the pasted key.",
      not_attempted: "Encrypted (JWE): paste the private key to decrypt it; only the header is readable.",
      failed: `Could not decrypt with the pasted key: ${answer.decryption.message}.`,
    };
    const status = answer.decryption.status === "decrypted" ? "valid" : "unchecked";
    verdict(decryption, status, words[answer.decryption.status]);
  } else {
    decryption.hidden = true;
  }
  const main = bound("verdict");
  if (inner.signature) {
    verdict(main, inner.signature.status, signatureWords(inner.signature));
  } else if (answer.format === "jwe" && answer.claims) {
    verdict(main, "unchecked", "Encrypted claims without a signature: check who could have encrypted them.");
  } else {
    verdict(main, "unchecked", "No signature to check until the token is decrypted.");
  }
  const list = bound("warnings");
  const items = warnings.map((warning) => {
    const li = document.createElement("li");
    li.className = warning.severity;
    li.dataset.code = warning.code;
    const label = document.createElement("strong");
    label.textContent = `${SEVERITY[warning.severity] ?? "Note"}: `;
    li.append(label, warning.message);
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "none";
    li.textContent = "None: nothing RFC 8725 warns about.";
    items.push(li);
  }
  list.replaceChildren(...items);
  bound("header-title").textContent =
    answer.format === "jwe" ? "Protected header (JWE)" : "Header";
  rows(bound("header"), answer.header, null, nowMs);
  const claims = inner.claims ?? answer.claims;
  bound("claims-card").hidden = !claims;
  rows(bound("claims"), claims, inner.times ?? answer.times, nowMs);
  result.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  say(errorBox, "");
  const token = form.elements.token.value.trim();
  const key = form.elements.key.value.trim();
  if (!token) {
    say(errorBox, "Paste a token first.");
    form.elements.token.focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    show(await postJSON("/inspector/analyze", key ? { token, key } : { token }));
  } catch (error) {
    result.hidden = true;
    say(errorBox, describeError(error, "inspection"));
  } finally {
    button.disabled = false;
  }
});

form.addEventListener("reset", () => {
  say(errorBox, "");
  result.hidden = true;
});

await optionalUser();
