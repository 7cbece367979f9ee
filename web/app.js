// Ringside agent console: sign in, hold a WebSocket to /ws, pop the caller's
// card before the agent answers, follow the call, log its outcome. Plain DOM,
// no build step, no framework. Every text from the server goes in through
// textContent, never as HTML. Fields beyond the basic pop are read defensively:
// the server may add some (repeat callers, match details) and not others.
"use strict";

const SEQ_KEY = "ringside.lastSeq";        // sessionStorage: per tab, survives reload
const SOUND_KEY = "ringside.sound";        // localStorage
const SAVED_KEY = "ringside.saved.";       // localStorage + user: call id -> disposition, shared by tabs
const DRAFT_KEY = "ringside.draft.";       // localStorage + user + "." + call id: {disposition, notes, at} not saved yet

// ---------------------------------------------------------------- words

const WORDS = {
  en: {
    adminPage: "Administration",
    skip: "Skip to the call card", language: "Language", enableAlerts: "Enable alerts", sound: "Ring sound",
    signIn: "Sign in", signOut: "Sign out", username: "Username", password: "Password",
    badLogin: "Wrong username or password.", throttled: "Too many failed sign-ins. Try again in {s} s.",
    loginFailed: "Sign-in failed. Is the server running?", sessionEnded: "Your session has ended; please sign in again.",
    waiting: "Waiting for calls…", today: "Today's calls", refresh: "Refresh", noCallsToday: "No calls yet today.",
    connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting in {s} s", offline: "Offline",
    ringing: "Ringing", talking: "Talking {t}", ended: "Ended", withdrawn: "Withdrawn", past: "Past call",
    answeredElsewhere: "Answered by a colleague", callerHungUp: "Caller hung up", noAnswer: "Not answered",
    busy: "Line busy", rejected: "Rejected", merged: "Joined to the caller's call", position: "position {n}", answeredBy: "Answered by {a}",
    queue: "Queue {q}", transferredBy: "Transferred by {a}", close: "Close",
    callNumber: "Call", callNumberOf: "Call {n}", dialing: "Calling {n}: your phone rings first…",
    dialFailed: "The call did not go through ({r}).", dialConnected: "Your phone answered; calling {n}…",
    transferNote: "{a} saved: {d}",
    unknownCaller: "Unknown caller", notInList: "This number is not in the customer list.",
    callerId: "Caller ID name: {n}",
    matchedExact: "matched on the customer's number", matchedAs: "dialled as {raw}, matched on the customer's number",
    matchedOther: "matched on {n}", firstLine: "First line to say",
    greetMorning: "Good morning", greetAfternoon: "Good afternoon", greetEvening: "Good evening",
    followUp: "{greet} {who}, I'm following up on “{issue}” (open {age}).",
    birthday: "{greet} {who}, happy birthday from all of us!",
    repeatLine: "{greet} {who}, I see you've called {n} times today; let's sort it out now.",
    plainLine: "{greet} {who}, thank you for calling.",
    unknownLine: "{greet}, thank you for calling. May I have your name?",
    calledToday: "Called {n} times today", missedWaiting: "Missed call waiting for a call-back",
    openIssues: "Open issues", noIssues: "No open issues.", openFor: "open {age}", resolve: "Resolve",
    resolved: "Resolved", reopen: "Reopen", newIssue: "New issue", issueTitle: "Title", description: "Description",
    addIssue: "Open issue", lastInteractions: "Last interactions", noHistory: "No history yet.",
    createCustomer: "Create customer", name: "Name", salutation: "Salutation", phone: "Phone", email: "Email",
    tier: "Tier", tags: "Tags (comma separated)", none: "none", gold: "gold", silver: "silver", bronze: "bronze",
    created: "Customer created.", afterCall: "After the call", outcome: "Outcome", choose: "Choose…",
    d_resolved: "Resolved", d_follow_up: "Needs follow-up", d_escalated: "Escalated", d_sale: "Sale",
    d_info_given: "Information given", d_wrong_number: "Wrong number", d_other: "Other",
    notes: "Notes", notesHint: "Card numbers are stored masked.", save: "Save", saving: "Saving…",
    saved: "Saved: {d}", savedElsewhere: "Already saved in another tab or on another device: {d}", change: "Change",
    couldNotSave: "Could not save: {m}", failed: "Something went wrong: {m}",
    s_ringing: "ringing", s_answered: "answered", s_missed: "missed", s_abandoned: "abandoned", s_busy: "busy",
    s_failed: "failed", duration: "Talk {t}", wait: "Wait {t}", started: "Started {t}",
    incoming: "Incoming call", from: "from {n}", openCustomer: "Open", call: "call", email_ch: "email",
    otherCalls: "Other calls", switchTo: "Switch", needsOutcome: "outcome not saved", draftKept: "Draft kept",
    inbound: "in", outbound: "out",
    supervisorView: "Supervisor view",
  },
  fa: {
    adminPage: "مدیریت",
    skip: "رفتن به کارت تماس", language: "زبان", enableAlerts: "فعال‌کردن اعلان", sound: "صدای زنگ",
    signIn: "ورود", signOut: "خروج", username: "نام کاربری", password: "گذرواژه",
    badLogin: "نام کاربری یا گذرواژه نادرست است.", throttled: "تلاش‌های ناموفق زیاد بود. {s} ثانیهٔ دیگر دوباره امتحان کنید.",
    loginFailed: "ورود انجام نشد. آیا سرور در دسترس است؟", sessionEnded: "نشست شما پایان یافته؛ لطفاً دوباره وارد شوید.",
    waiting: "در انتظار تماس…", today: "تماس‌های امروز", refresh: "به‌روزرسانی", noCallsToday: "امروز هنوز تماسی نبوده است.",
    connecting: "در حال اتصال…", connected: "برخط", reconnecting: "اتصال دوباره تا {s} ثانیهٔ دیگر", offline: "قطع",
    ringing: "در حال زنگ", talking: "در حال مکالمه {t}", ended: "پایان‌یافته", withdrawn: "لغوشده", past: "تماس گذشته",
    answeredElsewhere: "همکار دیگری پاسخ داد", callerHungUp: "تماس‌گیرنده قطع کرد", noAnswer: "بی‌پاسخ",
    busy: "خط اشغال", rejected: "ردشده", merged: "به تماس مشتری پیوست", position: "نوبت {n}", answeredBy: "پاسخ‌دهنده: {a}",
    queue: "صف {q}", transferredBy: "انتقال از {a}", close: "بستن",
    callNumber: "تماس", callNumberOf: "تماس با {n}", dialing: "تماس با {n}: اول تلفن شما زنگ می‌زند…",
    dialFailed: "تماس برقرار نشد ({r}).", dialConnected: "تلفن شما پاسخ داد؛ تماس با {n}…",
    transferNote: "{a} ثبت کرد: {d}",
    unknownCaller: "تماس‌گیرندهٔ ناشناس", notInList: "این شماره در فهرست مشتریان نیست.",
    callerId: "نام شناسهٔ تماس: {n}",
    matchedExact: "مطابق شمارهٔ مشتری", matchedAs: "با شمارهٔ {raw}، مطابق شمارهٔ مشتری",
    matchedOther: "مطابق {n}", firstLine: "جملهٔ نخست",
    greetMorning: "صبح بخیر", greetAfternoon: "روز بخیر", greetEvening: "عصر بخیر",
    followUp: "{greet} {who}، در پیگیری «{issue}» تماس می‌گیرم ({age} باز است).",
    birthday: "{greet} {who}، تولدتان مبارک!",
    repeatLine: "{greet} {who}، می‌بینم امروز {n} بار تماس گرفته‌اید؛ همین حالا رسیدگی می‌کنیم.",
    plainLine: "{greet} {who}، از تماس شما سپاسگزاریم.",
    unknownLine: "{greet}، از تماس شما سپاسگزاریم. نام شریفتان؟",
    calledToday: "امروز {n} بار تماس گرفته", missedWaiting: "تماس بی‌پاسخ در انتظار تماس برگشت",
    openIssues: "مسائل باز", noIssues: "مسئلهٔ بازی نیست.", openFor: "{age} باز", resolve: "حل شد",
    resolved: "حل‌شده", reopen: "بازگشایی", newIssue: "مسئلهٔ تازه", issueTitle: "عنوان", description: "شرح",
    addIssue: "ثبت مسئله", lastInteractions: "تعامل‌های اخیر", noHistory: "هنوز سابقه‌ای نیست.",
    createCustomer: "ساخت مشتری", name: "نام", salutation: "عنوان", phone: "تلفن", email: "ایمیل",
    tier: "سطح", tags: "برچسب‌ها (با ویرگول)", none: "هیچ", gold: "طلایی", silver: "نقره‌ای", bronze: "برنزی",
    created: "مشتری ساخته شد.", afterCall: "پس از تماس", outcome: "نتیجه", choose: "انتخاب کنید…",
    d_resolved: "حل شد", d_follow_up: "نیاز به پیگیری", d_escalated: "ارجاع شد", d_sale: "فروش",
    d_info_given: "اطلاعات داده شد", d_wrong_number: "شمارهٔ اشتباه", d_other: "دیگر",
    notes: "یادداشت", notesHint: "شمارهٔ کارت‌ها پوشیده ذخیره می‌شوند.", save: "ذخیره", saving: "در حال ذخیره…",
    saved: "ذخیره شد: {d}", savedElsewhere: "در زبانه یا دستگاه دیگری ذخیره شده: {d}", change: "تغییر",
    couldNotSave: "ذخیره نشد: {m}", failed: "خطا: {m}",
    s_ringing: "در حال زنگ", s_answered: "پاسخ‌داده", s_missed: "بی‌پاسخ", s_abandoned: "رهاشده", s_busy: "اشغال",
    s_failed: "ناموفق", duration: "مکالمه {t}", wait: "انتظار {t}", started: "شروع {t}",
    incoming: "تماس ورودی", from: "از {n}", openCustomer: "باز کردن", call: "تماس", email_ch: "ایمیل",
    otherCalls: "تماس‌های دیگر", switchTo: "رفتن به آن", needsOutcome: "نتیجه ثبت نشده", draftKept: "پیش‌نویس نگه داشته شد",
    inbound: "ورودی", outbound: "خروجی",
    supervisorView: "نمای سرپرست",
  },
};
const DISPOSITIONS = ["resolved", "follow_up", "escalated", "sale", "info_given", "wrong_number", "other"];

