// Metrics over a chosen period, drawn as inline SVG.
"use strict";

function period(form) {
  const preset = form.preset.value;
  if (preset !== "custom") {
    const to = Date.now() / 1000;
    return {from: to - Number(preset) * 86400, to};
  }
  const day = (v, plus) => {
    const d = new Date(v + "T00:00:00");
    d.setDate(d.getDate() + plus);
    return d.getTime() / 1000;
  };
  return {from: form.from.value ? day(form.from.value, 0) : Date.now() / 1000 - 7 * 86400,
          to: form.to.value ? day(form.to.value, 1) : Date.now() / 1000};
}

const pct = (v) => (v == null ? "–" : `${(v * 100).toFixed(1)}%`);
const num = (v, unit = "") => (v == null ? "–" : `${Math.round(v)}${unit}`);

function render(m) {
  const esc = Dash.esc;
  const kpis = [
    ["Calls", m.calls], ["Containment rate", pct(m.containment_rate)],
    ["Escalation rate", pct(m.escalation_rate)],
    ["Abandonment rate", pct(m.abandonment_rate)],
    [`First-contact resolution (${num(m.fcr_window_h, " h")})`, pct(m.fcr)],
    ["Satisfaction (4-5 of answered surveys)", m.satisfaction && m.satisfaction.answered ?
      `${pct(m.satisfaction.satisfaction_rate)} of ${m.satisfaction.answered}` : "–"],
    ["Callbacks completed", m.callbacks && (m.callbacks.completed + m.callbacks.failed) ?
      `${pct(m.callbacks.completion_rate)} of ${m.callbacks.completed + m.callbacks.failed}` +
      ` (${m.callbacks.attempts} dialled)` : "–"],
    ["Avg speed of answer", num(m.asa_s, " s")],
    ["Avg handle time", num(m.avg_handle_time_s, " s")],
    ["Avg agent time", num(m.avg_agent_time_s, " s")],
    ["Answer → first prompt p50 / p95",
     `${num(m.answer_to_first_prompt.p50_ms)} / ${num(m.answer_to_first_prompt.p95_ms)} ms`],
    ["End of speech → reply p50 / p95",
     `${num(m.eos_to_reply.p50_ms)} / ${num(m.eos_to_reply.p95_ms)} ms`],
    ["Recognition confidence mean / p10",
     m.recognition_confidence.mean == null ? "–" :
       `${m.recognition_confidence.mean.toFixed(2)} / ${m.recognition_confidence.p10.toFixed(2)}`],
  ];
  document.getElementById("kpis").innerHTML = kpis.map(([l, v]) =>
    `<div class="kpi"><div class="v">${esc(v)}</div><div class="l">${esc(l)}</div></div>`)
    .join("");
  const points = m.emotion_trend.points;
  const xs = points.map((_, i) => i);
  const step = Math.max(1, Math.ceil(points.length / 6));
  const label = (i) => {
    const b = (points[i] || {}).bucket || "";
    return m.emotion_trend.bucket === "hour" ? b.slice(5, 13).replace("T", " ") + "h" : b.slice(5);
  };
  document.getElementById("trend").innerHTML = Dash.lineChart([
    {name: "mean anger", color: "#d1352b",
     points: points.map((p, i) => ({x: i, y: p.mean_anger}))},
    {name: "peak anger", color: "#f0a030",
     points: points.map((p, i) => ({x: i, y: p.peak_anger}))},
  ], {yMax: 1, ticks: xs.filter((i) => i % step === 0), xLabel: label});
  const entries = (obj) => Object.entries(obj).map(([label, value]) => ({label, value}));
  document.getElementById("reasons").innerHTML =
    Dash.barChart(entries(m.escalation_reasons), {color: "#b35900"});
  document.getElementById("intents").innerHTML =
    Dash.barChart(m.top_intents.map((i) => ({label: i.intent, value: i.count})));
  document.getElementById("dialects").innerHTML =
    Dash.barChart(entries(m.dialect_mix), {color: "#7b4fc9"});
  const lat = [
    {label: "first prompt p50", value: m.answer_to_first_prompt.p50_ms},
    {label: "first prompt p95", value: m.answer_to_first_prompt.p95_ms},
    {label: "reply p50", value: m.eos_to_reply.p50_ms},
    {label: "reply p95", value: m.eos_to_reply.p95_ms},
  ].filter((x) => x.value != null);
  document.getElementById("latency").innerHTML =
    Dash.barChart(lat, {color: "#1a7f37", fmt: (v) => `${Math.round(v)} ms`});
  // every ended call has exactly one outcome: the bars add up to the ended calls
  const rates = m.outcome_rates || {};
  document.getElementById("outcomes").innerHTML = Dash.barChart(
    Object.entries(m.outcomes || {}).filter(([, n]) => n > 0).map(([o, n]) => (
      {label: `${o.replaceAll("_", " ")} (${pct(rates[o])})`, value: n})));
  renderSatisfaction(m.satisfaction);
}

// the survey answers: each score's count, then the rate per intent, agent and queue
function renderSatisfaction(s) {
  const box = document.getElementById("satisfaction");
  if (!box) return;
  if (!s || !s.offered) {
    box.innerHTML = '<p class="muted">No survey offered in this period</p>';
    return;
  }
  const esc = Dash.esc;
  const bars = Dash.barChart(["5", "4", "3", "2", "1"].map((n) => (
    {label: `score ${n}`, value: s.scores[n] || 0})), {color: "#1a7f37"});
  const rows = [["intent", s.by_intent], ["agent", s.by_agent], ["queue", s.by_queue]]
    .flatMap(([dim, list]) => (list || []).map((r) =>
      `<tr><td>${esc(dim)}</td><td>${esc(r[dim])}</td><td>${esc(r.answered)}</td>` +
      `<td>${esc(pct(r.satisfaction_rate))}</td><td>${esc(r.mean_score ?? "–")}</td></tr>`));
  box.innerHTML =
    `<p>${esc(s.answered)} answered of ${esc(s.offered)} offered ` +
    `(${esc(pct(s.response_rate))}), mean score ${esc(s.mean_score ?? "–")}, ` +
    `${esc(s.comments)} comment(s)</p>` + bars +
    (rows.length ? "<table><thead><tr><th>by</th><th></th><th>answered</th>" +
      "<th>satisfied</th><th>mean</th></tr></thead><tbody>" + rows.join("") +
      "</tbody></table>" : "");
}

async function load() {
  const form = document.getElementById("period");
  const {from, to} = period(form);
  const status = document.getElementById("status");
  status.textContent = "Loading…";
  try {
    const m = await Dash.api(`/dash/api/metrics?from=${from}&to=${to}`);
    render(m);
    status.textContent = `${new Date(from * 1000).toLocaleString()} – ` +
      `${new Date(to * 1000).toLocaleString()}`;
  } catch (e) {
    status.textContent = e.message;
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  await Dash.start("metrics");
  const form = document.getElementById("period");
  form.addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
  form.preset.addEventListener("change", () => { if (form.preset.value !== "custom") load(); });
  load();
});
