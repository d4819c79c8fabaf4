// One call: the complete transcript (prompts, caller, agent) that follows the recording,
// emotion timeline, readable events and review.
"use strict";

const callId = decodeURIComponent(location.pathname.split("/").pop());
const LABELS = {ivr: "IVR", caller: "Caller", agent: "Agent"};
let lineStarts = [];  // seconds from the recording's start, one per transcript line
let activeLine = -1;

function turnMeta(t) {
  if (!t) return [];
  const tm = t.timings || {};
  return [t.intent && `intent ${t.intent}`,
    t.asr_confidence != null && `conf ${Number(t.asr_confidence).toFixed(2)}`,
    tm.speech_ms != null && `speech ${tm.speech_ms} ms`,
    tm.eos_to_reply_audio_ms != null && `reply ${tm.eos_to_reply_audio_ms} ms`,
    t.emotion && t.emotion.label && `emotion ${t.emotion.label}`].filter(Boolean);
}

function agentLegNote(call) {
  const state = call.agent_transcript;
  if (!call.agent_id) return "";
  if (!state || state.status === "running") {
    return "The conversation with the agent is transcribed from the recording after the call.";
  }
  if (state.status === "failed") return `The agent leg could not be transcribed: ${state.detail || "error"}.`;
  if (state.status === "no_speech") return "Nothing was said on the agent leg.";
  return "";
}

function renderTranscript(call) {
  const esc = Dash.esc;
  const lines = call.transcript || [];
  const bySeq = new Map(call.turns.map((t) => [t.seq, t]));
  const turnIndex = new Map(call.turns.map((t, i) => [t.seq, i]));
  // a stored prompt's place is known, not when it played: shown, not followed
  lineStarts = lines.map((l) => (l.offset_s == null || l.kind === "stored_prompt"
    ? null : Number(l.offset_s)));
  const html = lines.map((l, i) => {
    const meta = [l.kind === "stored_prompt" ? "reply stored with the turn"
      : `${Number(l.offset_s || 0).toFixed(1)} s`, l.node,
      l.kind === "turn" && l.seq != null && `#${l.seq}`,
      l.interrupted && "interrupted",
      l.kind === "agent_leg" && "from the recording",
      ...(l.kind === "turn" ? turnMeta(bySeq.get(l.seq)) : [])].filter(Boolean);
    const cls = `line ${l.speaker}${l.kind === "turn" ? " turn" : ""}${l.interrupted ? " cut" : ""}`;
    // data-line: the line (follows playback); data-i: a caller turn's place among the turns
    const turnAt = l.kind === "turn" && turnIndex.has(l.seq) ? ` data-i="${turnIndex.get(l.seq)}"` : "";
    return `<div class="${esc(cls)}" data-line="${i}"${turnAt} ` +
      `data-speaker="${esc(l.speaker)}"><span class="who">${esc(LABELS[l.speaker] || l.speaker)}` +
      `</span><span class="said">${esc(l.text)}</span>` +
      `<span class="meta">${esc(meta.join(" · "))}</span></div>`;
  }).join("");
  const note = agentLegNote(call);
  document.getElementById("transcript").innerHTML = (html || '<p class="muted">Nothing said.</p>') +
    (note ? `<p class="muted" id="agent-leg-note">${esc(note)}</p>` : "");
}

function follow(time) {
  let current = -1;
  // 50 ms of slack: a seek to a line's start may land a hair before it
  lineStarts.forEach((start, i) => { if (start != null && start <= time + 0.05) current = i; });
  if (current === activeLine) return;
  activeLine = current;
  for (const el of document.querySelectorAll("#transcript .line")) {
    const on = Number(el.dataset.line) === current;
    el.classList.toggle("active", on);
    if (on) el.scrollIntoView({block: "nearest"});
  }
}

function emotionPoints(call, origin) {
  // the turns' estimates; a call whose turns lack them (older rows, or estimates made outside
  // a turn) falls back to its `emotion` events
  const fromTurns = call.turns.filter((t) => t.emotion && typeof t.emotion === "object")
    .map((t) => ({x: Math.max(0, (t.speech_start ?? t.created_at) - origin),
                  anger: Number(t.emotion.anger || 0), distress: Number(t.emotion.distress || 0)}));
  if (fromTurns.length) return fromTurns;
  return call.events.filter((e) => e.type === "emotion" && e.data)
    .map((e) => ({x: Math.max(0, e.ts - origin), anger: Number(e.data.anger || 0),
                  distress: Number(e.data.distress || 0)}));
}

function renderEmotion(call, origin) {
  const pts = emotionPoints(call, origin);
  const el = document.getElementById("emotion");
  if (!pts.length) {
    el.innerHTML = '<p class="muted">No emotion estimate for this call (no speech long ' +
      "enough to judge, or emotion detection is off).</p>";
    return;
  }
  const series = [
    {name: "anger", color: "#d1352b", points: pts.map((p) => ({x: p.x, y: p.anger}))},
    {name: "distress", color: "#7b4fc9", points: pts.map((p) => ({x: p.x, y: p.distress}))},
  ];
  const peak = pts.reduce((a, p) => (p.anger > a.anger ? p : a), pts[0]);
  el.innerHTML = Dash.lineChart(series, {
    width: 460, height: 180, yMax: 1, ticks: pts.map((p) => p.x),
    xLabel: (x) => `${Math.round(x)}s`}) +
    `<p class="muted" id="emotion-peak">${pts.length} estimate(s); peak anger ` +
    `${peak.anger.toFixed(2)} at ${Math.round(peak.x)} s</p>`;
}