function num(n) { return new Intl.NumberFormat(locale()).format(n); }

/// Date and time in the user's calendar (Solar Hijri for Persian).
function fmtDateTime(iso, withDate = true) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const opts = withDate ? { dateStyle: "medium", timeStyle: "short" } : { timeStyle: "short" };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}
/// "3 days", "5 hours", "12 minutes" since iso, in words of the language.
function fmtAge(iso) {
  const ms = Date.now() - Date.parse(iso);
  if (Number.isNaN(ms)) return "";
  const min = Math.max(0, Math.floor(ms / 60000));
  const [v, unit] = min < 60 ? [min, "minute"] : min < 1440 ? [Math.floor(min / 60), "hour"] : [Math.floor(min / 1440), "day"];
  return new Intl.NumberFormat(locale(), { style: "unit", unit, unitDisplay: "long" }).format(v);
}
function fmtAgo(iso) {
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (Number.isNaN(s)) return "";
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: "auto" });
  const a = Math.abs(s);
  if (a < 3600) return rtf.format(Math.round(s / 60), "minute");
  if (a < 86400) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}
function fmtClock(seconds) {
  const s = Math.max(0, Math.floor(seconds || 0));
  const mm = String(Math.floor(s / 60)).padStart(2, "0"), ss = String(s % 60).padStart(2, "0");
  const text = `${mm}:${ss}`;
  return lang === "fa" ? text.replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]) : text;
}
function dispositionLabel(d) { return DISPOSITIONS.includes(d) ? t("d_" + d) : d; }

// ---------------------------------------------------------------- state

const state = {
  me: null,             // {username, name, role, extension}
  ws: null,
  backoff: 1000,        // ms; doubles up to 30 s, reset on a healthy connection
  retryTimer: null,
  countdownTimer: null,
  pingTimer: null,
  pongDeadline: null,
  card: null,           // the card on screen (one of cards); see newCard()
  cards: [],            // every call the console follows now, oldest first: the one on screen and the others
  tick: null,           // the talk timer
  today: [],            // call records
  names: new Map(),     // customer id -> name, for the history list
};

const channel = "BroadcastChannel" in window ? new BroadcastChannel("ringside") : null;

// ---------------------------------------------------------------- helpers
// ($, api, errText and h come from common.js)

function show(el, on) { el.hidden = !on; }
function announce(text) { $("announce").textContent = text; }
function lastSeq() { return Number(sessionStorage.getItem(SEQ_KEY) || 0); }
function savedMap() {
  try { return JSON.parse(localStorage.getItem(SAVED_KEY + (state.me ? state.me.username : "")) || "{}"); } catch { return {}; }
}
function rememberSaved(id, disposition) {
  const m = savedMap();
  m[id] = disposition;
  const keys = Object.keys(m);
  for (const k of keys.slice(0, Math.max(0, keys.length - 200))) delete m[k];  // bounded
  localStorage.setItem(SAVED_KEY + state.me.username, JSON.stringify(m));
}

