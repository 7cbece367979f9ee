// Ringside supervisor view: live wallboard (pushed over /ws as board.*
// messages), the call log with filters, keyset paging, a call's timeline and
// CSV export, and reports with charts (Debian's Chart.js when present).
// Plain DOM, no build step. Server text goes in through textContent only.
// Languages follow the agent console: English and Persian (RTL, Solar Hijri).
// $() and api() come from common.js, loaded first.
"use strict";

const WORDS = {
  en: {
    wallboard: "Wallboard", callLog: "Call log", reports: "Reports", language: "Language", console: "Agent console",
    offered: "Offered", answered: "Answered", missed: "Missed", abandoned: "Abandoned", avgWait: "Average wait",
    avgTalk: "Average talk", serviceLevel: "Service level", serviceLevelWithin: "Answered within {s} s",
    liveCalls: "Calls now", gold: "gold", silver: "silver", bronze: "bronze", caller: "Caller", queueCol: "Queue", state: "State", where: "Where", waitCol: "Wait",
    talkCol: "Talk", noLive: "No calls right now.", agents: "Agents",
    st_available: "available", st_ringing: "ringing", st_on_call: "on a call", st_offline: "offline",
    as_ready: "Ready", as_not_ready: "Not ready", as_wrap_up: "Wrap-up",
    r_break: "break", r_lunch: "lunch", r_training: "training", r_meeting: "meeting",
    live_ringing: "ringing", live_answered: "talking",
    since: "From", until: "To", agent: "Agent", status: "Status", any: "Any", direction: "Direction",
    customerId: "Customer id", text: "Text in notes", sort: "Sort", newest: "Newest first", oldest: "Oldest first",
    longestWait: "Longest wait", longestTalk: "Longest talk", search: "Search", export: "Export CSV",
    startedCol: "Started", disposition: "Disposition", noCalls: "No calls match.", more: "More",
    callDetail: "Call", close: "Close", timeline: "Timeline", customer: "Customer", openCustomer: "Open customer",
    s_ringing: "ringing", s_answered: "answered", s_missed: "missed", s_abandoned: "abandoned", s_busy: "busy",
    s_failed: "failed", inbound: "inbound", outbound: "outbound", internal: "internal",
    ev_started: "Call came in from {from} to {to}", ev_came_in: "Call came in from {from}", ev_queued: "Joined queue {queue}",
    ev_rang: "Rang at {who} for {s}", ev_transferred: "Transferred by {by} to {who}, rang {s}",
    ev_answered: "{who} answered", ev_left: "{who} left the call", ev_ended: "Ended: {status}, wait {wait}, talk {talk}",
    hangupUnknown: "hang-up side not reported by the PBX", notAnswered: "not answered",
    hung_caller: "the caller hung up first", hung_agent: "{who} hung up first", hung_system: "ended by the phone system",
    connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…",
    notAllowed: "The supervisor view is for supervisors and admins.", signInFirst: "Sign in on the agent console first.",
    show: "Show", noCharts: "Charts are not available (Chart.js, Debian package libjs-chart.js, is not installed); the figures are in the tables.",
    perHour: "Calls per hour", perDay: "Calls per day", perAgent: "Agents: volume and handle time",
    repeatCallers: "Repeat callers", missedNotCalledBack: "Missed calls not called back",
    hour: "Hour", day: "Day", other: "Other", total: "Total", calls: "Calls", lastCall: "Last call", number: "Number",
    avgHandle: "Average handle", talkTotal: "Talk total", failed: "Something went wrong: {m}",
    signOut: "Sign out", phone: "Phone number", inProgress: "in progress", hourOfDay: "Calls by hour of day",
    showTable: "Table", dialled: "{agent} dialled {to}",
  },
  fa: {
    wallboard: "تابلوی زنده", callLog: "گزارش تماس‌ها", reports: "گزارش‌ها", language: "زبان", console: "کنسول کارشناس",
    offered: "ورودی", answered: "پاسخ‌داده", missed: "بی‌پاسخ", abandoned: "رهاشده", avgWait: "میانگین انتظار",
    avgTalk: "میانگین مکالمه", serviceLevel: "سطح خدمت", serviceLevelWithin: "پاسخ تا {s} ثانیه",
    liveCalls: "تماس‌های جاری", gold: "طلایی", silver: "نقره‌ای", bronze: "برنزی", caller: "تماس‌گیرنده", queueCol: "صف", state: "وضعیت", where: "کجا", waitCol: "انتظار",
    talkCol: "مکالمه", noLive: "اکنون تماسی نیست.", agents: "کارشناسان",
    st_available: "آماده", st_ringing: "در حال زنگ", st_on_call: "در مکالمه", st_offline: "خارج از خط",
    as_ready: "آماده", as_not_ready: "ناآماده", as_wrap_up: "پس از تماس",
    r_break: "استراحت", r_lunch: "ناهار", r_training: "آموزش", r_meeting: "جلسه",
    live_ringing: "در حال زنگ", live_answered: "در مکالمه",
    since: "از", until: "تا", agent: "کارشناس", status: "وضعیت", any: "همه", direction: "جهت",
    customerId: "شناسهٔ مشتری", text: "متن یادداشت", sort: "ترتیب", newest: "جدیدترین", oldest: "قدیمی‌ترین",
    longestWait: "بیشترین انتظار", longestTalk: "طولانی‌ترین مکالمه", search: "جستجو", export: "خروجی CSV",
    startedCol: "شروع", disposition: "نتیجه", noCalls: "تماسی یافت نشد.", more: "بیشتر",
    callDetail: "تماس", close: "بستن", timeline: "روند تماس", customer: "مشتری", openCustomer: "نمایش مشتری",
    s_ringing: "در حال زنگ", s_answered: "پاسخ‌داده", s_missed: "بی‌پاسخ", s_abandoned: "رهاشده", s_busy: "اشغال",
    s_failed: "ناموفق", inbound: "ورودی", outbound: "خروجی", internal: "داخلی",
    ev_started: "تماس از {from} به {to}", ev_came_in: "تماس از {from}", ev_queued: "ورود به صف {queue}",
    ev_rang: "زنگ نزد {who} به مدت {s}", ev_transferred: "انتقال از {by} به {who}، زنگ {s}",
    ev_answered: "{who} پاسخ داد", ev_left: "{who} از تماس خارج شد", ev_ended: "پایان: {status}، انتظار {wait}، مکالمه {talk}",
    hangupUnknown: "طرف قطع‌کننده را مرکز تلفن گزارش نکرده است", notAnswered: "بی‌پاسخ",
    hung_caller: "تماس‌گیرنده نخست قطع کرد", hung_agent: "{who} نخست قطع کرد", hung_system: "مرکز تلفن تماس را پایان داد",
    connecting: "در حال اتصال…", connected: "برخط", reconnecting: "اتصال دوباره…",
    notAllowed: "این بخش ویژهٔ سرپرستان و مدیران است.", signInFirst: "نخست در کنسول کارشناس وارد شوید.",
    show: "نمایش", noCharts: "نمودارها در دسترس نیستند (بستهٔ libjs-chart.js نصب نیست)؛ ارقام در جدول‌ها آمده است.",
    perHour: "تماس‌ها در هر ساعت", perDay: "تماس‌ها در هر روز", perAgent: "کارشناسان: حجم و زمان رسیدگی",
    repeatCallers: "تماس‌گیرندگان تکراری", missedNotCalledBack: "تماس‌های بی‌پاسخ بدون تماس برگشت",
    hour: "ساعت", day: "روز", other: "سایر", total: "جمع", calls: "تماس‌ها", lastCall: "آخرین تماس", number: "شماره",
    avgHandle: "میانگین رسیدگی", talkTotal: "جمع مکالمه", failed: "خطا: {m}",
    signOut: "خروج", phone: "شمارهٔ تلفن", inProgress: "در جریان", hourOfDay: "تماس‌ها بر حسب ساعت روز",
    showTable: "جدول", dialled: "{agent} با {to} تماس گرفت",
  },
};

