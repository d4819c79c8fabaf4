// Agent desk: sign in, follow the agent's status and calls over Server-Sent Events, show the
// caller's summary card and transcript, record the outcome. Plain browser JavaScript, no
// build step. Every piece of data is written with textContent (never innerHTML).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  const state = {
    me: null,        // {id, name, status, current_call, ...}
    card: null,      // the call card on screen
    phase: null,     // hand-over phase of that call
    source: null,    // EventSource
  };

  // ------------------------------------------------------------ small helpers
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function fill(list, items) {
    list.replaceChildren(...items);
  }

  function when(seconds) {
    if (!seconds) return "";
    return new Date(seconds * 1000).toLocaleString();
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "\u2014";
    const s = Math.round(seconds);
    return s < 60 ? s + " s" : Math.floor(s / 60) + " min " + (s % 60) + " s";
  }

  async function api(method, path, body) {
    const opts = { method, headers: {}, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const resp = await fetch(path, opts);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    return { status: resp.status, ok: resp.ok, data };
  }

  // ------------------------------------------------------------ sign in / out
  function showSignIn(message) {
    stopEvents();
    state.me = null;
    $("desk").hidden = true;
    $("whoami").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = message || "";
    $("agent").focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const agent = $("agent").value.trim();
    const password = $("password").value;
    const r = await api("POST", "/desk/login", { agent, password });
    if (r.ok) {
      $("password").value = "";
      startDesk();
      return;
    }
    const message = r.status === 429 ? "Too many failed attempts: wait a minute."
      : r.status === 401 ? "Wrong agent ID or password."
      : (r.data && r.data.error) || "Sign-in failed.";
    $("signin-error").textContent = message;
  }

  async function signOut() {
    await api("POST", "/desk/logout", {});
    state.card = null;
    state.phase = null;  // a stale "ended" must not outlive the session
    $("card").hidden = true;
    $("transcript-box").hidden = true;
    $("outcome-form").hidden = true;
    showSignIn("Signed out.");
  }

  async function startDesk() {
    const r = await api("GET", "/desk/api/me");
    if (r.status === 401) { showSignIn(""); return; }
    if (!r.ok) { showSignIn("The desk is not available."); return; }
    state.me = r.data;
    $("signin").hidden = true;
    $("desk").hidden = false;
    $("whoami").hidden = false;
    $("agent-name").textContent = r.data.name + " (" + r.data.id + ")";
    renderStatus(r.data.status);
    startEvents();
    loadHistory();
  }

  // ------------------------------------------------------------ status
  function renderStatus(status) {
    if (state.me) state.me.status = status;
    const pill = $("status-pill");
    pill.textContent = status;
    pill.className = "pill " + status;
    const toggle = $("status-toggle");
    toggle.disabled = status === "busy";
    toggle.textContent = status === "offline" ? "Go available" : "Go offline";
  }

  async function toggleStatus() {
    const wanted = state.me && state.me.status === "offline" ? "available" : "offline";
    const r = await api("POST", "/desk/api/status", { status: wanted });
    if (r.ok) { renderStatus(r.data.status); $("desk-msg").textContent = ""; }
    else if (r.status === 401) showSignIn("Your session has ended: sign in again.");
    else $("desk-msg").textContent = (r.data && r.data.error) || "Could not change status.";
  }

  // ------------------------------------------------------------ live events
  function startEvents() {
    stopEvents();
    const source = new EventSource("/desk/api/events");
    state.source = source;
    source.onopen = () => { $("conn").className = "conn live"; };
    source.onerror = async () => {
      $("conn").className = "conn down";
      if (source.readyState === EventSource.CLOSED) {
        const r = await api("GET", "/desk/api/me");
        if (r.status === 401) showSignIn("Your session has ended: sign in again.");
        else setTimeout(() => { if (state.me) startEvents(); }, 3000);
      }
    };
    source.addEventListener("status", (e) => {
      const data = JSON.parse(e.data);
      renderStatus(data.status);
      if (state.me) state.me.current_call = data.current_call;
      if (data.current_call && (!state.card || state.card.call.id !== data.current_call)) {
        setBanner("assigned", null);
      } else if (!data.current_call && !state.card) {
        setBanner(null, null);
      }
    });
    source.addEventListener("call", (e) => {
      const card = JSON.parse(e.data);
      showCard(card, true);
    });
    source.addEventListener("update", (e) => {
      const data = JSON.parse(e.data);
      if (!state.card || state.card.call.id !== data.call_id) return;
      if (data.card) showCard(data.card, false);
      Object.assign(state.card.call, {
        status: data.status, end_reason: data.end_reason, agent_id: data.agent_id,
        queue_wait_s: data.queue_wait_s, agent_outcome: data.agent_outcome,
      });
      state.card.queue_wait_s = data.queue_wait_s;
      $("c-wait").textContent = duration(data.queue_wait_s);
      setPhase(data.phase);
      if (data.phase === "ended") loadHistory();
    });
  }

  function stopEvents() {
    if (state.source) state.source.close();
    state.source = null;
    $("conn").className = "conn";
  }

  // ------------------------------------------------------------ banner
  function setBanner(phase, card) {
    const banner = $("banner");
    const who = card ? (card.call.caller || "an unknown number") : "";
    const text = {
      assigned: "Incoming call: your phone is about to ring",
      ringing: "\u260E Ringing: call from " + who + " \u2014 pick up your phone",
      answered: "Answered: the caller is being connected",
      connected: "On call with " + who,
      failed: "Missed call from " + who,
      abandoned: "The caller hung up before you answered",
      ended: "Call with " + who + " ended \u2014 record the outcome",
    }[phase] || "Waiting for calls";
    banner.textContent = text;
    banner.className = "banner " + (phase === "assigned" ? "ringing" : phase || "idle");
    document.title = phase === "ringing" || phase === "assigned"
      ? "\u260E Incoming call \u2014 Agent desk" : "Agent desk";
  }

  function setPhase(phase) {
    state.phase = phase;
    setBanner(phase, state.card);
    const canMark = ["answered", "connected", "ended", "history"].includes(phase);
    $("outcome-form").hidden = !canMark;
  }

  // ------------------------------------------------------------ the call card
  function showCard(card, fresh) {
    const sameCall = state.card && state.card.call.id === card.call.id;
    state.card = card;
    renderCard(card);
    if (fresh && !sameCall) {
      $("outcome").value = card.call.agent_outcome || "resolved";
      $("note").value = card.call.agent_note || "";
      $("outcome-msg").textContent = card.call.agent_outcome ? "Saved earlier." : "";
    }
    setPhase(card.phase);
  }

  const LANGUAGES = { zh: "Mandarin", yue: "Cantonese", en: "English" };

  function languageName(code) {
    if (!code) return "";
    const base = code.split("-")[0].toLowerCase();
    return (LANGUAGES[base] || code) + " (" + code + ")";
  }

  function renderCard(card) {
    const s = card.summary || {};
    $("card").hidden = false;
    $("c-caller").textContent = card.call.caller || "unknown number";
    $("c-earlier").textContent = card.earlier_count
      ? card.earlier_count + " earlier call" + (card.earlier_count > 1 ? "s" : "")
      : "first call";
    $("c-intent").textContent = s.intent_label || s.intent || "not understood";
    const en = (s.intent_labels || {}).en;
    $("c-intent-en").textContent = en && en !== s.intent_label ? en : "";
    let lang = languageName(s.language);
    if (s.dialect && s.dialect !== s.language) lang += ", dialect " + languageName(s.dialect);
    $("c-language").textContent = lang;
    $("c-wait").textContent = duration(card.queue_wait_s);

    const esc = card.escalation || {};
    $("c-reason").textContent = esc.text || esc.reason || "";
    $("c-next").textContent = s.next_action || "";

    $("c-identity").textContent = s.identity_verified === true ? "Identity verified"
      : s.identity_verified === false ? "Identity NOT verified" : "";
    fill($("c-slots"), (s.slots || []).map((slot) => el("li", {},
      el("span", { class: "name", text: slot.name }),
      el("span", { class: "value", text: String(slot.value) }),
      el("span", { class: "tag " + (slot.verified ? "ok" : "no"),
                   text: slot.verified ? "verified" : "not verified" }))));
    if (!(s.slots || []).length) fill($("c-slots"), [el("li", { class: "muted", text: "none" })]);

    const peak = Math.max(s.peak_anger || 0, s.peak_distress || 0);
    $("c-mood").textContent = "Peak anger " + (s.peak_anger || 0).toFixed(2) +
      ", peak distress " + (s.peak_distress || 0).toFixed(2) +
      (peak >= 0.5 ? " \u2014 upset" : peak > 0.3 ? " \u2014 a little tense" : " \u2014 calm");
    renderChart($("c-chart"), card.emotion || []);

    fill($("c-steps"), (s.steps || []).map((step) => el("li", {},
      el("span", { text: (step.node || "?") + ": " }),
      el("span", { text: step.caller ? "\u201C" + step.caller + "\u201D" : "(no input)" }),
      el("span", { class: "muted", text: " \u2192 " + (step.outcome || "") +
        (step.intent ? " (" + step.intent + ")" : "") }),
      step.said ? el("div", { class: "said", text: "IVR: " + step.said }) : null)));
    const answers = s.answers || [];
    $("c-answers-label").hidden = !answers.length;
    fill($("c-answers"), answers.map((a) => el("li", { text: a })));

    fill($("c-quotes"), (s.key_utterances || []).map((q) => el("li", { text: q })));
    if (!(s.key_utterances || []).length) {
      fill($("c-quotes"), [el("li", { class: "muted", text: "none" })]);
    }

    $("c-llm").hidden = !card.llm_text;
    $("c-llm").textContent = card.llm_text || "";
    $("c-text").textContent = card.text || "";

    fill($("c-history"), (card.earlier_calls || []).map((c) => el("li", {},
      el("span", { text: when(c.started_at) + " \u2014 " + (c.end_reason || "in progress") }),
      c.agent_outcome ? el("span", { class: "tag", text: c.agent_outcome }) : null,
      c.agent_note ? el("div", { class: "muted", text: c.agent_note }) : null)));
    if (!(card.earlier_calls || []).length) {
      fill($("c-history"), [el("li", { class: "muted", text: "none" })]);
    }

    $("transcript-box").hidden = false;
    fill($("transcript"), (card.transcript || []).map((line) => el("li",
      { class: line.speaker },
      el("span", { class: "who", text: { caller: "Caller", agent: "Agent" }[line.speaker] || "IVR" }),
      el("span", { class: "text", text: line.text }),
      line.emotion && line.emotion !== "neutral"
        ? el("span", { class: "tag", text: line.emotion }) : null)));
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    return node;
  }

  function renderChart(box, points) {
    if (!points.length) { box.replaceChildren(el("p", { class: "muted", text: "no data" })); return; }
    const W = 300, H = 90, P = 8;
    const x = (i) => points.length === 1 ? W / 2 : P + (i * (W - 2 * P)) / (points.length - 1);
    const y = (v) => H - P - Math.max(0, Math.min(1, v)) * (H - 2 * P);
    const chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img",
                               "aria-label": "anger and distress per turn" });
    chart.append(svg("rect", { x: 0, y: 0, width: W, height: H, fill: "#fafbfc" }));
    chart.append(svg("line", { x1: P, x2: W - P, y1: y(0.5), y2: y(0.5), stroke: "#c9d3df",
                               "stroke-dasharray": "4 3" }));
    for (const [key, color] of [["anger", "#d1352b"], ["distress", "#7b4fc9"]]) {
      const coords = points.map((p, i) => x(i).toFixed(1) + "," + y(p[key]).toFixed(1));
      chart.append(svg("polyline", { points: coords.join(" "), fill: "none", stroke: color,
                                     "stroke-width": 2 }));
      points.forEach((p, i) => {
        const dot = svg("circle", { cx: x(i), cy: y(p[key]), r: 3, fill: color });
        const title = svg("title", {});
        title.textContent = "turn " + p.seq + ": " + key + " " + p[key].toFixed(2) +
          (p.label ? " (" + p.label + ")" : "");
        dot.append(title);
        chart.append(dot);
      });
    }
    const legend = el("div", { class: "legend" },
      el("span", { class: "anger", text: "\u25CF anger" }), "  ",
      el("span", { class: "distress", text: "\u25CF distress" }), "  per turn; dashed: 0.5");
    box.replaceChildren(chart, legend);
  }

  // ------------------------------------------------------------ outcome and history
  async function saveOutcome(event) {
    event.preventDefault();
    if (!state.card) return;
    const id = state.card.call.id;
    const r = await api("POST", "/desk/api/calls/" + encodeURIComponent(id) + "/outcome",
                        { outcome: $("outcome").value, note: $("note").value });
    if (r.ok) {
      $("outcome-msg").textContent = "Saved.";
      state.card.call.agent_outcome = r.data.outcome;
      loadHistory();
    } else if (r.status === 401) {
      showSignIn("Your session has ended: sign in again.");
    } else {
      $("outcome-msg").textContent = (r.data && r.data.error) || "Could not save.";
    }
  }

  async function loadHistory() {
    const r = await api("GET", "/desk/api/history");
    if (!r.ok) return;
    const calls = r.data.calls || [];
    // every call opens its card with the outcome form: record it, or change it
    fill($("my-calls"), calls.map((c) => {
      const item = el("li", { "data-call": c.id,
                              class: c.agent_outcome ? "" : "pending",
                              title: c.agent_outcome ? "Change the outcome" : "Record the outcome" },
        el("div", { text: (c.caller || "unknown") + " \u2014 " + when(c.started_at) }),
        el("div", { class: "muted", text: (c.intent_label || "") +
          (c.agent_outcome ? " \u00B7 " + c.agent_outcome + " (change)"
            : " \u00B7 no outcome yet: record it") }));
      item.addEventListener("click", () => openCall(c.id));
      return item;
    }));
    if (!calls.length) fill($("my-calls"), [el("li", { class: "muted", text: "none yet" })]);
  }

  async function openCall(id) {
    if (state.me && state.me.current_call && state.phase !== "ended") return;
    const r = await api("GET", "/desk/api/calls/" + encodeURIComponent(id));
    if (!r.ok) { $("desk-msg").textContent = (r.data && r.data.error) || "Cannot open call."; return; }
    r.data.phase = "history";
    showCard(r.data, true);
    setBanner(null, null);
    $("outcome-msg").textContent = r.data.call.agent_outcome
      ? "Recorded: " + r.data.call.agent_outcome + ". Choose another to change it." : "";
  }

  // ------------------------------------------------------------ start
  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", signIn);
    $("logout").addEventListener("click", signOut);
    $("status-toggle").addEventListener("click", toggleStatus);
    $("outcome-form").addEventListener("submit", saveOutcome);
    if (document.body.dataset.signedIn === "yes") startDesk();
    else showSignIn("");
  });
})();