// Drafts: what the agent typed in a call's outcome form and did not save yet,
// one localStorage entry per call, so a reload, another card or a new ring
// never loses it. Removed when the save succeeds; a week old, forgotten.
const DRAFT_DAYS = 7;
function draftKey(id) { return DRAFT_KEY + (state.me ? state.me.username : "") + "." + id; }
function draftOf(id) {
  try { return JSON.parse(localStorage.getItem(draftKey(id)) || "null"); } catch { return null; }
}
function keepDraft(id, disposition, notes) {
  if (!state.me) return;
  if (!disposition && !notes) return localStorage.removeItem(draftKey(id));
  localStorage.setItem(draftKey(id), JSON.stringify({ disposition, notes, at: Date.now() }));
}
function dropDraft(id) { localStorage.removeItem(draftKey(id)); }
function pruneDrafts() {
  const prefix = DRAFT_KEY + state.me.username + ".";
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const k = localStorage.key(i);
    if (!k || !k.startsWith(prefix)) continue;
    let d = null;
    try { d = JSON.parse(localStorage.getItem(k)); } catch { /* unreadable: drop */ }
    if (!d || !(Date.now() - d.at < DRAFT_DAYS * 86400000)) localStorage.removeItem(k);
  }
}
function hasDraft(card) { const d = draftOf(card.id); return !!(d && (d.disposition || d.notes)); }

// ---------------------------------------------------------------- language

function applyLanguage() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  $("lang").value = lang;
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  renderConn();
  renderCard();
  renderToday();
  if (typeof customerFile !== "undefined") customerFile.language();  // customer.js
  if (typeof agentState !== "undefined") agentState.language();  // agent_state.js
}
$("lang").addEventListener("change", (e) => {
  lang = e.target.value;
  localStorage.setItem(LANG_KEY, lang);
  applyLanguage();
});

// ---------------------------------------------------------------- sign in / out

async function start() {
  applyLanguage();
  const me = await api("GET", "/api/me");
  if (me.ok) signedIn(me.data.user); else signedOut();
}

function signedIn(user) {
  state.me = user;
  $("who").textContent = user.name || user.username;
  for (const id of ["who", "logout", "console", "sound-wrap"]) show($(id), true);
  show($("admin-link"), user.role === "admin");
  show($("notify"), "Notification" in window && Notification.permission === "default");
  show($("supervisor-link"), user.role === "supervisor" || user.role === "admin");
  $("sound").checked = localStorage.getItem(SOUND_KEY) === "1";
  show($("login"), false);
  pruneDrafts();
  connect();
  loadToday();
  if (typeof customerFile !== "undefined") customerFile.signedIn();  // customer.js
  if (typeof agentState !== "undefined") agentState.signedIn(user);  // agent_state.js
}

function signedOut(message) {
  state.me = null;
  state.reconciled = false;
  if (typeof customerFile !== "undefined") customerFile.signedOut();  // customer.js
  if (typeof agentState !== "undefined") agentState.signedOut();  // agent_state.js
  disconnect();
  sessionStorage.removeItem(SEQ_KEY);
  state.cards = [];
  clearCard();
  for (const id of ["who", "logout", "conn", "console", "notify", "sound-wrap", "supervisor-link", "admin-link"]) show($(id), false);
  show($("login"), true);
  $("login-error").textContent = message || "";
  show($("login-error"), !!message);
  $("login").username.focus();
}

$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target, button = f.querySelector("button");
  button.disabled = true;
  const res = await api("POST", "/api/login", { username: f.username.value.trim(), password: f.password.value });
  f.password.value = "";
  if (res.ok) { button.disabled = false; return signedIn(res.data.user); }
  let msg = res.status === 401 ? t("badLogin") : isBusy(res) ? busyText() : t("loginFailed");
  let wait = 0;
  if (res.status === 429) {
    wait = Number(res.headers.get("Retry-After")) || 30;
    msg = t("throttled", { s: num(wait) });
  }
  signedOut(msg);
  // Repeated failures: the server throttles; the button waits as long as it asks.
  setTimeout(() => { button.disabled = false; }, wait * 1000 || 600);
});

$("logout").addEventListener("click", async () => {
  await api("POST", "/api/logout");
  signedOut();
});

$("notify").addEventListener("click", async () => {
  await Notification.requestPermission();
  show($("notify"), Notification.permission === "default");
});
$("sound").addEventListener("change", (e) => localStorage.setItem(SOUND_KEY, e.target.checked ? "1" : "0"));

// ---------------------------------------------------------------- connection

let conn = { kind: "connecting", until: 0 };
function setConn(kind, until = 0) { conn = { kind, until }; renderConn(); }
function renderConn() {
  const s = $("conn");
  if (!state.me) return show(s, false);
  let text = t(conn.kind);
  if (conn.kind === "reconnecting") text = t("reconnecting", { s: num(Math.max(0, Math.ceil((conn.until - Date.now()) / 1000))) });
  s.textContent = text;
  s.className = "conn " + conn.kind;
  s.dataset.state = conn.kind;
  show(s, true);
}

async function connect() {
  disconnect();
  // A new tab takes the server's latest seq as its resume point: a pop sent
  // while its very first socket is down is replayed, nothing older pops again.
  if (sessionStorage.getItem(SEQ_KEY) === null) {
    const r = await api("GET", "/api/pops/seq");
    if (r.ok && Number.isFinite(r.data.seq)) sessionStorage.setItem(SEQ_KEY, String(r.data.seq));
    if (!state.me || state.ws) return;
  }
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  state.ws = ws;
  setConn("connecting");

  ws.onopen = () => {
    setConn("connected");
    // Ask for what this tab missed while away (a blip, a reload, a server
    // restart: a seq beyond the new process's latest replays all it holds).
    // The first message also ends the server's short hold on live messages,
    // so nothing is sent twice or out of order.
    ws.send(JSON.stringify({ type: "resume", after_seq: lastSeq() }));
    // Messages lost for good (held no more, or by a server that restarted)
    // would leave a card up for a call that is over: ask what is live now.
    reconcile();
    if (typeof agentState !== "undefined") agentState.reload();  // agent_state.js
    state.pingTimer = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify({ type: "ping" }));
      // A socket that stopped answering is dead even if the OS has not noticed.
      clearTimeout(state.pongDeadline);
      state.pongDeadline = setTimeout(() => ws.close(), 10000);
    }, 20000);
  };
  ws.onmessage = (ev) => {
    const received = performance.now();
    let m;
    try { m = JSON.parse(ev.data); } catch { return; }
    if (m.type === "pong") { clearTimeout(state.pongDeadline); state.backoff = 1000; return; }
    if (typeof m.seq === "number") sessionStorage.setItem(SEQ_KEY, String(m.seq));
    state.backoff = 1000;
    onMessage(m, received);
  };
  ws.onclose = () => {
    if (state.ws !== ws) return;
    clearInterval(state.pingTimer);
    clearTimeout(state.pongDeadline);
    state.ws = null;
    if (!state.me) return;
    scheduleReconnect();
  };
}

function scheduleReconnect() {
  const delay = Math.round(state.backoff * (0.75 + Math.random() / 2));
  state.backoff = Math.min(state.backoff * 2, 30000);
  setConn("reconnecting", Date.now() + delay);
  clearInterval(state.countdownTimer);
  state.countdownTimer = setInterval(renderConn, 1000);
  clearTimeout(state.retryTimer);
  state.retryTimer = setTimeout(reconnectNow, delay);
}