function num(n, opts) { return new Intl.NumberFormat(locale(), opts).format(n); }
/// Chart labels only (an hour, a day); dates and times of calls use fmtWhen and fmtTime from common.js.
function fmtDateTime(iso, opts) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : new Intl.DateTimeFormat(locale(), opts).format(d);
}
function fmtSecs(s) {
  s = Math.max(0, Math.round(Number(s) || 0));
  const m = Math.floor(s / 60), r = s % 60;
  return num(m, { minimumIntegerDigits: 2 }) + ":" + num(r, { minimumIntegerDigits: 2 });
}
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) e.append(k);
  return e;
}
function show(e, on) { e.hidden = !on; }

const state = { me: null, ws: null, board: { calls: [], agents: [], figures: null }, cursor: null, charts: {}, report: null, serverSkew: 0 };

// ---------------------------------------------------------------- tabs and language

function currentTab() { const h = location.hash.slice(1); return ["wallboard", "log", "reports"].includes(h) ? h : "wallboard"; }
function applyTab() {
  const tab = currentTab();
  for (const s of ["wallboard", "log", "reports"]) show($(s), state.me && s === tab);
  for (const a of document.querySelectorAll("nav.tabs a")) a.setAttribute("aria-current", a.dataset.tab === tab ? "page" : "false");
  if (tab === "reports" && state.me && !state.report) loadReport();
  if (tab === "log" && state.me && !state.logLoaded) { state.logLoaded = true; searchLog(); }
}
window.addEventListener("hashchange", applyTab);

