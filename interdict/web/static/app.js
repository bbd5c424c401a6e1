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