async function reconnectNow() {
  clearTimeout(state.retryTimer);
  clearInterval(state.countdownTimer);
  if (!state.me) return;
  // A refused upgrade looks like any other close: ask about the session first.
  const me = await api("GET", "/api/me");
  if (me.status === 401) return signedOut(t("sessionEnded"));
  if (me.status === 0) return scheduleReconnect();  // server not back yet
  connect();
  loadToday();
}
window.addEventListener("online", () => { if (state.me && !state.ws) reconnectNow(); });
// A tab that slept (hidden, frozen by the browser, restored from the
// back-forward cache) checks its cards against the server's calls on waking.
document.addEventListener("visibilitychange", () => { if (!document.hidden) reconcile(); });
document.addEventListener("resume", () => reconcile());
window.addEventListener("pageshow", (e) => { if (e.persisted) reconcile(); });

/// Brings the cards in line with the calls the server has in progress for
/// this user (GET /api/me/calls): a ring that stopped or that a colleague
/// answered goes; a call this user answered shows as talking; a call they
/// were talking on that is over shows as ended, for its outcome; a live call
/// with no card (after a reload) gets one. Cards that arrived after the
/// question was asked are left alone: the answer may predate them.
let reconciling = null, reconcileAgain = false;
async function reconcile() {
  if (!state.me) return;
  // One question at a time; one asked meanwhile runs once more after it,
  // so an answer from before a reconnect is never the last word.
  if (reconciling) { reconcileAgain = true; return reconciling; }
  reconciling = (async () => {
    const asked = performance.now();
    const res = await api("GET", "/api/me/calls");
    if (!res.ok || !state.me) return;
    const me = state.me.username;
    const live = new Map((res.data.calls || []).map((c) => [c.id, c]));
    const ringsHere = (c) => (c.ringing || []).some((r) => r.agent === me ||
      (!r.agent && state.me.extension && r.extension === state.me.extension));
    for (const card of state.cards.slice()) {
      if (card.receivedAt > asked || (card.phase !== "ringing" && card.phase !== "talking")) continue;
      const c = live.get(card.id);
      if (card.phase === "ringing") {
        if (c && c.status === "answered" && c.agent === me) {
          card.phase = "talking";
          card.answeredAt = Date.parse(c.answered_at || "") || Date.now();
        } else if (!c || c.status === "answered" || !ringsHere(c)) {
          removeCard(card);
        }
      } else if (!c || (c.agent && c.agent !== me)) {
        // Over (or handed on): ended, so the outcome can still be logged.
        const r = await api("GET", `/api/calls/${encodeURIComponent(card.id)}`);
        if (r.ok && r.data.call && r.data.call.ended_at) {
          card.phase = "ended";
          card.record = r.data.call;
        } else if (r.status === 404) {
          removeCard(card);
        }
      }
    }
    // A call this user is talking on and no card follows (the page was
    // reloaded): its card again. So is a ring, on the page's first
    // connection only: after a reconnect, resume brings the rings back.
    const first = !state.reconciled;
    state.reconciled = true;
    for (const c of live.values()) {
      if (findCard(c.id)) continue;
      const talking = c.status === "answered" && c.agent === me;
      if (!talking && !(first && c.status !== "answered" && ringsHere(c))) continue;
      const card = newCard({ call: c, customer: null });
      card.receivedAt = 0;
      if (talking) {
        card.phase = "talking";
        card.answeredAt = Date.parse(c.answered_at || "") || Date.now();
      }
      addCard(card);
      if (!state.card || finished(state.card)) focusCard(card);
      if (c.customer_id) loadCustomer(card, c.customer_id);
    }
    renderCard();
  })();
  try { await reconciling; } finally { reconciling = null; }
  if (reconcileAgain) { reconcileAgain = false; return reconcile(); }
}

function disconnect() {
  clearTimeout(state.retryTimer);
  clearInterval(state.countdownTimer);
  clearInterval(state.pingTimer);
  clearTimeout(state.pongDeadline);
  if (state.ws) {
    const ws = state.ws;
    state.ws = null;
    ws.close();
  }
}

// ---------------------------------------------------------------- messages

const popTimes = [];  // ms from WebSocket message to the card painted, read by the tests
window.ringside = { popTimes };

function onMessage(m, received) {
  const id = m.call && m.call.id;
  const c = id ? findCard(id) : null;
  switch (m.type) {
    case "call.ringing": {
      // A replayed ring for a call a card already follows further adds nothing.
      if (c && c.phase !== "ringing") return;
      performance.mark("pop-received:" + id, { startTime: received });
      const card = newCard(m);
      if (c) Object.assign(c, card, { receivedAt: c.receivedAt });
      const shown = c || card;
      if (!c) addCard(card);
      // The call in progress and its wrap-up stay on screen: the new ring
      // waits beside it, one click away.
      if (!state.card || state.card === shown || !busy(state.card)) focusCard(shown);
      else renderCard();
      notifyRinging(shown);
      requestAnimationFrame(() => setTimeout(() => {
        const mk = performance.mark("pop-painted:" + id);
        popTimes.push(mk.startTime - received);
        performance.measure("pop-to-visible:" + id, "pop-received:" + id, "pop-painted:" + id);
        popShown(m);
      }, 0));
      return;
    }
    case "call.answered":
      if (!c) return;
      if (!m.agent || !state.me || m.agent === state.me.username) {
        c.phase = "talking";
        c.answeredAt = Date.parse((m.call && m.call.answered_at) || "") || Date.now();
        // Answered here: the agent talks to this caller now, so this card
        // shows, unless another call is in progress or they are typing on
        // the card on screen (that card waits beside, its draft kept).
        if (state.card !== c && (!state.card || (state.card.phase !== "talking" && !typingOnCard()))) return focusCard(c);
      } else {
        c.phase = "withdrawn";
        c.why = t("answeredBy", { a: m.agent });
        if (state.card !== c) return removeCard(c);
      }
      return renderCard();
    case "call.retracted":
      if (!c || c.phase === "talking" || c.phase === "ended") return;
      c.phase = "withdrawn";
      c.why = retractText(m);
      if (state.card !== c) return removeCard(c);
      return renderCard();
    case "dial.result": {
      // The outcome of a click-to-dial: shown on the card it was started from.
      const text = m.ok ? t("dialConnected", { n: m.number }) : t("dialFailed", { r: m.reason || "" });
      announce(text);
      if (state.card) { state.card.message = text; renderCard(); }
      return;
    }
    case "call.ended": {
      const rec = m.call || {};
      let card = c;
      if (!card) {
        // The end of a call no card follows (an outbound call the agent
        // dialled, a replay, one closed): a card for its outcome. It takes
        // the screen from an ended call waiting for its outcome (which stays
        // beside), never from a ring, a call in progress, a draft or typing.
        card = newCard({ call: rec, customer: null, open_issues: [], recent_interactions: [] });
        card.phase = "ended";
        card.record = rec;
        addCard(card);
        const cur = state.card;
        if (!cur || !(cur.phase === "ringing" || cur.phase === "talking" || hasDraft(cur) || typingOnCard())) focusCard(card);
        if (rec.customer_id) loadCustomer(card, rec.customer_id);
      } else {
        card.phase = "ended";
        card.record = rec;
        if (rec.answered_at) card.answeredAt = Date.parse(rec.answered_at);
      }
      renderCard();
      loadToday();
      const sel = document.querySelector("#card select[name=disposition]");
      if (state.card === card && sel && !document.activeElement.closest("#card form")) sel.focus({ preventScroll: true });
      return;
    }
    case "agent.state":
      if (typeof agentState !== "undefined") agentState.message(m);  // agent_state.js
      return;
    default:
      return;  // pong, error, and types this page does not know
  }
}