function applyLanguage() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  $("lang").value = lang;
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  renderConn();
  renderBoard();
  renderLogRows();
  if (state.detail) renderDetail(state.detail);
  if (state.report) renderReport(state.report);
}
$("lang").addEventListener("change", (e) => { lang = e.target.value; localStorage.setItem(LANG_KEY, lang); applyLanguage(); });
$("logout").addEventListener("click", () => signOut());

// ---------------------------------------------------------------- start

async function start() {
  applyLanguage();
  const me = await api("GET", "/api/me");
  if (!me.ok) return deny(t("signInFirst"));
  if (me.data.user.role === "agent") return deny(t("notAllowed"));
  state.me = me.data.user;
  $("who").textContent = state.me.name || state.me.username;
  const today = new Date();
  const iso = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
  $("range").since.value = iso(new Date(today.getTime() - 6 * 86400000));
  $("range").until.value = iso(today);
  applyTab();
  connect();
  setInterval(tickClocks, 1000);
}
function deny(msg) {
  $("denied").textContent = msg;
  show($("denied"), true);
  for (const s of ["wallboard", "log", "reports"]) show($(s), false);
}

// ---------------------------------------------------------------- live wallboard

let connState = "connecting";
function renderConn() {
  const s = $("conn");
  if (!state.me) return show(s, false);
  s.textContent = t(connState);
  s.className = "conn " + connState;
  s.dataset.state = connState;
  show(s, true);
}

/// A changed call on the board: in place, or at the end (newest last).
function applyCall(c) {
  const i = state.board.calls.findIndex((x) => x.id === c.id);
  if (i >= 0) state.board.calls[i] = c;
  else state.board.calls.push(c);
}

/// Many board messages a second: render once per frame, not once per message.
let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  const run = () => { renderPending = false; renderBoard(); };
  if (typeof requestAnimationFrame === "function" && document.visibilityState === "visible") requestAnimationFrame(run);
  else setTimeout(run, 0);
}

