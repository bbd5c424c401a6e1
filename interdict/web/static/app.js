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

// Search by photo: the file goes to the API as it is; results are built as elements with
// textContent and attributes (crawled titles and names are never parsed as HTML).
const photoSearch = document.getElementById("photo-search");
if (photoSearch) {
  photoSearch.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = photoSearch.querySelector("input[type=file]").files[0];
    const status = photoSearch.querySelector(".status");
    const results = document.getElementById("photo-results");
    if (!file) return;
    status.textContent = "searching…";
    results.hidden = true;
    const reader = new FileReader();
    reader.onload = () => { results.querySelector(".asked img").src = reader.result; };  // a data: URL (CSP img-src)
    reader.readAsDataURL(file);
    api("POST", "/api/photos/search", file, file.type || "application/octet-stream")
      .then((found) => {
        status.textContent = "";
        const photo = found.photo;
        results.querySelector(".asked .facts").textContent =
          `${photo.format} ${photo.width}×${photo.height}` + (photo.metadata.gps ? ` · GPS ${photo.metadata.gps.latitude}, ${photo.metadata.gps.longitude}` : "");
        results.querySelector(".count").textContent = `(${found.matches.length}, distance ≤ ${found.max_sum})`;
        const body = results.querySelector("tbody");
        body.replaceChildren();
        for (const match of found.matches) {
          const row = body.insertRow();
          const image = document.createElement("img");
          image.src = `/photos/${encodeURIComponent(match.sha256)}`;
          image.alt = "the listing's photo";
          row.insertCell().append(image);
          const distance = row.insertCell();
          distance.className = "num";
          distance.textContent = `${match.distance} (pHash ${match.phash_distance} + dHash ${match.dhash_distance})`;
          const where = row.insertCell();
          const listing = document.createElement("a");
          listing.href = `/listings/${encodeURIComponent(match.listing_id)}`;
          listing.textContent = match.title || match.listing_id;
          const vendor = document.createElement("a");
          vendor.href = `/vendors/${encodeURIComponent(match.vendor_id)}`;
          vendor.textContent = match.vendor;
          where.append(listing, document.createElement("br"), `${match.market} · vendor `, vendor);
        }
        if (!found.matches.length) body.insertRow().insertCell().textContent = "No stored listing photo is near-identical to it.";
        results.hidden = false;
      })
      .catch((error) => { status.textContent = `not searched: ${error.message}`; });
  });
}