/// The receipt for a painted pop: the server measures ring-to-screen from it.
function popShown(m) {
  const ws = state.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN || typeof m.seq !== "number") return;
  ws.send(JSON.stringify({ type: "pop.shown", call_id: m.call.id, seq: m.seq }));
}

// ---------------------------------------------------------------- the cards

function typingOnCard() {
  const a = document.activeElement;
  return !!(a && a.closest && a.closest("#card form"));
}
function findCard(id) { return state.cards.find((c) => c.id === id) || null; }
function addCard(card) { if (!findCard(card.id)) state.cards.push(card); }

/// A card that must not be pushed off the screen: a call being talked on, an
/// ended call whose outcome is not saved, or one with a draft typed.
function busy(card) {
  if (card.phase === "talking") return true;
  if (card.phase === "ended" && !(card.record && card.record.disposition) && !savedMap()[card.id]) return true;
  return hasDraft(card);
}
/// Finished with: nothing left to do on it, so it goes when another takes the screen.
function finished(card) { return card.phase !== "ringing" && !busy(card); }

function focusCard(card) {
  const prev = state.card;
  if (prev && prev !== card && finished(prev)) state.cards = state.cards.filter((c) => c !== prev);
  addCard(card);
  state.card = card;
  renderCard();
}

/// Drops a card; when it was on screen the next one that needs the agent
/// takes its place (a ringing call first, then one being talked on).
function removeCard(card) {
  state.cards = state.cards.filter((c) => c !== card);
  if (state.card !== card) return renderCard();
  const rank = (c) => (c.phase === "ringing" ? 0 : c.phase === "talking" ? 1 : busy(c) ? 2 : 3);
  state.card = state.cards.slice().sort((a, b) => rank(a) - rank(b))[0] || null;
  renderCard();
}

/// The other calls, beside the card on screen: an incoming ring, the call
/// being talked on, an ended call waiting for its outcome. One click switches.
function renderOthers() {
  const box = $("others");
  const others = state.me ? state.cards.filter((c) => c !== state.card) : [];
  show(box, others.length > 0);
  if (!others.length) return box.replaceChildren();
  box.replaceChildren(h("h2", { class: "sr", text: t("otherCalls") }), ...others.map((c) => {
    const who = c.customer ? displayName(c.customer) : (c.call.from || c.call.from_raw || t("unknownCaller"));
    const note = c.phase === "ended" && busy(c) ? t("needsOutcome") : hasDraft(c) ? t("draftKept") : "";
    return h("div", { class: "other " + c.phase, "data-call-id": c.id, "data-phase": c.phase,
      role: c.phase === "ringing" ? "alert" : null },
      h("span", { class: "badge " + c.phase, text: c.phase === "ringing" ? t("incoming") : phaseBadge(c) }),
      h("bdi", { class: "other-who", text: who }),
      c.call.from && c.customer ? h("span", { class: "muted phone", dir: "ltr", text: c.call.from }) : null,
      note ? h("span", { class: "muted", text: note }) : null,
      h("button", { type: "button", class: "small switch", onclick: () => focusCard(c), text: t("switchTo") }));
  }));
}

function retractText(m) {
  switch (m.detail || m.reason) {
    case "answered_elsewhere": return t("answeredElsewhere");
    case "caller_hung_up": return t("callerHungUp");
    case "no_answer": return t("noAnswer");
    case "busy": return t("busy");
    case "rejected": return t("rejected");
    case "merged": return t("merged");
    default: return "";
  }
}

function newCard(m) {
  return {
    id: m.call.id,
    call: m.call,
    customer: m.customer || null,
    evaluation: m.evaluation || null,   // value score, quartile, complaints, ... (customer.js shows it)
    issues: Array.isArray(m.open_issues) ? m.open_issues : [],
    history: Array.isArray(m.recent_interactions) ? m.recent_interactions : [],
    transferredBy: m.transferred_by || null,
    transferNote: m.transfer_note || null,  // {by, disposition, notes} the transferring agent saved
    callsToday: callsToday(m),
    missedWaiting: !!m.missed_waiting,   // {id, at, status} of a missed call still owed a call-back
    phase: "ringing",       // ringing | talking | ended | withdrawn | past
    receivedAt: performance.now(),
    why: "",
    answeredAt: 0,
    record: null,           // the call record once known (ended or opened from history)
    message: "",            // last action's result
    editing: false,         // disposition being changed after it was saved
  };
}

/// How many times this number called today: the server's count when it sends
/// one, else the inbound calls in the recent history from today (+ this one).
function callsToday(m) {
  if (Number.isFinite(m.calls_today)) return m.calls_today;
  if (m.calls_today === null) return 0;  // the server says: not a phone number
  const midnight = new Date(); midnight.setHours(0, 0, 0, 0);
  const earlier = (m.recent_interactions || []).filter((i) =>
    i.channel === "call" && i.direction === "inbound" && Date.parse(i.at) >= midnight.getTime()).length;
  return earlier + 1;
}

function notifyRinging(card) {
  const who = card.customer ? displayName(card.customer) : (card.call.from || card.call.from_raw || t("unknownCaller"));
  announce(`${t("incoming")}: ${who}`);
  if (!document.hidden) return;
  document.title = `☎ ${who} · Ringside`;
  if ("Notification" in window && Notification.permission === "granted") {
    const n = new Notification(t("incoming"), { body: who, tag: card.id, requireInteraction: false });
    n.onclick = () => { window.focus(); n.close(); };
  }
  if ($("sound").checked) ring();
}
document.addEventListener("visibilitychange", () => { if (!document.hidden) document.title = "Ringside"; });

function ring() {
  try {
    const ac = new AudioContext(), o = ac.createOscillator(), g = ac.createGain();
    o.frequency.value = 660; g.gain.value = 0.08;
    o.connect(g).connect(ac.destination);
    o.start(); o.stop(ac.currentTime + 0.4);
    o.onended = () => ac.close();
  } catch { /* no audio here */ }
}

