// Ringside agent page: sign in, hold a WebSocket to /ws, show the screen pop,
// save the disposition. Plain DOM, no build step. Every text from the server
// goes in through textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const SEQ_KEY = "ringside.lastSeq";

const state = {
  me: null,            // {username, name, role, extension}
  ws: null,
  backoff: 1000,       // ms, doubles up to 30 s
  retryTimer: null,
  pingTimer: null,
  call: null,          // the call the card shows: {id, state}
};

// ---------------------------------------------------------------- helpers

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  return { ok: res.ok, status: res.status, data };
}

function show(el, on) { el.hidden = !on; }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
function age(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.round((t - Date.now()) / 1000);
  const abs = Math.abs(s);
  if (abs < 60) return rtf.format(s, "second");
  if (abs < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (abs < 86400) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

function lastSeq() { return Number(sessionStorage.getItem(SEQ_KEY) || 0); }

// ---------------------------------------------------------------- sign in / out

async function start() {
  const me = await api("GET", "/api/me");
  if (me.ok) signedIn(me.data.user); else signedOut();
}

function signedIn(user) {
  state.me = user;
  $("who").textContent = user.name || user.username;
  show($("who"), true);
  show($("logout"), true);
  show($("login"), false);
  show($("console"), true);
  connect();
}

function signedOut(message) {
  state.me = null;
  disconnect();
  sessionStorage.removeItem(SEQ_KEY);
  show($("who"), false);
  show($("logout"), false);
  show($("status"), false);
  show($("console"), false);
  show($("login"), true);
  $("login-error").textContent = message || "";
  show($("login-error"), !!message);
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const res = await api("POST", "/api/login", { username: f.username.value, password: f.password.value });
  f.password.value = "";
  if (res.ok) return signedIn(res.data.user);
  signedOut(res.data && res.data.message ? res.data.message : "Sign-in failed.");
});

$("logout").addEventListener("click", async () => {
  await api("POST", "/api/logout");
  signedOut();
});

// ---------------------------------------------------------------- WebSocket

function setStatus(text, cls) {
  const s = $("status");
  s.textContent = text;
  s.className = "status " + cls;
  show(s, true);
}

function connect() {
  disconnect();
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  state.ws = ws;
  setStatus("Connecting…", "reconnecting");

  ws.onopen = () => {
    state.backoff = 1000;
    setStatus("Connected", "connected");
    // Ask for what this tab missed while away; a new tab starts live. The
    // first message also ends the server's short hold on live messages.
    const seq = lastSeq();
    ws.send(JSON.stringify(seq > 0 ? { type: "resume", after_seq: seq } : { type: "ping" }));
    state.pingTimer = setInterval(() => ws.send(JSON.stringify({ type: "ping" })), 25000);
  };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (typeof m.seq === "number") sessionStorage.setItem(SEQ_KEY, String(m.seq));
    onMessage(m);
  };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    clearInterval(state.pingTimer);
    state.ws = null;
    if (!state.me) return;
    setStatus("Reconnecting…", "reconnecting");
    const delay = state.backoff * (0.75 + Math.random() / 2);
    state.backoff = Math.min(state.backoff * 2, 30000);
    state.retryTimer = setTimeout(async () => {
      // A refused upgrade looks like any other close: check the session first.
      const me = await api("GET", "/api/me").catch(() => ({ ok: false, status: 0 }));
      if (me.status === 401) return signedOut("Your session has ended; please sign in again.");
      connect();
    }, delay);
  };
}

function disconnect() {
  clearTimeout(state.retryTimer);
  clearInterval(state.pingTimer);
  if (state.ws) {
    const ws = state.ws;
    state.ws = null;
    ws.close();
  }
}

// ---------------------------------------------------------------- the pop

function onMessage(m) {
  switch (m.type) {
    case "call.ringing": return showRinging(m);
    case "call.answered":
      if (!sameCall(m)) return;
      return setCallState(m.agent === state.me.username ? "On call" : "Answered", "answered");
    case "call.retracted":
      if (!sameCall(m)) return;
      setCallState(m.reason === "caller_hung_up" ? "Caller hung up" : "Answered elsewhere", "retracted");
      show($("pop-dismiss"), true);
      return;
    case "call.ended":
      if (!sameCall(m) && m.call) showEndedOnly(m.call);
      setCallState("Ended", "ended");
      show($("disposition"), true);
      show($("pop-dismiss"), true);
      return;
    default: return;  // pong, error, and types this page does not know
  }
}

function sameCall(m) { return state.call && m.call && m.call.id === state.call.id; }

function setCallState(text, cls) {
  const b = $("pop-state");
  b.textContent = text;
  b.className = "badge " + cls;
}

function resetCard(call) {
  state.call = { id: call.id };
  const form = $("disposition");
  form.reset();
  $("disposition-msg").textContent = "";
  show(form, false);
  show($("pop-dismiss"), false);
  $("pop-queue").textContent = call.queue ? `Queue ${call.queue}` : "";
  $("pop-phone").textContent = call.from || call.from_raw || "";
  $("pop-tags").replaceChildren();
  $("pop-issues").replaceChildren();
  $("pop-history").replaceChildren();
  $("pop-note").textContent = "";
  show($("pop-tier"), false);
  show($("idle"), false);
  show($("pop"), true);
}

function showRinging(m) {
  resetCard(m.call);
  setCallState("Ringing", "ringing");
  const c = m.customer;
  if (!c) {
    $("pop-name").textContent = m.call.from_name || "Unknown caller";
    $("pop-note").textContent = m.call.from_name ? "Not in the customer list" : "";
  } else {
    $("pop-name").textContent = [c.salutation, c.name].filter(Boolean).join(" ");
    if (c.tier) {
      const t = $("pop-tier");
      t.textContent = c.tier;
      t.className = "tier " + c.tier;
      show(t, true);
    }
    for (const tag of c.tags || []) $("pop-tags").append(el("span", tag, "tag"));
  }
  if (m.transferred_by) $("pop-note").textContent = `Transferred by ${m.transferred_by}`;
  fillList($("pop-issues"), m.open_issues, (i) => [i.title, i.opened_at], "No open issues");
  fillList($("pop-history"), m.recent_interactions,
           (h) => [[h.channel, h.direction, h.summary].filter(Boolean).join(" · "), h.at], "No history yet");
}

function showEndedOnly(call) {
  resetCard(call);
  $("pop-name").textContent = call.from || "Call";
}

function fillList(ul, items, fields, empty) {
  ul.replaceChildren();
  if (!items || items.length === 0) return ul.append(el("li", empty, "muted"));
  for (const item of items) {
    const [text, at] = fields(item);
    const li = el("li");
    const span = el("span", text);
    span.dir = "auto";
    li.append(span, el("span", age(at), "when"));
    ul.append(li);
  }
}

$("pop-dismiss").addEventListener("click", () => {
  state.call = null;
  show($("pop"), false);
  show($("idle"), true);
});

$("disposition").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (!state.call) return;
  const f = e.target;
  const msg = $("disposition-msg");
  msg.textContent = "Saving…";
  const res = await api("POST", `/api/calls/${encodeURIComponent(state.call.id)}/disposition`,
                        { disposition: f.disposition.value, notes: f.notes.value });
  if (res.ok) {
    msg.textContent = "Saved.";
    setTimeout(() => $("pop-dismiss").click(), 1200);
  } else {
    msg.textContent = res.data && res.data.message ? res.data.message : "Could not save.";
  }
});

start();