async function connect() {
  // Start from the server's latest seq: board.* messages are state, not a
  // backlog. The socket brings the live calls (a board.calls snapshot, then
  // one board.changes per flush); GET /api/wallboard brings the
  // agents and figures, and the calls only until the socket's snapshot came.
  const seq = await api("GET", "/api/pops/seq");
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  state.ws = ws;
  let liveCalls = false;  // this socket's board.calls snapshot arrived
  connState = "connecting"; renderConn();
  ws.onopen = async () => {
    ws.send(JSON.stringify({ type: "resume", after_seq: seq.ok ? seq.data.seq : 0 }));
    const snap = await api("GET", "/api/wallboard");
    if (snap.ok) {
      state.serverSkew = Date.parse(snap.data.server_time) - Date.now();
      state.board = { calls: liveCalls ? state.board.calls : snap.data.calls, agents: snap.data.agents, figures: snap.data.figures };
      renderBoard();
    }
    connState = "connected"; renderConn();
  };
  ws.onmessage = (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m.type === "board.calls") { state.board.calls = m.calls; liveCalls = true; }
    else if (m.type === "board.changes") {
      const gone = new Set(m.removed);
      if (gone.size) state.board.calls = state.board.calls.filter((c) => !gone.has(c.id));
      for (const c of m.calls) applyCall(c);
    }
    else if (m.type === "board.agents") state.board.agents = m.agents;
    else if (m.type === "board.agent_changes") {
      const gone = new Set(m.removed);
      const agents = gone.size ? state.board.agents.filter((a) => !gone.has(a.username)) : state.board.agents.slice();
      const at = new Map(agents.map((a, i) => [a.username, i]));
      for (const a of m.agents) {
        if (at.has(a.username)) agents[at.get(a.username)] = a;
        else { at.set(a.username, agents.length); agents.push(a); }
      }
      state.board.agents = agents;
    }
    else if (m.type === "board.figures") state.board.figures = m.figures;
    else if (m.type === "agent.state") {
      // A change an agent (or a supervisor) made: shown at once, before the next board tick.
      const a = state.board.agents.find((x) => x.username === m.agent);
      if (!a) return;
      Object.assign(a, { agent_state: m.state, reason: m.reason, state_since: m.since, wrap_up_until: m.wrap_up_until });
    }
    else return;
    scheduleRender();
  };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    state.ws = null;
    connState = "reconnecting"; renderConn();
    setTimeout(connect, 2000);
  };
}

function now() { return Date.now() + state.serverSkew; }

/// The agent's state from the live calls (pushed at once) and presence (from board.agents).
function agentState(a) {
  for (const c of state.board.calls) if (c.status === "answered" && (c.agent === a.username || (a.extension && c.extension === a.extension))) return "on_call";
  for (const c of state.board.calls) for (const r of c.ringing || []) if (a.extension && r.extension === a.extension) return "ringing";
  return a.online ? "available" : "offline";
}

function renderBoard() {
  if (!state.me) return;
  const f = state.board.figures;
  const set = (id, v) => { $(id).textContent = v; };
  if (f) {
    set("fig-offered", num(f.offered)); set("fig-answered", num(f.answered)); set("fig-missed", num(f.missed));
    set("fig-abandoned", num(f.abandoned)); set("fig-wait", fmtSecs(f.average_wait_seconds));
    set("fig-talk", fmtSecs(f.average_talk_seconds));
    set("fig-sl", num(f.service_level, { style: "percent", maximumFractionDigits: 0 }));
    $("sl-label").textContent = t("serviceLevel") + " · " + t("serviceLevelWithin", { s: num(f.service_level_seconds) });
  }
  const tbody = $("live-calls");
  tbody.replaceChildren();
  for (const c of state.board.calls) {
    const where = c.status === "answered" ? (c.agent || c.extension || "") :
      (c.ringing || []).map((r) => r.agent ? `${r.agent} (${r.extension})` : r.extension).join(", ");
    // The matched customer by name and tier; else the caller id's name and number.
    const caller = c.customer_name
      ? el("td", {}, el("span", { className: "who", text: c.customer_name, dir: "auto" }),
          c.customer_tier ? el("span", { className: "tier " + c.customer_tier, text: ["gold", "silver", "bronze"].includes(c.customer_tier) ? t(c.customer_tier) : c.customer_tier }) : "",
          el("span", { className: "num", text: c.from, dir: "ltr" }))
      : el("td", { text: c.from_name ? `${c.from_name} ${c.from}` : c.from, dir: "ltr" });
    const attrs = { "data-call-id": c.id, "data-status": c.status };
    if (c.customer_tier) attrs["data-tier"] = c.customer_tier;
    if (c.customer_tier === "gold" && c.status === "ringing") attrs.className = "vip-waiting";
    tbody.append(el("tr", attrs,
      caller,
      el("td", { text: c.queue || "" }),
      el("td", { text: t("live_" + c.status) }),
      el("td", { text: where }),
      el("td", { className: "wait", "data-since": c.started_at, "data-until": c.answered_at || "", text: "" })));
  }
  show($("no-live"), state.board.calls.length === 0);
  renderAgentPicker();
  const ul = $("agents");
  ul.replaceChildren();
  for (const a of state.board.agents) {
    const st = agentState(a);
    ul.append(el("li", { "data-agent": a.username, "data-state": st, className: "agent " + st },
      el("span", { className: "name", text: a.name || a.username, dir: "auto" }),
      el("span", { className: "ext", text: a.extension || "" }),
      el("span", { className: "st", text: t("st_" + st) }),
      workState(a)));
  }
  tickClocks();
}