// ---------------------------------------------------------------- the card

function displayName(c) { return [c.salutation, c.name].filter(Boolean).join(" "); }

function greeting() {
  const hour = new Date().getHours();
  return t(hour < 12 ? "greetMorning" : hour < 17 ? "greetAfternoon" : "greetEvening");
}

/// The first sentence the agent says: follow up the newest unresolved problem,
/// or wish a happy birthday, or own up to repeated calls; else a plain greeting.
function firstLine(card) {
  const greet = greeting();
  const c = card.customer;
  if (!c) return t("unknownLine", { greet });
  const parts = (c.name || "").trim().split(/\s+/);
  const who = c.salutation ? `${c.salutation} ${parts[parts.length - 1]}` : c.name;
  const open = card.issues.filter((i) => (i.status || "open") === "open")
    .sort((a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at));
  if (open.length) return t("followUp", { greet, who, issue: open[0].title, age: fmtAge(open[0].opened_at) });
  const bd = c.birthday || c.birth_date;
  if (bd && /^\d{4}-\d{2}-\d{2}/.test(bd)) {
    const now = new Date();
    if (Number(bd.slice(5, 7)) === now.getMonth() + 1 && Number(bd.slice(8, 10)) === now.getDate()) return t("birthday", { greet, who });
  }
  if (card.callsToday >= 2) return t("repeatLine", { greet, who, n: num(card.callsToday) });
  return t("plainLine", { greet, who });
}

function matchText(card) {
  const call = card.call, c = card.customer;
  if (card.call.match && typeof card.call.match === "string") return card.call.match;
  if (!c) return "";
  const phones = c.phones || [];
  const hit = phones.find((p) => (typeof p === "string" ? p : p && p.number) === call.from);
  if (!hit) return phones.length ? t("matchedOther", { n: typeof phones[0] === "string" ? phones[0] : phones[0].number }) : "";
  if (call.from_raw && call.from_raw !== call.from) return t("matchedAs", { raw: call.from_raw });
  return t("matchedExact");
}

/// The card's Close (or Escape): it goes; the next call that needs the agent shows.
function clearCard() {
  if (state.card) return removeCard(state.card);
  renderCard();
}

function phaseBadge(card) {
  switch (card.phase) {
    case "ringing": return t("ringing");
    case "talking": return t("talking", { t: fmtClock((Date.now() - card.answeredAt) / 1000) });
    case "ended": return t("ended");
    case "withdrawn": return t("withdrawn");
    default: return t("past");
  }
}

function renderCard() {
  const el = $("card");
  clearInterval(state.tick);
  renderOthers();
  if (state.cards.some((c) => c.phase === "talking"))
    state.tick = setInterval(() => {
      if (state.card && state.card.phase === "talking" && $("card-state")) $("card-state").textContent = phaseBadge(state.card);
      for (const b of document.querySelectorAll("#others .other.talking .badge")) {
        const c = findCard(b.parentElement.dataset.callId);
        if (c) b.textContent = phaseBadge(c);
      }
    }, 1000);
  const card = state.card;
  show($("idle"), !card && !!state.me);
  if (!card) { el.replaceChildren(); show(el, false); delete el.dataset.callId; return; }
  // Keep what the agent is typing across a re-render (state changes, language)
  // of the same card; another card brings its own (its draft).
  const same = el.dataset.callId === card.id;
  const kept = {};
  if (same) for (const f of el.querySelectorAll("input, textarea, select")) if (f.name) kept[f.closest("form").dataset.form + "." + f.name] = f.value;
  const focused = same && document.activeElement && el.contains(document.activeElement) && document.activeElement.name
    ? document.activeElement.closest("form").dataset.form + "." + document.activeElement.name : null;

  const call = card.call, c = card.customer;
  const badge = h("span", { id: "card-state", class: "badge " + card.phase, "data-phase": card.phase, text: phaseBadge(card) });
  const head = h("div", { class: "pop-head" }, badge,
    card.why ? h("span", { class: "muted", id: "card-why", text: card.why }) : null,
    call.queue ? h("span", { class: "muted", text: t("queue", { q: call.queue }) +
      (Number.isFinite(call.queue_position) ? " · " + t("position", { n: num(call.queue_position) }) : "") }) : null,
    card.transferredBy ? h("span", { class: "muted", text: t("transferredBy", { a: card.transferredBy }) }) : null,
    card.transferNote && (card.transferNote.disposition || card.transferNote.notes)
      ? h("span", { class: "muted", id: "card-transfer-note", dir: "auto", text: t("transferNote", { a: card.transferNote.by,
          d: [card.transferNote.disposition ? dispositionLabel(card.transferNote.disposition) : "", card.transferNote.notes || ""].filter(Boolean).join(" — ") }) })
      : null,
    h("button", { type: "button", class: "link close", onclick: clearCard, "aria-label": t("close"), text: t("close") }));

  // <bdi>: the name keeps its own direction, the line keeps the page's alignment.
  const title = h("h2", { id: "card-title" }, h("bdi", { text: c ? displayName(c) : t("unknownCaller") }));
  const chips = h("p", { class: "chips" },
    c && c.tier ? h("span", { class: "tier " + c.tier, text: t(c.tier) }) : null,
    ...(c && Array.isArray(c.tags) ? c.tags.map((g) => h("span", { class: "tag", dir: "auto", text: g })) : []),
    c && c.company ? h("span", { class: "muted", dir: "auto", text: c.company }) : null);
  const phoneLine = h("p", { class: "phone-line" },
    h("span", { id: "card-phone", class: "phone", dir: "ltr", text: call.from || call.from_raw || "" }),
    c ? h("span", { class: "muted", id: "card-match", text: matchText(card) }) : null,
    !c && call.from_name ? h("span", { class: "muted", dir: "auto", text: t("callerId", { n: call.from_name }) }) : null);
  const dialNumber = cardNumber(card);
  if (dialNumber && card.phase !== "ringing" && card.phase !== "talking")
    phoneLine.append(h("button", { type: "button", class: "link", id: "card-call", "data-number": dialNumber,
      onclick: () => dial(dialNumber, c && c.id), text: t("callNumber") }));
  const flags = h("p", { class: "chips" },
    card.callsToday >= 2 ? h("span", { class: "flag", id: "card-repeat", text: t("calledToday", { n: num(card.callsToday) }) }) : null,
    card.missedWaiting ? h("span", { class: "flag", text: t("missedWaiting") }) : null);

  const say = card.phase === "ringing" || card.phase === "talking"
    ? h("div", { class: "say", id: "card-say" }, h("span", { class: "say-label", text: t("firstLine") }), h("p", { dir: "auto", text: firstLine(card) }))
    : null;

  const evaluation = c && typeof evaluationChips === "function" ? evaluationChips(card.evaluation ? card : c) : null;
  const parts = [head, title, phoneLine, chips, evaluation, flags, say];
  if (c) parts.push(h("div", { class: "cols" }, issuesSection(card), historySection(card)));
  else parts.push(h("p", { class: "muted", text: t("notInList") }), createForm(card));
  const disp = dispositionSection(card);
  if (disp) parts.push(disp);
  if (card.message) parts.push(h("p", { class: "muted", role: "status", text: card.message }));
  el.replaceChildren(...parts.filter(Boolean));
  el.dataset.callId = card.id;
  el.dataset.phase = card.phase;
  show(el, true);

  for (const f of el.querySelectorAll("input, textarea, select")) {
    const key = f.name && f.closest("form").dataset.form + "." + f.name;
    if (key && kept[key] !== undefined && f.type !== "hidden") f.value = kept[key];
    if (key && key === focused) f.focus({ preventScroll: true });
  }
}

