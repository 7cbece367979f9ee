// Helpers every page of the console shares: element lookup, the JSON API call,
// the small element builder and the language. Loaded before each page's own script.
"use strict";

const $ = (id) => document.getElementById(id);

// One HTTP call to Ringside's API. Never throws: a network failure comes back
// as status 0 with the browser's message, so callers have one shape to check.
async function api(method, path, body) {
  try {
    const res = await fetch(path, {
      method, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    let data = null;
    try { data = await res.json(); } catch { /* empty body */ }
    return { ok: res.ok, status: res.status, data, headers: res.headers };
  } catch (e) {
    return { ok: false, status: 0, data: { message: String(e.message || e) } };
  }
}
// A server too busy to take the request now (503 or 429: the sign-in queue
// is full, too many connections or sockets, a rate limit) gets one clear
// sentence on every page. A 503 that names what is missing (no PBX link, the
// company directory unreachable) keeps the server's own sentence.
const BUSY_TEXT = {
  en: "The server is busy, try again in a few seconds.",
  fa: "سرور مشغول است؛ چند ثانیه دیگر دوباره امتحان کنید.",
};
const NAMED_UNAVAILABLE = ["pbx_unavailable", "directory_unavailable", "unavailable"];
function isBusy(res) {
  return (res.status === 503 || res.status === 429) && !(res.data && NAMED_UNAVAILABLE.includes(res.data.error));
}
function busyText() { return BUSY_TEXT[lang] || BUSY_TEXT.en; }
function errText(res) {
  if (isBusy(res)) return busyText();
  return (res.data && res.data.message) || `HTTP ${res.status}`;
}

// h("button", {class: "x", onclick: fn, text: "Go"}, child...): attributes that
// are null/undefined/false are left out; on* become listeners.
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined && k !== false) e.append(k);
  return e;
}

// The page's language, one setting for the console, admin and supervisor
// pages. Each page has its own WORDS table ({en: {...}, fa: {...}}), which t()
// reads: English when a key has no translation, the key itself when neither has it.
const LANG_KEY = "ringside.lang";  // localStorage
let lang = localStorage.getItem(LANG_KEY) || ((navigator.language || "").startsWith("fa") ? "fa" : "en");
function t(key, vars) {
  let s = (WORDS[lang] && WORDS[lang][key]) || WORDS.en[key] || key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
  return s;
}
function locale() { return lang === "fa" ? "fa-IR-u-ca-persian" : "en-GB"; }

// One way to write a moment on every page: medium date and short time in the
// page's language and calendar (Solar Hijri in Persian), as the agent console
// writes them. fmtTime is the time of day alone, to the second, for timelines
// where the day is already said.
function fmtWhen(iso) {
  const d = new Date(iso);
  return iso && !Number.isNaN(d.getTime()) ? new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(d) : "";
}
function fmtTime(iso) {
  const d = new Date(iso);
  return iso && !Number.isNaN(d.getTime()) ? new Intl.DateTimeFormat(locale(), { timeStyle: "medium" }).format(d) : "";
}

// Sign out from any page: ends the session on the server (its sockets close
// too) and goes back to the sign-in form of the console.
async function signOut() {
  await api("POST", "/api/logout");
  location.assign("/");
}