/// The call log's agent picker: every user the board lists, kept in step
/// with it; the chosen agent stays chosen.
function renderAgentPicker() {
  const sel = $("filters").agent;
  const names = state.board.agents.map((a) => a.username);
  const have = [...sel.options].slice(1).map((o) => o.value);
  sel.options[0].textContent = t("any");
  if (names.join("\n") === have.join("\n")) return;
  const chosen = sel.value;
  sel.replaceChildren(sel.options[0], ...state.board.agents.map((a) =>
    el("option", { value: a.username, text: a.name && a.name !== a.username ? `${a.name} (${a.username})` : a.username })));
  sel.value = names.includes(chosen) ? chosen : "";
}

/// What the agent chose (Ready, Not ready with its reason, Wrap-up) and for how long.
function workState(a) {
  const ws = a.agent_state || "ready";
  const reason = a.reason ? (WORDS.en["r_" + a.reason] ? t("r_" + a.reason) : a.reason) : "";
  return el("span", { className: "work " + ws, "data-work": ws },
    el("span", { className: "work-name", text: t("as_" + ws) + (reason ? " · " + reason : "") }),
    el("span", { className: "work-time", "data-since": a.state_since || "", "data-until": a.wrap_up_until || "", text: "" }));
}

function tickClocks() {
  for (const span of document.querySelectorAll("#agents .work-time")) {
    // Wrap-up counts down to its end; the other states count up from their start.
    if (span.dataset.until) span.textContent = fmtSecs(Math.max(0, (Date.parse(span.dataset.until) - now()) / 1000));
    else if (span.dataset.since) span.textContent = fmtSecs(Math.max(0, (now() - Date.parse(span.dataset.since)) / 1000));
  }
  for (const td of document.querySelectorAll("#live-calls td.wait")) {
    const end = td.dataset.until ? Date.parse(td.dataset.until) : now();
    td.textContent = fmtSecs((end - Date.parse(td.dataset.since)) / 1000);
  }
}

// ---------------------------------------------------------------- call log

function filterParams() {
  const f = $("filters"), p = new URLSearchParams();
  const day = (v, plus) => { const d = new Date(v + "T00:00:00"); d.setDate(d.getDate() + plus); return d.toISOString(); };
  if (f.since.value) p.set("since", day(f.since.value, 0));
  if (f.until.value) p.set("until", day(f.until.value, 1));  // the whole last day
  for (const k of ["phone", "agent", "status", "direction", "queue", "customer_id", "q"]) if (f[k].value.trim()) p.set(k, f[k].value.trim());
  const [sort, order] = f.sort.value.split(":");
  p.set("sort", sort); p.set("order", order);
  return p;
}

