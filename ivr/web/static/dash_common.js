// Shared by the dashboard pages: escaping, the API with CSRF, the nav bar and SVG charts.
"use strict";

const Dash = (() => {
  let csrf = "";
  let me = null;

  function esc(value) {
    return String(value ?? "").replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  }

  function toLogin() {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
  }

  async function api(path, options = {}) {
    const opts = {credentials: "same-origin", ...options};
    opts.headers = {...(options.headers || {})};
    if (opts.method && opts.method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
    const resp = await fetch(path, opts);
    if (resp.status === 401) { toLogin(); throw new Error("signed out"); }
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(body.error || ("HTTP " + resp.status));
    return body;
  }

  async function start(active) {
    const resp = await fetch("/auth/me", {credentials: "same-origin"});
    if (!resp.ok) { toLogin(); throw new Error("signed out"); }
    const body = await resp.json();
    me = body.user; csrf = body.csrf || "";
    const staff = me.role === "admin" || me.role === "supervisor";
    const links = [["live", "/dash/live", "Live"], ["calls", "/dash/calls", "Calls"]];
    if (staff) links.push(["metrics", "/dash/metrics", "Metrics"]);
    const nav = document.getElementById("nav");
    nav.innerHTML = '<span class="brand">IVR dashboard</span>' + links.map(([k, href, label]) =>
      `<a href="${href}" class="${k === active ? "active" : ""}">${esc(label)}</a>`).join("") +
      `<span class="who">${esc(me.username)} · ${esc(me.role)}</span>` +
      '<button type="button" id="signout">Sign out</button>';
    document.getElementById("signout").addEventListener("click", async () => {
      await fetch("/logout", {method: "POST", credentials: "same-origin", body: "{}",
                              headers: {"X-CSRF-Token": csrf, "Content-Type": "application/json"}})
        .catch(() => null);
      location.href = "/login";
    });
    return me;
  }

  function fmtTime(ts) {
    if (ts == null) return "";
    const d = new Date(ts * 1000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function flagBadges(flags) {
    return (flags || []).map((f) =>
      `<span class="badge ${esc(f.severity)}" title="${esc(f.reason)}">${esc(f.code)}</span>`
    ).join("");
  }

  const SVGNS = "http://www.w3.org/2000/svg";
  // Horizontal bars: items [{label, value}], values formatted by fmt.
  function barChart(items, {width = 520, fmt = (v) => String(v), color = "#1f6feb"} = {}) {
    if (!items.length) return '<p class="muted">No data in this period.</p>';
    const row = 22, left = 150, h = items.length * row + 8;
    const max = Math.max(...items.map((i) => i.value), 1e-9);
    const bars = items.map((it, n) => {
      const w = Math.max(1, (width - left - 60) * it.value / max), y = n * row + 4;
      return `<text x="${left - 6}" y="${y + 14}" text-anchor="end">${esc(it.label)}</text>` +
        `<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${row - 6}" ` +
        `fill="${color}" rx="2"><title>${esc(it.label)}: ${esc(fmt(it.value))}</title></rect>` +
        `<text x="${left + w + 5}" y="${y + 14}">${esc(fmt(it.value))}</text>`;
    }).join("");
    return `<svg xmlns="${SVGNS}" viewBox="0 0 ${width} ${h}" width="100%" height="${h}" ` +
      `role="img">${bars}</svg>`;
  }

  // Lines over x: series [{name, color, points: [{x, y}]}], y in [0, yMax].
  function lineChart(series, {width = 520, height = 200, yMax = 1, xLabel = (x) => x,
                              ticks = []} = {}) {
    const pts = series.flatMap((s) => s.points);
    if (!pts.length) return '<p class="muted">No data in this period.</p>';
    const l = 36, r = 10, t = 10, b = 28;
    const xs = pts.map((p) => p.x), x0 = Math.min(...xs), x1 = Math.max(...xs);
    const sx = (x) => l + (x1 === x0 ? (width - l - r) / 2 : (x - x0) / (x1 - x0) * (width - l - r));
    const sy = (y) => t + (1 - y / yMax) * (height - t - b);
    let out = `<line class="axis" x1="${l}" y1="${sy(0)}" x2="${width - r}" y2="${sy(0)}"/>` +
      `<line class="axis" x1="${l}" y1="${t}" x2="${l}" y2="${sy(0)}"/>`;
    for (const v of [0, yMax / 2, yMax]) {
      out += `<text x="${l - 4}" y="${sy(v) + 4}" text-anchor="end">${esc(v.toFixed(1))}</text>`;
    }
    for (const x of ticks) {
      out += `<text x="${sx(x)}" y="${height - 8}" text-anchor="middle">${esc(xLabel(x))}</text>`;
    }
    for (const s of series) {
      const d = s.points.map((p, i) => `${i ? "L" : "M"}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`);
      out += `<path d="${d.join("")}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
      out += s.points.map((p) => `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" ` +
        `r="3" fill="${s.color}"><title>${esc(s.name)} ${esc(xLabel(p.x))}: ` +
        `${esc(p.y.toFixed(2))}</title></circle>`).join("");
    }
    const legend = series.map((s, i) => `<rect x="${l + 8 + i * 110}" y="${t}" width="10" ` +
      `height="10" fill="${s.color}"/><text x="${l + 22 + i * 110}" y="${t + 9}">` +
      `${esc(s.name)}</text>`).join("");
    return `<svg xmlns="${SVGNS}" viewBox="0 0 ${width} ${height}" width="100%" ` +
      `height="${height}" role="img">${out}${legend}</svg>`;
  }

  return {esc, api, start, fmtTime, flagBadges, barChart, lineChart, get me() { return me; }};
})();
