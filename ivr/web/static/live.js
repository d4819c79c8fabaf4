// Supervisor live board: every active call over Server-Sent Events, and live listen over a
// WebSocket played through the Web Audio API. Plain JS; all text goes in with textContent.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let clockOffset = 0; // server time - browser time, seconds
  let calls = [];
  const listen = { ws: null, ctx: null, node: null, callId: null, ring: null };
  window.liveListenStats = { bytes: 0, messages: 0, format: null, ended: null };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function fmtDuration(s) {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(sec).padStart(2, "0");
    return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
  }

  function meter(label, value) {
    const wrap = el("div", "emo");
    const v = typeof value === "number" ? value : null;
    wrap.append(el("span", null, `${label} ${v === null ? "–" : v.toFixed(2)}`));
    const bar = el("div", "meter");
    const fill = el("div", v !== null && v >= 0.6 ? "hot" : v !== null && v >= 0.35 ? "warm" : "");
    fill.style.width = `${Math.round(Math.min(1, Math.max(0, v || 0)) * 100)}%`;
    bar.append(fill);
    wrap.append(bar);
    return wrap;
  }

  function row(call) {
    const tr = el("tr");
    tr.dataset.callId = call.id;
    const top = call.flags.length ? call.flags[0].severity : null;
    if (top) tr.className = `sev-${top} flagged`;

    const who = el("td");
    who.append(el("div", "caller", call.caller || "unknown"));
    if (call.agent_id) who.append(el("small", null, `agent ${call.agent_id}`));
    else if (call.waiting_queue) who.append(el("small", null, `waiting: ${call.waiting_queue}`));

    const lang = el("td");
    lang.append(el("div", null, call.language || "–"));
    if (call.profile && call.profile !== call.language) lang.append(el("small", null, call.profile));

    const node = el("td", "node", call.node || "–");
    const dur = el("td", "duration", fmtDuration(Date.now() / 1000 + clockOffset - call.started_at));
    dur.dataset.started = call.started_at;

    const emo = el("td");
    const e = call.emotion || {};
    emo.append(meter("anger", e.anger), meter("distress", e.distress));
    if (typeof e.peak_anger === "number") emo.append(el("small", null, `peak anger ${e.peak_anger.toFixed(2)}`));

    const tx = el("td", "transcript");
    for (const line of call.transcript) {
      const p = el("p", line.who === "caller" ? "caller-line" : "ivr-line");
      p.append(el("span", "who", line.who === "caller" ? "caller" : "ivr"));
      p.append(document.createTextNode(line.text));
      tx.append(p);
    }

    const flags = el("td", "flags");
    for (const f of call.flags) {
      const b = el("span", `flag flag-${f.severity}`);
      b.dataset.code = f.code;
      b.title = f.reason;
      b.append(document.createTextNode(`${f.code.replace("_", " ")} `), el("small", null, f.reason));
      flags.append(b);
    }

    const act = el("td");
    const btn = el("button", "listen-btn", listen.callId === call.id ? "Listening" : "Listen");
    btn.type = "button";
    btn.disabled = !call.listenable || listen.callId === call.id;
    if (!call.listenable) btn.title = "held by another worker";
    btn.addEventListener("click", () => startListen(call));
    act.append(btn);

    tr.append(who, lang, node, dur, emo, tx, flags, act);
    return tr;
  }

  function render() {
    const body = $("rows");
    body.replaceChildren(...calls.map(row));
    $("board").hidden = calls.length === 0;
    $("empty").hidden = calls.length !== 0;
    const flagged = calls.filter((c) => c.flags.length).length;
    $("count").textContent = `${calls.length} active` + (flagged ? ` · ${flagged} flagged` : "");
  }

  function tick() {
    const now = Date.now() / 1000 + clockOffset;
    for (const td of document.querySelectorAll("td.duration")) {
      td.textContent = fmtDuration(now - Number(td.dataset.started));
    }
  }

  function connect() {
    const es = new EventSource("/dash/api/live/events");
    es.addEventListener("open", () => { $("conn").textContent = "live"; $("conn").className = "conn conn-ok"; });
    es.addEventListener("error", () => {
      $("conn").textContent = "reconnecting…";
      $("conn").className = "conn conn-wait";
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    });
    es.addEventListener("snapshot", (ev) => {
      const snap = JSON.parse(ev.data);
      clockOffset = snap.now - Date.now() / 1000;
      calls = snap.calls;
      render();
      if (listen.callId && !calls.some((c) => c.id === listen.callId)) stopListen("call ended");
    });
  }

  // ---------------------------------------------------------------- live listen
  function startListen(call) {
    stopListen();
    const Ctx = window.AudioContext || window.webkitAudioContext;
    const ctx = new Ctx();
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/dash/api/live/${encodeURIComponent(call.id)}/listen`);
    ws.binaryType = "arraybuffer";
    Object.assign(listen, { ws, ctx, callId: call.id, ring: null });
    window.liveListenStats = { bytes: 0, messages: 0, format: null, ended: null };
    $("listen-caller").textContent = call.caller || call.id;
    $("listen").hidden = false;
    $("listen-stats").textContent = "connecting…";
    ws.addEventListener("message", (ev) => {
      if (typeof ev.data === "string") {
        const msg = JSON.parse(ev.data);
        if (msg.type === "format") {
          window.liveListenStats.format = msg;
          listen.ring = makeRing(msg.sample_rate, ctx.sampleRate);
          startOutput(ctx);
        } else if (msg.type === "end") {
          window.liveListenStats.ended = msg.reason;
        }
        return;
      }
      const stats = window.liveListenStats;
      stats.bytes += ev.data.byteLength;
      stats.messages += 1;
      if (listen.ring) listen.ring.write(new Int16Array(ev.data));
      $("listen-stats").textContent = `${Math.round(stats.bytes / 1024)} KiB received`;
    });
    ws.addEventListener("close", () => { if (listen.ws === ws) stopListen("ended"); });
    render();
  }

  // A stereo ring of float samples at the stream's rate, read at the audio context's rate.
  function makeRing(rate, outRate) {
    const size = rate * 4; // 4 s per channel, the oldest overwritten
    const left = new Float32Array(size), right = new Float32Array(size);
    let w = 0, r = 0, avail = 0;
    const step = rate / outRate;
    return {
      write(samples) {
        for (let i = 0; i + 1 < samples.length; i += 2) {
          left[w] = samples[i] / 32768;
          right[w] = samples[i + 1] / 32768;
          w = (w + 1) % size;
          if (avail < size) avail += 1; else r = (r + 1) % size;
        }
        const maxLag = rate / 2; // keep the delay under half a second
        while (avail > maxLag) { r = (r + 1) % size; avail -= 1; }
      },
      read(outL, outR) {
        let pos = 0;
        for (let i = 0; i < outL.length; i++) {
          if (avail < 2) { outL[i] = 0; outR[i] = 0; continue; }
          outL[i] = left[r]; outR[i] = right[r];
          pos += step;
          while (pos >= 1 && avail > 0) { r = (r + 1) % size; avail -= 1; pos -= 1; }
        }
      },
    };
  }

  function startOutput(ctx) {
    if (listen.node) return;
    const node = ctx.createScriptProcessor(2048, 0, 2);
    node.onaudioprocess = (ev) => {
      const out = ev.outputBuffer;
      if (listen.ring) listen.ring.read(out.getChannelData(0), out.getChannelData(1));
    };
    node.connect(ctx.destination);
    listen.node = node;
    if (ctx.state === "suspended") ctx.resume();
  }

  function stopListen(why) {
    const { ws, ctx, node } = listen;
    Object.assign(listen, { ws: null, ctx: null, node: null, callId: null, ring: null });
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
    if (node) node.disconnect();
    if (ctx) ctx.close();
    $("listen").hidden = true;
    if (why) window.liveListenStats.ended = window.liveListenStats.ended || why;
    render();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("stop").addEventListener("click", () => stopListen("stopped"));
    connect();
    setInterval(tick, 1000);
  });
})();