let logSearches = 0;  // the latest search's number: an older answer that comes late is dropped
async function searchLog(more = false) {
  const p = filterParams();
  $("export").href = "/api/calls.csv?" + p.toString();
  p.set("limit", "50");
  if (more && state.cursor) p.set("after", state.cursor);
  const mine = ++logSearches;
  const r = await api("GET", "/api/calls?" + p.toString());
  if (mine !== logSearches) return;
  show($("filter-error"), !r.ok);
  if (!r.ok) { $("filter-error").textContent = isBusy(r) ? busyText() : (r.data && r.data.message) || t("failed", { m: r.status }); return; }
  state.rows = more ? (state.rows || []).concat(r.data.calls) : r.data.calls;
  state.cursor = r.data.next_cursor;
  renderLogRows();
}
$("filters").addEventListener("submit", (e) => { e.preventDefault(); searchLog(); });
$("filters").addEventListener("change", () => { $("export").href = "/api/calls.csv?" + filterParams().toString(); });
$("more").addEventListener("click", () => searchLog(true));

function renderLogRows() {
  const rows = state.rows || [];
  const tbody = $("log-rows");
  tbody.replaceChildren();
  for (const c of rows) {
    // A call without an end is still going on (ringing or talking now).
    const live = !c.ended_at;
    const tr = el("tr", { "data-call-id": c.id, tabIndex: 0, className: "row " + c.status + (live ? " live" : "") +
                          (state.detail && state.detail.call.id === c.id ? " selected" : "") },
      el("td", { text: fmtWhen(c.started_at) }),
      el("td", { className: "party" }, ...partyOf(c)),
      el("td", { text: t(c.direction) }),
      el("td", { className: "status" }, t("s_" + c.status),
        ...(live ? [el("span", { className: "live-tag", "data-live": "1", text: t("inProgress") })] : [])),
      el("td", { text: agentOf(c) }),
      el("td", { text: c.queue || "" }),
      el("td", { text: fmtSecs(c.wait_seconds) }),
      el("td", { text: fmtSecs(c.talk_seconds) }),
      el("td", { text: c.disposition || "" }));
    tr.addEventListener("click", () => openCall(c.id));
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") openCall(c.id); });
    tbody.append(tr);
  }
  show($("log-empty"), state.rows && rows.length === 0);
  show($("more"), !!state.cursor);
}

/// Who is on the other end: for an outbound call the agent who dialled and
/// the customer dialled (name and number), for others the caller.
function partyOf(c) {
  const number = (n) => el("bdi", { dir: "ltr", text: n || "" });
  if (c.direction === "outbound") {
    const to = c.to_name ? `${c.to_name} ` : "";
    return [el("span", { className: "dialled", "data-to": c.to || "", text: `${agentOf(c) || c.from} → ${to}` }), number(c.to)];
  }
  return c.from_name ? [el("span", { text: c.from_name + " ", dir: "auto" }), number(c.from)] : [number(c.from)];
}
/// The agent of a call: the one who answered, or (outbound, before anyone
/// answers) the one who dialled, known by the record's agent or extension.
function agentOf(c) {
  return c.agent || (c.direction === "outbound" ? (c.extension || c.from || "") : "");
}

async function openCall(id) {
  const r = await api("GET", "/api/calls/" + encodeURIComponent(id));
  if (!r.ok) return;
  state.detail = r.data;
  renderDetail(r.data);
  show($("detail"), true);
  renderLogRows();
  $("detail-close").focus();
}
function closeCall() { state.detail = null; show($("detail"), false); renderLogRows(); }
$("detail-close").addEventListener("click", closeCall);
document.addEventListener("keydown", (e) => { if (e.key === "Escape" && state.detail) closeCall(); });