function issuesSection(card) {
  const list = h("ul", { class: "list", id: "card-issues" });
  const open = card.issues.filter((i) => (i.status || "open") === "open");
  if (!open.length) list.append(h("li", { class: "muted", text: t("noIssues") }));
  for (const i of open) {
    list.append(h("li", { class: "issue" },
      h("span", { dir: "auto", class: "issue-title", text: i.title }),
      h("span", { class: "when", title: fmtDateTime(i.opened_at), text: t("openFor", { age: fmtAge(i.opened_at) }) }),
      h("button", { type: "button", class: "small", onclick: () => setIssue(card, i, "resolved"), text: t("resolve") })));
  }
  const form = h("form", { class: "inline-form", "data-form": "issue", onsubmit: (e) => addIssue(e, card) },
    h("label", {}, h("span", { text: t("issueTitle") }), h("input", { name: "title", required: true, maxlength: 200, dir: "auto" })),
    h("label", {}, h("span", { text: t("description") }), h("textarea", { name: "description", rows: 2, maxlength: 4000, dir: "auto" })),
    h("button", { type: "submit", text: t("addIssue") }));
  const details = h("details", { class: "new-issue" }, h("summary", { text: t("newIssue") }), form);
  return h("section", {}, h("h3", { text: t("openIssues") }), list, details);
}

function historySection(card) {
  const list = h("ul", { class: "list", id: "card-history" });
  if (!card.history.length) list.append(h("li", { class: "muted", text: t("noHistory") }));
  for (const i of card.history) {
    const outcome = i.disposition ? dispositionLabel(i.disposition) : i.status ? t("s_" + i.status) : "";
    list.append(h("li", {},
      h("span", { class: "kind", text: `${i.channel === "email" ? t("email_ch") : t("call")} ${i.direction === "outbound" ? "↗" : "↙"}` }),
      h("span", { dir: "auto", text: i.summary || "" }),
      outcome ? h("span", { class: "outcome", text: outcome }) : null,
      h("span", { class: "when", title: fmtDateTime(i.at), text: fmtAgo(i.at) })));
  }
  return h("section", {}, h("h3", { text: t("lastInteractions") }), list);
}

function createForm(card) {
  const number = card.call.from || card.call.from_raw || "";
  const tierSel = h("select", { name: "tier" }, h("option", { value: "", text: t("none") }),
    ...["gold", "silver", "bronze"].map((v) => h("option", { value: v, text: t(v) })));
  return h("form", { class: "create", id: "create-customer", "data-form": "create", onsubmit: (e) => createCustomer(e, card) },
    h("h3", { text: t("createCustomer") }),
    h("div", { class: "grid2" },
      h("label", {}, h("span", { text: t("salutation") }), h("input", { name: "salutation", maxlength: 50, dir: "auto" })),
      h("label", {}, h("span", { text: t("name") }), h("input", { name: "name", required: true, maxlength: 200, dir: "auto" })),
      h("label", {}, h("span", { text: t("phone") }), h("input", { name: "phone", required: true, value: number, dir: "ltr", inputmode: "tel" })),
      h("label", {}, h("span", { text: t("email") }), h("input", { name: "email", type: "email", maxlength: 254, dir: "ltr" })),
      h("label", {}, h("span", { text: t("tier") }), tierSel),
      h("label", {}, h("span", { text: t("tags") }), h("input", { name: "tags", dir: "auto" }))),
    h("button", { type: "submit", text: t("createCustomer") }));
}

function dispositionSection(card) {
  if (card.phase === "ringing" || card.phase === "withdrawn") return null;
  const rec = card.record || {};
  const savedHere = rec.disposition || savedMap()[card.id];
  if (savedHere && !card.editing) {
    return h("section", { class: "disposition done", id: "disposition-done" },
      h("h3", { text: t("afterCall") }),
      h("p", { id: "disposition-saved", text: (card.savedElsewhere ? t("savedElsewhere", { d: dispositionLabel(savedHere) }) : t("saved", { d: dispositionLabel(savedHere) })) }),
      rec.notes ? h("p", { class: "notes", id: "disposition-notes", dir: "auto", text: rec.notes }) : null,
      h("button", { type: "button", class: "link", onclick: () => { card.editing = true; renderCard(); }, text: t("change") }));
  }
  const sel = h("select", { name: "disposition", required: true }, h("option", { value: "", text: t("choose") }),
    ...DISPOSITIONS.map((d) => h("option", { value: d, text: t("d_" + d) })));
  if (savedHere) sel.value = savedHere;
  const notes = h("textarea", { name: "notes", rows: 3, maxlength: 4000, dir: "auto", "aria-describedby": "notes-hint" });
  // Changing a saved outcome starts from the saved notes; a draft beats both.
  notes.value = rec.notes || "";
  const draft = draftOf(card.id);
  if (draft) {
    if (draft.disposition) sel.value = draft.disposition;
    notes.value = draft.notes || "";
  }
  const form = h("form", { class: "disposition", id: "disposition", "data-form": "disp", onsubmit: (e) => saveDisposition(e, card),
    oninput: () => { keepDraft(card.id, sel.value, notes.value); renderOthers(); } },
    h("h3", { text: t("afterCall") }),
    h("label", {}, h("span", { text: t("outcome") }), sel),
    h("label", {}, h("span", { text: t("notes") }), notes),
    h("small", { id: "notes-hint", class: "muted", text: t("notesHint") }),
    h("button", { type: "submit", text: t("save") }));
  form.addEventListener("change", () => keepDraft(card.id, sel.value, notes.value));
  return form;
}

// ---------------------------------------------------------------- card actions