function renderFacts(call) {
  const esc = Dash.esc;
  const rows = [["Caller", call.caller], ["Started", Dash.fmtTime(call.started_at)],
    ["Ended", Dash.fmtTime(call.ended_at)], ["End", call.end_reason],
    ["Dialect", call.profile || call.language], ["Dialplan", call.dialplan],
    ["Escalated", call.escalated ? `yes → ${call.transfer_target || ""}` : "no"],
    ["Agent", call.agent_id], ["Agent outcome", call.agent_outcome],
    ["Peak anger", call.peak_anger != null ? Number(call.peak_anger).toFixed(2) : ""]];
  document.getElementById("facts").innerHTML = rows.filter(([, v]) => v != null && v !== "")
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("");
  document.getElementById("flags").innerHTML = Dash.flagBadges(call.flags) ||
    '<span class="muted">No flags.</span>';
  const first = call.events.find((e) => e.type === "first_audio");
  if (first) {
    document.getElementById("facts").innerHTML += `<dt>Answer → first prompt</dt>` +
      `<dd>${esc(first.data.answer_to_audio_ms)} ms</dd>`;
  }
}

const EVENT_SKIP = new Set(["whisper", "summary"]);  // the summary has its own panel

function eventValue(v) {
  if (v == null) return "";
  const text = typeof v === "object" ? JSON.stringify(v) : String(v);
  return text.length > 160 ? text.slice(0, 159) + "…" : text;
}

function renderEvents(call, origin) {
  const esc = Dash.esc;
  document.getElementById("events").innerHTML = call.events.map((e) => {
    const fields = Object.entries(e.data || {}).filter(([k, v]) => !EVENT_SKIP.has(k) &&
      v != null && v !== "" &&
      !(typeof v === "object" && !Object.keys(v).length));
    const details = fields.map(([k, v]) =>
      `<span class="kv-item"><span class="k">${esc(k)}</span> ${esc(eventValue(v))}</span>`)
      .join("");
    return `<tr data-type="${esc(e.type)}"><td class="t">${esc((e.ts - origin).toFixed(1))} s` +
      `</td><td class="type">${esc(e.type)}</td><td class="details">${details}</td></tr>`;
  }).join("") || '<tr><td class="muted">No events.</td></tr>';
  if (call.summary) {
    const s = document.getElementById("summary");
    s.classList.remove("muted");
    s.textContent = call.summary.text || JSON.stringify(call.summary, null, 2);
  }
}

function renderReview(call) {
  const r = call.review || {};
  document.getElementById("reviewed").checked = Boolean(r.reviewed);
  document.getElementById("note").value = r.note || "";
  document.getElementById("tags").value = (r.tags || []).join(", ");
  if (r.reviewed_by) {
    document.getElementById("review-status").textContent =
      `by ${r.reviewed_by} at ${Dash.fmtTime(r.reviewed_at)}`;
  }
}

function setupPlayer(call) {
  const audio = document.getElementById("audio");
  if (!call.has_recording) {
    document.getElementById("player").hidden = true;
    document.getElementById("no-recording").hidden = false;
    return;
  }
  const buttons = document.querySelectorAll("[data-channel]");
  const choose = (channel) => {
    const at = audio.currentTime, playing = !audio.paused;
    audio.src = `/dash/api/calls/${encodeURIComponent(callId)}/recording?channel=${channel}`;
    audio.addEventListener("loadedmetadata", () => {
      if (at) audio.currentTime = at;
      if (playing) audio.play();
    }, {once: true});
    buttons.forEach((b) => b.classList.toggle("on", b.dataset.channel === channel));
  };
  buttons.forEach((b) => b.addEventListener("click", () => choose(b.dataset.channel)));
  choose("mixed");
  audio.addEventListener("timeupdate", () => follow(audio.currentTime));
  audio.addEventListener("seeked", () => follow(audio.currentTime));
  document.getElementById("transcript").addEventListener("click", (ev) => {
    const el = ev.target.closest(".line");
    const start = el && lineStarts[Number(el.dataset.line)];
    if (start != null) { audio.currentTime = start; follow(start); }
  });
}

document.addEventListener("DOMContentLoaded", async () => {
  const me = await Dash.start("calls");
  let call;
  try {
    call = await Dash.api(`/dash/api/calls/${encodeURIComponent(callId)}`);
  } catch (e) {
    document.getElementById("error").textContent = e.message;
    return;
  }
  const origin = call.answered_at ?? call.started_at;
  document.getElementById("title").textContent = `Call ${call.caller || ""} · ${call.id}`;
  renderFacts(call);
  renderTranscript(call);
  renderEmotion(call, origin);
  renderEvents(call, origin);
  renderReview(call);
  setupPlayer(call);
  if (me.role !== "admin" && me.role !== "supervisor") {
    document.getElementById("review-panel").hidden = true;
  }
  document.getElementById("review").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const status = document.getElementById("review-status");
    const tags = document.getElementById("tags").value.split(",").map((t) => t.trim())
      .filter(Boolean);
    try {
      const saved = await Dash.api(`/dash/api/calls/${encodeURIComponent(callId)}/review`, {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({reviewed: document.getElementById("reviewed").checked,
                              note: document.getElementById("note").value, tags})});
      status.textContent = `Saved by ${saved.reviewed_by} at ${Dash.fmtTime(saved.reviewed_at)}`;
    } catch (e) {
      status.textContent = e.message;
    }
  });
});