function renderDetail(d) {
  const c = d.call;
  $("detail").dataset.callId = c.id;
  const facts = $("detail-facts");
  facts.replaceChildren();
  const fact = (k, v) => facts.append(el("dt", { text: k }), el("dd", {}, v));
  fact(t("startedCol"), fmtWhen(c.started_at));
  fact(t("caller"), el("span", {}, ...partyOf(c)));
  fact(t("status"), t("s_" + c.status) + (c.ended_at ? "" : " · " + t("inProgress")));
  fact(t("agent"), agentOf(c) || "–");
  fact(t("waitCol") + " / " + t("talkCol"), `${fmtSecs(c.wait_seconds)} / ${fmtSecs(c.talk_seconds)}`);
  fact(t("disposition"), [c.disposition, c.notes].filter(Boolean).join(" — ") || "–");
  if (d.customer) {
    const a = el("a", { id: "detail-customer", href: "/#customer=" + d.customer.id, text: d.customer.name, dir: "auto" });
    fact(t("customer"), a);
  }
  // Who hung up first (the "ended" event's by / by_agent / by_extension).
  const hungUpText = (e) => {
    if (e.by === "agent") {
      const who = e.by_agent ? `${e.by_agent} (${e.by_extension})` : (e.by_extension || t("agent"));
      return t("hung_agent", { who });
    }
    return e.by === "caller" || e.by === "system" ? t("hung_" + e.by) : t("hangupUnknown");
  };
  const ol = $("timeline");
  ol.replaceChildren();
  for (const e of d.timeline) {
    const who = e.agent ? `${e.agent} (${e.extension})` : (e.extension || "");
    let text;
    switch (e.event) {
      // "to" is what was dialled; Asterisk's "s" (start) extension says nothing to a reader.
      case "started": text = /\d/.test(e.to || "") ? t("ev_started", { from: e.from, to: e.to }) : t("ev_came_in", { from: e.from }); break;
      case "queued": text = t("ev_queued", { queue: e.queue }); break;
      case "rang": text = t("ev_rang", { who, s: fmtSecs(e.ring_seconds) }) + (e.answered ? "" : " · " + t("notAnswered")); break;
      case "transferred": text = t("ev_transferred", { by: e.transferred_by, who, s: fmtSecs(e.ring_seconds) }); break;
      case "answered": text = t("ev_answered", { who }); break;
      case "left": text = t("ev_left", { who }); break;
      case "ended": text = t("ev_ended", { status: t("s_" + e.status), wait: fmtSecs(e.wait_seconds), talk: fmtSecs(e.talk_seconds) }) +
        " · " + hungUpText(e); break;
      default: text = e.event;
    }
    ol.append(el("li", { "data-event": e.event },
      el("time", { dateTime: e.at, text: fmtTime(e.at) }), " ", el("span", { text })));
  }
}

// ---------------------------------------------------------------- reports

async function loadReport() {
  const f = $("range");
  const since = new Date(f.since.value + "T00:00:00"), until = new Date(f.until.value + "T00:00:00");
  until.setDate(until.getDate() + 1);
  const p = new URLSearchParams({ since: since.toISOString(), until: until.toISOString(), utc_offset: String(-since.getTimezoneOffset()) });
  const r = await api("GET", "/api/reports?" + p.toString());
  if (!r.ok) return;
  state.report = r.data;
  renderReport(r.data);
}
$("range").addEventListener("submit", (e) => { e.preventDefault(); loadReport(); });

const COLORS = { answered: "#1a7f4b", missed: "#b3261e", abandoned: "#c2410c", other: "#5a6372" };
function chart(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  state.charts[id] = new window.Chart($(id), config);
}
function table(id, head, rows) {
  const tb = $(id);
  tb.replaceChildren(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { text: h })))));
  const body = el("tbody");
  // Phone numbers keep their + on the left inside right-to-left text.
  for (const r of rows) body.append(el("tr", {}, ...r.map((v) => el("td", /^\+\d+$/.test(v) ? { text: v, dir: "ltr" } : { text: v }))));
  tb.append(body);
}

