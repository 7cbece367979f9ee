// The agent's own state in the console's bar: Ready, Not ready with a
// reason, or Wrap-up with its countdown (GET/PUT /api/agent/state, and the
// `agent.state` messages that app.js hands over). Loaded after app.js; uses
// $, api, h, t-style words and lang from common.js.
"use strict";

const agentState = (() => {
  const WORDS_STATE = {
    en: {
      stateLabel: "My state", ready: "Ready", notReady: "Not ready: {r}", wrapUp: "Wrap-up",
      wrapUpLeft: "Wrap-up {t}", since: "since {t}", stateFailed: "Could not change the state: {m}",
      r_break: "break", r_lunch: "lunch", r_training: "training", r_meeting: "meeting",
    },
    fa: {
      stateLabel: "وضعیت من", ready: "آماده", notReady: "ناآماده: {r}", wrapUp: "پس از تماس",
      wrapUpLeft: "پس از تماس {t}", since: "از {t}", stateFailed: "وضعیت تغییر نکرد: {m}",
      r_break: "استراحت", r_lunch: "ناهار", r_training: "آموزش", r_meeting: "جلسه",
    },
  };
  function w(key, vars) {
    let s = (WORDS_STATE[lang] && WORDS_STATE[lang][key]) || WORDS_STATE.en[key] || key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(String(v));
    return s;
  }
  function reasonName(r) { return WORDS_STATE.en["r_" + r] ? w("r_" + r) : r; }

  let me = null;          // username
  let current = null;     // {state, reason, since, wrap_up_until}
  let reasons = [];
  let skew = 0;           // server clock minus ours, ms
  let timer = null;

  const wrap = h("span", { id: "agent-state", class: "agent-state", hidden: true });
  const label = h("label", { class: "state-pick" });
  const labelText = h("span", { class: "sr" });
  const select = h("select", { id: "state-select", name: "agent-state" });
  const status = h("span", { id: "state-status", class: "state-status", role: "status", "aria-live": "polite" });
  const error = h("span", { id: "state-error", class: "error", role: "alert", hidden: true });
  label.append(labelText, select);
  wrap.append(label, status, error);
  const who = $("who");
  who.parentNode.insertBefore(wrap, who);

  function fill() {
    select.replaceChildren();
    select.append(h("option", { value: "ready", text: w("ready") }));
    for (const r of reasons) select.append(h("option", { value: "not_ready:" + r, text: w("notReady", { r: reasonName(r) }) }));
    select.append(h("option", { value: "wrap_up", text: w("wrapUp") }));
    if (current && current.state === "not_ready" && !reasons.includes(current.reason))
      select.append(h("option", { value: "not_ready:" + current.reason, text: w("notReady", { r: reasonName(current.reason) }) }));
    labelText.textContent = w("stateLabel");
  }

  function clock(ms) {
    const s = Math.max(0, Math.ceil(ms / 1000));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function render() {
    clearInterval(timer);
    timer = null;
    if (!current) return;
    select.value = current.state === "not_ready" ? "not_ready:" + current.reason : current.state;
    wrap.dataset.state = current.state;
    const paint = () => {
      const now = Date.now() + skew;
      if (current.state === "wrap_up" && current.wrap_up_until) {
        status.textContent = w("wrapUpLeft", { t: clock(Date.parse(current.wrap_up_until) - now) });
      } else {
        status.textContent = w("since", { t: clock(now - Date.parse(current.since)) });
      }
    };
    paint();
    timer = setInterval(paint, 1000);
  }

  async function load() {
    const r = await api("GET", "/api/agent/state");
    if (!r.ok || !me) return;
    reasons = r.data.reasons || [];
    if (r.data.server_time) skew = Date.parse(r.data.server_time) - Date.now();
    current = r.data;
    fill();
    render();
    wrap.hidden = false;
  }

  select.addEventListener("change", async () => {
    const [state, reason] = select.value.split(":");
    const body = reason ? { state, reason } : { state };
    error.hidden = true;
    const r = await api("PUT", "/api/agent/state", body);
    if (!r.ok) {
      error.textContent = w("stateFailed", { m: errText(r) });
      error.hidden = false;
      render();  // back to what the server says
      return;
    }
    current = r.data;
    render();
  });

  return {
    signedIn(user) { me = user.username; load(); },
    signedOut() { me = null; current = null; clearInterval(timer); wrap.hidden = true; },
    language() { if (current) { fill(); render(); } },
    /// An `agent.state` message: ours updates the bar.
    message(m) {
      if (!me || m.agent !== me) return;
      current = m;
      fill();
      render();
    },
    /// After a reconnect: the state may have changed while the socket was down.
    reload() { if (me) load(); },
  };
})();