async function saveDisposition(e, card) {
  e.preventDefault();
  const f = e.target, button = f.querySelector("button[type=submit]");
  const disposition = f.disposition.value, notes = f.notes.value;
  button.disabled = true;
  card.message = t("saving");
  // One tab at a time per call (Web Locks), and never after another tab saved
  // it: two open consoles never log the same call twice.
  const run = async () => {
    if (!card.editing && savedMap()[card.id]) { card.savedElsewhere = true; return; }
    // What this card last saw: another device's save since then is a 409
    // from the server (tabs of this browser already know through the lock).
    const previous = ((card.record || card.call || {}).disposition) || "";
    const res = await api("POST", `/api/calls/${encodeURIComponent(card.id)}/disposition`, { disposition, notes, previous });
    if (res.status === 409) {
      const cur = await api("GET", `/api/calls/${encodeURIComponent(card.id)}`);
      if (cur.ok) { card.record = cur.data.call; card.savedElsewhere = true; card.editing = false; return; }
    }
    if (!res.ok) { card.message = t("couldNotSave", { m: errText(res) }); return; }
    card.record = res.data.call;
    card.editing = false;
    card.savedElsewhere = false;
    dropDraft(card.id);
    rememberSaved(card.id, res.data.call.disposition);
    if (channel) channel.postMessage({ type: "saved", user: state.me.username, call: res.data.call });
  };
  if (navigator.locks) await navigator.locks.request("ringside-disposition-" + card.id, run); else await run();
  if (card.message === t("saving")) card.message = "";
  renderCard();
  loadToday();
}

if (channel) channel.onmessage = (ev) => {
  const m = ev.data;
  if (!m || m.type !== "saved" || !state.me || m.user !== state.me.username) return;
  const c = findCard(m.call.id);
  if (c) { c.record = m.call; c.savedElsewhere = true; c.editing = false; dropDraft(c.id); renderCard(); }
  loadToday();
};

async function setIssue(card, issue, status) {
  const res = await api("PATCH", `/api/issues/${issue.id}`, { status });
  if (!res.ok) { card.message = t("failed", { m: errText(res) }); return renderCard(); }
  if (card.customer) await loadCustomer(card, card.customer.id);
  else { issue.status = status; renderCard(); }
}

async function addIssue(e, card) {
  e.preventDefault();
  const f = e.target;
  const res = await api("POST", `/api/customers/${card.customer.id}/issues`, { title: f.title.value, description: f.description.value });
  if (!res.ok) { card.message = t("failed", { m: errText(res) }); return renderCard(); }
  f.reset();
  await loadCustomer(card, card.customer.id);
}

async function createCustomer(e, card) {
  e.preventDefault();
  const f = e.target;
  const body = {
    name: f.name.value.trim(), salutation: f.salutation.value.trim() || undefined, phones: [f.phone.value.trim()],
    email: f.email.value.trim() || undefined, tier: f.tier.value || undefined,
    tags: f.tags.value.split(/[,،]/).map((s) => s.trim()).filter(Boolean),
  };
  const res = await api("POST", "/api/customers", body);
  if (!res.ok) { card.message = t("failed", { m: errText(res) }); return renderCard(); }
  card.message = t("created");
  await loadCustomer(card, res.data.id);
}

/// Fills the card with the customer's file as stored now.
async function loadCustomer(card, id) {
  const res = await api("GET", `/api/customers/${id}`);
  if (!res.ok) return;
  const { open_issues, recent_interactions, ...customer } = res.data;
  card.customer = customer;
  card.issues = open_issues || [];
  card.history = recent_interactions || [];
  state.names.set(customer.id, displayName(customer));
  renderCard();
  renderToday();
}

// ---------------------------------------------------------------- today's calls

async function loadToday() {
  if (!state.me) return;
  const midnight = new Date(); midnight.setHours(0, 0, 0, 0);
  const res = await api("GET", `/api/calls?since=${encodeURIComponent(midnight.toISOString())}&limit=200`);
  if (!res.ok) return;
  state.today = res.data.calls || [];
  renderToday();
  // Names for the list, a few at a time and once each.
  const missing = [...new Set(state.today.map((r) => r.customer_id).filter((id) => id && !state.names.has(id)))].slice(0, 20);
  await Promise.all(missing.map(async (id) => {
    const r = await api("GET", `/api/customers/${id}`);
    state.names.set(id, r.ok ? displayName(r.data) : "");
  }));
  if (missing.length) renderToday();
}
$("today-refresh").addEventListener("click", loadToday);

function renderToday() {
  const ol = $("today");
  if (!state.me) return ol.replaceChildren();
  if (!state.today.length) return ol.replaceChildren(h("li", { class: "muted", text: t("noCallsToday") }));
  ol.replaceChildren(...state.today.map((r) => {
    const who = (r.customer_id && state.names.get(r.customer_id)) || r.from || r.from_raw || "";
    const bits = [t("s_" + r.status)];
    if (r.talk_seconds) bits.push(t("duration", { t: fmtClock(r.talk_seconds) }));
    if (r.disposition) bits.push(dispositionLabel(r.disposition));
    const number = r.direction === "outbound" ? r.to : r.from;
    return h("li", {},
      h("button", { type: "button", class: "row", "data-call-id": r.id, onclick: () => openPast(r) },
        h("span", { class: "row-time", text: fmtDateTime(r.started_at, false) }),
        h("span", { class: "row-who" }, h("bdi", { text: who })),
        h("span", { class: "row-meta status-" + r.status, text: bits.join(" · ") })),
      number && /^\+\d{6,}$/.test(number) && r.direction !== "internal"
        ? h("button", { type: "button", class: "link row-call", "data-number": number, "aria-label": t("callNumberOf", { n: number }),
            onclick: () => { openPast(r); dial(number, r.customer_id); }, text: t("callNumber") })
        : null);
  }));
}

/// The number a card can call back: the customer on an inbound call, the
/// number dialled on an outbound one, else the customer's first phone.
function cardNumber(card) {
  const call = card.call || {};
  const n = call.direction === "outbound" ? call.to : call.direction === "internal" ? "" : call.from;
  if (n && /^\+\d{6,}$/.test(n)) return n;
  const phones = card.customer && Array.isArray(card.customer.phones) ? card.customer.phones : [];
  return phones[0] || "";
}

/// Click-to-dial: the server rings this agent's phone, then calls `number`.
async function dial(number, customerId) {
  const body = { number };
  if (customerId) body.customer_id = customerId;
  const res = await api("POST", "/api/calls/dial", body);
  const text = res.ok ? t("dialing", { n: number }) : t("dialFailed", { r: errText(res) });
  announce(text);
  if (state.card) { state.card.message = text; renderCard(); }
}

/// A past call on the card: its record, its customer, its disposition.
function openPast(r) {
  const open = findCard(r.id);
  if (open) {
    if (open.phase === "past") open.record = r;
    if (state.card === open) { renderCard(); return $("card").scrollIntoView(); }
    return focusCard(open);
  }
  const card = newCard({ call: r, customer: null });
  card.phase = "past";
  card.record = r;
  card.callsToday = 0;
  focusCard(card);
  if (r.customer_id) loadCustomer(card, r.customer_id);
  $("card-title").setAttribute("tabindex", "-1");
  $("card-title").focus();
}

document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && state.card && state.card.phase !== "ringing" && state.card.phase !== "talking" &&
      !e.target.closest("form")) clearCard();
});

start();