function renderReport(rep) {
  const charts = typeof window.Chart === "function";
  show($("no-charts"), !charts);
  for (const id of ["chart-hour-of-day", "chart-hourly", "chart-daily", "chart-agents"]) show($(id).parentElement, charts);
  // Without charts the tables are all there is: open them.
  for (const d of document.querySelectorAll("#reports details.table-box")) if (!charts) d.open = true;
  const statuses = ["answered", "missed", "abandoned", "other"];
  const bucketLabel = (iso, hourly) => fmtDateTime(iso, hourly ? { month: "short", day: "numeric", hour: "2-digit" } : { dateStyle: "medium" });
  // Hour of day: always 24 rows (0-23), an hour without calls as zeros, for staffing.
  const hod = rep.hour_of_day || [];
  const hourName = (h) => num(h, { minimumIntegerDigits: 2 }) + ":" + num(0, { minimumIntegerDigits: 2 });
  if (charts) chart("chart-hour-of-day", {
    type: "bar",
    data: { labels: hod.map((b) => hourName(b.hour)), datasets: statuses.map((s) => ({ label: t(s), data: hod.map((b) => b[s]), backgroundColor: COLORS[s] })) },
    options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { x: { stacked: true, reverse: lang === "fa" }, y: { stacked: true, beginAtZero: true } },
               plugins: { tooltip: { mode: "index", intersect: false } }, locale: locale() },
  });
  table("table-hour-of-day", [t("hour"), ...statuses.map((s) => t(s)), t("total")],
    hod.map((b) => [hourName(b.hour), ...statuses.map((s) => num(b[s])), num(statuses.reduce((n, s) => n + b[s], 0))]));
  for (const [key, hourly] of [["hourly", true], ["daily", false]]) {
    const labels = rep[key].map((b) => bucketLabel(b.start, hourly));
    if (charts) chart("chart-" + key, {
      type: "bar",
      data: { labels, datasets: statuses.map((s) => ({ label: t(s === "other" ? "other" : s), data: rep[key].map((b) => b[s]), backgroundColor: COLORS[s] })) },
      options: { animation: false, responsive: true, maintainAspectRatio: false, scales: { x: { stacked: true, reverse: lang === "fa" }, y: { stacked: true, beginAtZero: true } },
                 plugins: { tooltip: { mode: "index", intersect: false } }, locale: locale() },
    });
    table("table-" + key, [t(hourly ? "hour" : "day"), ...statuses.map((s) => t(s)), t("total")],
      rep[key].map((b, i) => [labels[i], ...statuses.map((s) => num(b[s])), num(statuses.reduce((n, s) => n + b[s], 0))]));
  }
  if (charts) chart("chart-agents", {
    type: "bar",
    data: { labels: rep.agents.map((a) => a.agent),
            datasets: [{ label: t("answered"), data: rep.agents.map((a) => a.answered), backgroundColor: COLORS.answered, yAxisID: "y" },
                       { label: t("avgHandle") + " (s)", data: rep.agents.map((a) => Math.round(a.average_handle_seconds)), backgroundColor: "#2457d6", yAxisID: "y1" }] },
    options: { animation: false, responsive: true, maintainAspectRatio: false, locale: locale(),
               scales: { x: { reverse: lang === "fa" }, y: { beginAtZero: true, position: "left" }, y1: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } } },
  });
  table("table-agents", [t("agent"), t("answered"), t("talkTotal"), t("avgHandle")],
    rep.agents.map((a) => [a.agent, num(a.answered), fmtSecs(a.talk_seconds), fmtSecs(a.average_handle_seconds)]));
  table("table-repeat", [t("number"), t("calls"), t("lastCall")],
    rep.repeat_callers.map((r) => [r.number, num(r.calls), fmtWhen(r.last_at)]));
  table("table-missed", [t("startedCol"), t("caller"), t("status"), t("queueCol"), t("waitCol")],
    rep.missed_not_called_back.map((c) => [fmtWhen(c.started_at), c.from, t("s_" + c.status), c.queue || "", fmtSecs(c.wait_seconds)]));
}

start();
