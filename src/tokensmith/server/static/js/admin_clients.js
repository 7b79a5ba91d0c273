// Admin console, OAuth clients: register (the secret is shown once), rotate a secret,
// disable.

import { actionButton, badge, call, fill, requireAdmin, sayStatus, textCell } from "./admin.js";
import { bound, say } from "./page.js";
import { describeError } from "./words.js";

await requireAdmin();
const form = document.querySelector('[data-form="create"]');
const method = document.getElementById("client-method");
const rows = bound("clients");
const secretBox = bound("secret-box");
const secretField = bound("secret");
const SECRET_METHODS = ["client_secret_basic", "client_secret_post"];

/** Show a secret once; "Done" removes it from the page. */
function showSecret(clientId, secret) {
  bound("secret-client").textContent = clientId;
  secretField.value = secret;
  secretBox.hidden = false;
  secretField.focus();
  secretField.select();
}

function hideSecret() {
  secretField.value = "";
  secretBox.hidden = true;
}

document.querySelector('[data-action="hide-secret"]').addEventListener("click", hideSecret);
document.querySelector('[data-action="copy-secret"]').addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(secretField.value);
    sayStatus("The secret is on the clipboard.");
  } catch {
    secretField.select();
    sayStatus("Copy it with the keyboard: the text is selected.");
  }
});

function words(value) {
  return value
    .split(/\s+/)
    .map((w) => w.trim())
    .filter(Boolean);
}

function syncMethod() {
  const isKeyJwt = method.value === "private_key_jwt";
  bound("jwks-field").hidden = !isKeyJwt;
  const isPublic = method.value === "none";
  for (const box of form.querySelectorAll('input[name="grant"]')) {
    box.disabled = isPublic;
    if (isPublic) box.checked = false;
  }
}
method.addEventListener("change", syncMethod);
syncMethod();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const errorBox = bound("create-error");
  say(errorBox, "");
  const body = {
    name: String(data.get("name")).trim(),
    token_endpoint_auth_method: method.value,
    grant_types: data.getAll("grant").map(String),
    scopes: words(String(data.get("scopes") ?? "")),
    audiences: words(String(data.get("audiences") ?? "")),
  };
  if (method.value === "private_key_jwt") {
    try {
      body.jwks = JSON.parse(String(data.get("jwks") ?? ""));
    } catch {
      say(errorBox, "The public keys must be a JSON JWK Set: {\"keys\": [...]}.");
      return;
    }
  }
  if (!body.name) {
    say(errorBox, "Give the client an id.");
    document.getElementById("client-name").focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    const created = await call("/admin/clients", { method: "POST", body, action: "registration" });
    form.reset();
    syncMethod();
    sayStatus(`Client ${created.client_id} is registered.`);
    if (created.client_secret) showSecret(created.client_id, created.client_secret);
    await load();
  } catch (error) {
    say(errorBox, describeError(error, "registration"));
  } finally {
    button.disabled = false;
  }
});

function row(client) {
  const tr = document.createElement("tr");
  tr.dataset.client = client.client_id;
  const grants = client.grant_types.length ? client.grant_types.join(", ") : "none";
  const scopes = client.scope ? `scopes: ${client.scope}` : "no scopes";
  const status = textCell("", "Status");
  status.append(client.disabled ? badge("disabled", "danger") : badge("active", "ok"));
  const actions = document.createElement("td");
  actions.className = "row-actions";
  if (!client.disabled && SECRET_METHODS.includes(client.token_endpoint_auth_method)) {
    actions.append(
      actionButton("Rotate secret", `Rotate the secret of ${client.client_id}`, async () => {
        const answer = await call(
          `/admin/clients/${encodeURIComponent(client.client_id)}/rotate-secret`,
          { method: "POST", action: "secret rotation" },
        );
        sayStatus(`The old secret of ${client.client_id} no longer works.`);
        showSecret(answer.client_id, answer.client_secret);
      }),
    );
  }
  if (!client.disabled) {
    actions.append(
      actionButton(
        "Disable",
        `Disable ${client.client_id}`,
        async () => {
          await call(`/admin/clients/${encodeURIComponent(client.client_id)}/disable`, {
            method: "POST",
            action: "disabling",
          });
          sayStatus(`${client.client_id} is disabled; the tokens it obtained are refused.`);
          await load();
        },
        "danger",
      ),
    );
  }
  tr.append(
    textCell(client.client_id, "Client id", "mono"),
    textCell(client.token_endpoint_auth_method, "Authentication"),
    textCell(`${grants}; ${scopes}`, "Grants and scopes"),
    status,
    actions,
  );
  return tr;
}

async function load() {
  let clients;
  try {
    clients = await call("/admin/clients?limit=200", { action: "listing" });
  } catch {
    return;
  }
  fill(rows, clients.map(row), bound("empty"));
}

document.querySelector('[data-action="reload"]').addEventListener("click", load);
await load();
