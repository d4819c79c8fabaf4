// Call review list: filters in the form and the URL, one page of calls at a time.
"use strict";

const PAGE = 50;
let offset = 0;

function dayStart(value, plusDays = 0) {
  if (!value) return "";
  const d = new Date(value + "T00:00:00");
  d.setDate(d.getDate() + plusDays);
  return String(d.getTime() / 1000);
}

function query() {
  const form = new FormData(document.getElementById("filters"));
  const params = new URLSearchParams();
  for (const [k, v] of form.entries()) {
    if (!v) continue;
    if (k === "from") params.set("from", dayStart(v));
    else if (k === "to") params.set("to", dayStart(v, 1));
    else params.set(k, v);
  }
  return params;
}

async function load() {
  const params = query();
  params.set("limit", PAGE);
  params.set("offset", offset);
  const status = document.getElementById("status");
  status.textContent = "Loading…";
  let data;
  try {
    data = await Dash.api("/dash/api/calls?" + params);
  } catch (e) {
    status.textContent = e.message;
    return;
  }
  const select = document.querySelector("select[name=flag]");
  if (select.options.length === 1) {
    for (const code of data.flag_codes) select.add(new Option(code, code));
    select.value = new URLSearchParams(location.search).get("flag") || "";
  }
  const esc = Dash.esc;
  document.getElementById("rows").innerHTML = data.calls.map((c) => {
    const review = c.review && c.review.reviewed
      ? `<span class="badge ok">reviewed</span>` : "";
    return `<tr class="row" data-id="${esc(c.id)}">` +
      `<td><a href="/dash/calls/${encodeURIComponent(c.id)}">${esc(Dash.fmtTime(c.started_at))}</a></td>` +
      `<td>${esc(c.caller)}</td><td>${esc(c.profile || c.language)}</td>` +
      `<td>${esc(c.turn_count)}</td><td>${esc((c.intents || []).join(", "))}</td>` +
      `<td>${esc(c.end_reason || c.status)}</td><td>${esc(c.agent_id)}</td>` +
      `<td>${Dash.flagBadges(c.flags)}</td><td>${review}</td></tr>`;
  }).join("");
  status.textContent = `${data.total} call${data.total === 1 ? "" : "s"}`;
  document.getElementById("page").textContent =
    data.total ? `${offset + 1}–${Math.min(offset + PAGE, data.total)} of ${data.total}` : "";
  document.getElementById("prev").disabled = offset === 0;
  document.getElementById("next").disabled = offset + PAGE >= data.total;
}

function fromUrl() {
  const params = new URLSearchParams(location.search);
  const form = document.getElementById("filters");
  for (const el of form.elements) {
    if (el.name && params.has(el.name)) el.value = params.get(el.name);
  }
}

// Admins only (the API refuses others): every call, recording and callback of one number.
function setupForget() {
  document.getElementById("forget-panel").hidden = false;
  const form = document.getElementById("forget");
  const status = document.getElementById("forget-status");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const caller = form.elements.caller.value.trim();
    if (!caller || !confirm(`Delete every call, recording and callback of ${caller}? ` +
                            "This cannot be undone.")) return;
    status.textContent = "Deleting…";
    try {
      const n = await Dash.api("/dash/api/forget", {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({caller})});
      status.textContent = `Deleted ${n.calls} call(s), ${n.callbacks} callback(s), ` +
        `${n.files} file(s)` + (n.active_skipped ? `; ${n.active_skipped} call(s) in ` +
        "progress kept: try again after the call" : "") + ".";
      form.reset();
      load();
    } catch (err) {
      status.textContent = "Not deleted: " + err.message;
    }
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  const me = await Dash.start("calls");
  if (me.role === "admin") setupForget();
  fromUrl();
  const form = document.getElementById("filters");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    offset = 0;
    const keep = new URLSearchParams();
    for (const [k, v] of new FormData(form).entries()) if (v) keep.set(k, v);
    history.replaceState(null, "", "/dash/calls" + (keep.toString() ? "?" + keep : ""));
    load();
  });
  document.getElementById("prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE); load();
  });
  document.getElementById("next").addEventListener("click", () => { offset += PAGE; load(); });
  document.getElementById("rows").addEventListener("click", (ev) => {
    const row = ev.target.closest("tr.row");
    if (row && ev.target.tagName !== "A") {
      location.href = "/dash/calls/" + encodeURIComponent(row.dataset.id);
    }
  });
  load();
});
