// Helpers every page of the console shares: element lookup, the JSON API call
// and the small element builder. Loaded before each page's own script.
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
function errText(res) { return (res.data && res.data.message) || `HTTP ${res.status}`; }

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
