// The web app's only script (CSP: script-src 'self'). Writes go through the API with the
// session cookie plus a header only a script of this origin can set (CSRF protection).
"use strict";

function api(method, url, body, contentType) {
  const headers = { "X-Interdict-CSRF": "1" };
  if (contentType) headers["Content-Type"] = contentType;
  return fetch(url, { method, headers, body, credentials: "same-origin" }).then(async (response) => {
    const text = await response.text();
    let data = null;
    try { data = JSON.parse(text); } catch (e) { data = { detail: text }; }
    if (!response.ok) throw new Error((data && data.detail) || response.statusText);
    return data;
  });
}

document.addEventListener("click", (event) => {
  const button = event.target.closest(".match button[data-decision]");
  if (!button) return;
  const match = button.closest(".match");
  const note = match.querySelector(".note").value;
  const decision = button.dataset.decision;
  const shown = match.querySelector(".decision");
  api("PUT", `/api/batches/${encodeURIComponent(match.dataset.batch)}/reviews`,
      JSON.stringify({ item_id: match.dataset.item, target: match.dataset.target, decision, note }),
      "application/json")
    .then((review) => {
      shown.textContent = `${review.decision} · ${review.key_name}`;  // textContent: never parsed as HTML
      shown.className = `decision ${review.decision}`;
    })
    .catch((error) => { shown.textContent = `not saved: ${error.message}`; });
});

const upload = document.getElementById("upload");
if (upload) {
  upload.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = upload.querySelector("input[type=file]").files[0];
    const status = upload.querySelector(".status");
    if (!file) return;
    const type = /\.csv$/i.test(file.name) ? "text/csv" : "application/x-ndjson";
    status.textContent = "matching…";
    api("POST", `/api/batches?name=${encodeURIComponent(file.name)}`, file, type)
      .then((batch) => { window.location.href = `/review/${encodeURIComponent(batch.id)}`; })
      .catch((error) => { status.textContent = `failed: ${error.message}`; });
  });
}

// Trackers: mark alerts read or unread, make a tracker, remove one.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.mark-read");
  if (!button) return;
  const row = button.closest("tr.alert");
  const read = button.dataset.read === "true";
  api("POST", "/api/alerts/read", JSON.stringify({ ids: [Number(row.dataset.alert)], read }), "application/json")
    .then(() => {
      row.classList.toggle("unread", !read);
      button.dataset.read = read ? "false" : "true";
      button.textContent = read ? "Mark unread" : "Mark read";
    })
    .catch((error) => { button.textContent = `failed: ${error.message}`; });
});

const trackerForm = document.getElementById("tracker-form");
if (trackerForm) {
  trackerForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(trackerForm);
    const kind = form.get("kind");
    const what = String(form.get("what")).trim();
    const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
    const filters = {};
    if (form.get("from")) filters.ships_from = list(String(form.get("from")));
    if (form.get("to")) filters.ships_to = list(String(form.get("to")));
    const query = { filters };
    const body = { name: form.get("name"), kind, query, on: form.getAll("on"),
                   price_change_percent: Number(form.get("price_change_percent") || 10),
                   deliver: form.getAll("deliver"), digest: form.get("digest") === "on" };
    if (form.get("email")) body.deliver.push(`email:${form.get("email")}`);
    if (kind === "search") query.text = what;
    else if (kind === "regex") body.pattern = what;
    else if (kind === "identifier") filters.identifier = [what];
    else if (kind === "vendor") body.vendors = list(what);
    else if (kind === "product") filters.product = list(what);
    if (kind !== "vendor") body.on = body.on.filter((c) => c !== "new_market" && c !== "new_identifier");
    const status = trackerForm.querySelector(".status");
    status.textContent = "saving…";
    api("POST", "/api/trackers", JSON.stringify(body), "application/json")
      .then((made) => { window.location.href = `/trackers/${encodeURIComponent(made.id)}`; })
      .catch((error) => { status.textContent = `not saved: ${error.message}`; });
  });
}

const removeTracker = document.getElementById("remove-tracker");
if (removeTracker) {
  removeTracker.addEventListener("click", () => {
    const status = removeTracker.parentElement.querySelector(".status");
    api("DELETE", `/api/trackers/${encodeURIComponent(removeTracker.dataset.tracker)}`)
      .then(() => { window.location.href = "/trackers"; })
      .catch((error) => { status.textContent = `not removed: ${error.message}`; });
  });
}
