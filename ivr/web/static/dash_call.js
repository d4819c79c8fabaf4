// One call: transcript that follows the recording, emotion timeline, events and review.
"use strict";

const callId = decodeURIComponent(location.pathname.split("/").pop());
let turnStarts = [];  // seconds from the recording's start, one per turn
let activeTurn = -1;

function offsetOf(turn, origin) {
  const at = turn.speech_start ?? turn.created_at;
  return at == null ? null : Math.max(0, at - origin);
}

function renderTranscript(call, origin) {
  const esc = Dash.esc;
  turnStarts = call.turns.map((t) => offsetOf(t, origin));
  document.getElementById("transcript").innerHTML = call.turns.map((t, i) => {
    const said = t.caller_text || (t.dtmf ? `DTMF ${t.dtmf}` : `(${t.outcome || "no input"})`);
    const tm = t.timings || {};
    const parts = [`#${t.seq}`, t.node, t.intent && `intent ${t.intent}`,
      t.asr_confidence != null && `conf ${Number(t.asr_confidence).toFixed(2)}`,
      tm.speech_ms != null && `speech ${tm.speech_ms} ms`,
      tm.eos_to_reply_audio_ms != null && `reply ${tm.eos_to_reply_audio_ms} ms`,
      t.emotion && t.emotion.label && `emotion ${t.emotion.label}`].filter(Boolean);
    const at = turnStarts[i] == null ? "" : `${turnStarts[i].toFixed(1)} s · `;
    return `<div class="turn" data-i="${i}">` +
      (t.prompt ? `<div class="ivr">IVR: ${esc(t.prompt)}</div>` : "") +
      `<div class="caller">Caller: ${esc(said)}</div>` +
      `<div class="meta">${esc(at + parts.join(" · "))}</div></div>`;
  }).join("") || '<p class="muted">No turns.</p>';
}

function follow(time) {
  let current = -1;
  // 50 ms of slack: a seek to a turn's start may land a hair before it
  turnStarts.forEach((start, i) => { if (start != null && start <= time + 0.05) current = i; });
  if (current === activeTurn) return;
  activeTurn = current;
  for (const el of document.querySelectorAll(".turn")) {
    const on = Number(el.dataset.i) === current;
    el.classList.toggle("active", on);
    if (on) el.scrollIntoView({block: "nearest"});
  }
}

function renderEmotion(call, origin) {
  const pts = call.turns.map((t, i) => ({t, x: turnStarts[i] ?? i}))
    .filter((p) => p.t.emotion && typeof p.t.emotion === "object");
  const series = [
    {name: "anger", color: "#d1352b",
     points: pts.map((p) => ({x: p.x, y: Number(p.t.emotion.anger || 0)}))},
    {name: "distress", color: "#7b4fc9",
     points: pts.map((p) => ({x: p.x, y: Number(p.t.emotion.distress || 0)}))},
  ];
  const ticks = pts.map((p) => p.x);
  document.getElementById("emotion").innerHTML = Dash.lineChart(series, {
    width: 460, height: 180, yMax: 1, ticks, xLabel: (x) => `${Math.round(x)}s`});
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

function renderEvents(call, origin) {
  const esc = Dash.esc;
  document.getElementById("events").innerHTML = call.events.map((e) => {
    const data = {...e.data};
    delete data.text; delete data.whisper;
    return `<tr><td>${esc((e.ts - origin).toFixed(1))} s</td><td>${esc(e.type)}</td>` +
      `<td>${esc(JSON.stringify(data))}</td></tr>`;
  }).join("");
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
    const el = ev.target.closest(".turn");
    const start = el && turnStarts[Number(el.dataset.i)];
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
  renderTranscript(call, origin);
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
