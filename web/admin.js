// The administrator's page: PBX connections with live state, test / enable /
// disable / add; users (create, disable, reset password, role, extension);
// the audit log, newest first, paged. English and Persian like the console.
"use strict";

const POLL_MS = 2000;

const WORDS = {
  en: {
    skip: "Skip to the content", title: "Administration", console: "Agent console", language: "Language",
    pbxTitle: "PBX connections", colId: "Id", colType: "Type", colWhere: "Where", colState: "State",
    colLastEvent: "Last event", colRate: "Events/s", colReconnects: "Reconnects", colError: "Last error",
    colActions: "Actions", addPbx: "Add a PBX connection", fId: "Id", fType: "Type", fHost: "Host", fPort: "Port",
    fUsername: "AMI username", fSecret: "Secret", fPassword: "Password", fPath: "URL path", add: "Add and connect",
    usersTitle: "Users", colUser: "Username", colName: "Name", colRole: "Role", colExt: "Extension", colStatus: "Status",
    addUser: "Add a user", create: "Create", auditTitle: "Audit log", colWhen: "When", colActor: "Who",
    colAction: "Action", colDetail: "Detail", older: "Older entries",
    r_agent: "Agent", r_supervisor: "Supervisor", r_admin: "Administrator",
    s_connected: "Connected", s_connecting: "Connecting", s_reconnecting: "Reconnecting", s_login_refused: "Login refused",
    s_stopped: "Stopped", s_disabled: "Disabled", s_unsupported: "Not supported", s_listening: "Listening",
    fromConfig: "config file", fromDb: "added here", test: "Test connection", testing: "Testing…",
    enable: "Enable", disable: "Disable", never: "never", active: "Active", userDisabled: "Disabled",
    resetPassword: "Reset password", newPassword: "New password for {u} (at least 8 characters):",
    newExtension: "Extension for {u} (empty to clear):", changeExt: "Change extension",
    testOk: "{id}: {msg}", testBad: "{id}: {msg}", added: "Connection {id} added.",
    needAdmin: "This page is for administrators.", signInFirst: "Sign in on the agent console first.",
    passwordDone: "Password of {u} changed; their sessions ended.", saved: "Saved.",
    edit: "Edit", remove: "Remove", editPbx: "Change connection {id}", save: "Save and reconnect", cancel: "Cancel",
    keepSecret: "empty keeps the stored one", removeConfirm: "Remove PBX connection {id}? Its calls stay in the log.",
    changed: "Connection {id} changed.", removed: "Connection {id} removed.",
    signOut: "Sign out", roleConfirm: "Make {u} {role}? This changes what they may see and do at their next request.",
    sipNote: "A SIP connection listens on an address of this server (UDP and TCP), so it is set in the configuration file: a [[pbx]] table with type = \"sip\" and listen = \"0.0.0.0:5060\", then a restart. It is then listed here with its state.",
  },
  fa: {
    skip: "رفتن به محتوا", title: "مدیریت", console: "کنسول کارشناس", language: "زبان",
    pbxTitle: "اتصال‌های مرکز تلفن", colId: "شناسه", colType: "نوع", colWhere: "نشانی", colState: "وضعیت",
    colLastEvent: "آخرین رویداد", colRate: "رویداد در ثانیه", colReconnects: "اتصال دوباره", colError: "آخرین خطا",
    colActions: "کارها", addPbx: "افزودن اتصال مرکز تلفن", fId: "شناسه", fType: "نوع", fHost: "میزبان", fPort: "درگاه",
    fUsername: "نام کاربری AMI", fSecret: "رمز مشترک", fPassword: "گذرواژه", fPath: "مسیر نشانی", add: "افزودن و اتصال",
    usersTitle: "کاربران", colUser: "نام کاربری", colName: "نام", colRole: "نقش", colExt: "داخلی", colStatus: "حالت",
    addUser: "افزودن کاربر", create: "ساختن", auditTitle: "گزارش ممیزی", colWhen: "زمان", colActor: "کاربر",
    colAction: "کار", colDetail: "جزئیات", older: "موارد قدیمی‌تر",
    r_agent: "کارشناس", r_supervisor: "سرپرست", r_admin: "مدیر",
    s_connected: "وصل", s_connecting: "در حال اتصال", s_reconnecting: "اتصال دوباره", s_login_refused: "ورود رد شد",
    s_stopped: "متوقف", s_disabled: "غیرفعال", s_unsupported: "پشتیبانی نمی‌شود", s_listening: "در انتظار",
    fromConfig: "فایل پیکربندی", fromDb: "افزوده در اینجا", test: "آزمایش اتصال", testing: "در حال آزمایش…",
    enable: "فعال کردن", disable: "غیرفعال کردن", never: "هرگز", active: "فعال", userDisabled: "غیرفعال",
    resetPassword: "گذرواژهٔ تازه", newPassword: "گذرواژهٔ تازه برای {u} (دست‌کم ۸ نویسه):",
    newExtension: "داخلی {u} (خالی برای برداشتن):", changeExt: "تغییر داخلی",
    testOk: "{id}: {msg}", testBad: "{id}: {msg}", added: "اتصال {id} افزوده شد.",
    needAdmin: "این صفحه برای مدیران است.", signInFirst: "نخست در کنسول کارشناس وارد شوید.",
    passwordDone: "گذرواژهٔ {u} عوض شد و نشست‌هایش بسته شد.", saved: "ذخیره شد.",
    edit: "ویرایش", remove: "حذف", editPbx: "تغییر اتصال {id}", save: "ذخیره و اتصال دوباره", cancel: "انصراف",
    keepSecret: "خالی: همان رمز ذخیره‌شده می‌ماند", removeConfirm: "اتصال {id} حذف شود؟ تماس‌هایش در گزارش می‌مانند.",
    changed: "اتصال {id} تغییر کرد.", removed: "اتصال {id} حذف شد.",
    signOut: "خروج", roleConfirm: "نقش {u} «{role}» شود؟ از درخواست بعدی او، آنچه می‌بیند و می‌کند تغییر می‌کند.",
    sipNote: "اتصال SIP روی نشانی‌ای از همین سرور (UDP و TCP) گوش می‌دهد، پس در فایل پیکربندی تعریف می‌شود: جدول [[pbx]] با type = \"sip\" و listen = \"0.0.0.0:5060\" و سپس راه‌اندازی دوباره. پس از آن با وضعیتش در اینجا دیده می‌شود.",
  },
};

function num(n) { return new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(n); }
function when(iso) { return iso ? fmtWhen(iso) : t("never"); }

function verdict(el, ok, text) {
  el.textContent = text;
  el.className = "verdict " + (ok ? "ok" : "bad");
  el.hidden = false;
}

// ---------------------------------------------------------------- PBX connections

let connections = [];

function renderPbx() {
  const rows = connections.map((c) => {
    const where = c.path || (c.host ? `${c.host}:${c.port}` : c.listen || "");
    const state = c.type === "webhook" && c.state === "connected" ? "listening" : c.state;
    return h("tr", { "data-id": c.id },
      h("td", {}, h("bdi", { text: c.id }), h("span", { class: "tag", text: c.read_only ? t("fromConfig") : t("fromDb") })),
      h("td", { text: c.type }),
      h("td", { dir: "ltr", text: where }),
      h("td", {}, h("span", { class: `state ${c.state}`, "data-state": c.state, text: t("s_" + state) })),
      h("td", { text: when(c.last_event_at) }),
      h("td", { text: num(c.events_per_second) }),
      h("td", { text: num(c.reconnects) }),
      h("td", { class: "err", dir: "auto", text: c.last_error || "" }),
      h("td", {}, h("div", { class: "actions" },
        h("button", { type: "button", class: "small", "data-action": "test", onclick: () => testPbx(c.id), text: t("test") }),
        h("button", { type: "button", class: "small", "data-action": c.enabled ? "disable" : "enable",
                      onclick: () => enablePbx(c.id, !c.enabled), text: c.enabled ? t("disable") : t("enable") }),
        c.read_only ? null : h("button", { type: "button", class: "small", "data-action": "edit",
                                          onclick: () => editPbx(c), text: t("edit") }),
        c.read_only ? null : h("button", { type: "button", class: "small danger", "data-action": "remove",
                                          onclick: () => removePbx(c.id), text: t("remove") }))));
  });
  $("pbx-rows").replaceChildren(...rows);
}

async function loadPbx() {
  const res = await api("GET", "/api/admin/pbx");
  if (!res.ok) return;
  connections = res.data.connections;
  renderPbx();
}

async function testPbx(id) {
  const box = $("pbx-verdict");
  box.textContent = t("testing");
  box.className = "verdict";
  box.hidden = false;
  const res = await api("POST", `/api/admin/pbx/${encodeURIComponent(id)}/test`);
  if (!res.ok) return verdict(box, false, errText(res));
  verdict(box, res.data.ok, t(res.data.ok ? "testOk" : "testBad", { id, msg: res.data.message }));
}

async function enablePbx(id, enabled) {
  const res = await api("PATCH", `/api/admin/pbx/${encodeURIComponent(id)}`, { enabled });
  if (!res.ok) return verdict($("pbx-verdict"), false, errText(res));
  await Promise.all([loadPbx(), loadAudit(true)]);
}

// Editing reuses the add form: id and type are fixed, secrets are never
// shown, and an empty secret keeps the stored one.
let editing = null;

function setEditing(c) {
  const f = $("pbx-add");
  editing = c ? c.id : null;
  f.id.readOnly = !!c;
  f.type.disabled = !!c;
  f.querySelector("button[type=submit]").textContent = c ? t("save") : t("add");
  $("pbx-edit-cancel").hidden = !c;
  $("pbx-add-box").querySelector("summary").textContent = c ? t("editPbx", { id: c.id }) : t("addPbx");
  for (const name of ["secret", "password"]) f[name].placeholder = c ? t("keepSecret") : "";
  if (!c) { f.reset(); showFieldsFor(f.type.value); }
}

function editPbx(c) {
  const f = $("pbx-add");
  f.reset();
  f.id.value = c.id;
  f.type.value = c.type;
  if (c.host) f.host.value = c.host;
  if (c.port) f.port.value = c.port;
  if (c.username) f.username.value = c.username;
  if (c.path) f.path.value = c.path;
  showFieldsFor(c.type);
  setEditing(c);
  $("pbx-add-error").hidden = true;
  $("pbx-add-box").open = true;
  f.host.focus();
}

async function removePbx(id) {
  if (!confirm(t("removeConfirm", { id }))) return;
  const res = await api("DELETE", `/api/admin/pbx/${encodeURIComponent(id)}`);
  verdict($("pbx-verdict"), res.ok, res.ok ? t("removed", { id }) : errText(res));
  if (res.ok && editing === id) setEditing(null);
  await Promise.all([loadPbx(), loadAudit(true)]);
}

$("pbx-edit-cancel").addEventListener("click", () => setEditing(null));

function showFieldsFor(type) {
  const f = $("pbx-add");
  for (const l of f.querySelectorAll("[data-for]")) l.hidden = !l.dataset.for.split(" ").includes(type);
  // SIP links come from the configuration file only (see the note): nothing to submit here.
  f.querySelector("button[type=submit]").disabled = type === "sip";
}
$("pbx-add").type.addEventListener("change", (e) => showFieldsFor(e.target.value));

$("pbx-add").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target, type = f.type.value;
  const body = { id: f.id.value.trim(), type };
  if (type !== "webhook") {
    body.host = f.host.value.trim();
    if (f.port.value) body.port = Number(f.port.value);
  }
  if (type === "asterisk-ami") { body.username = f.username.value; body.secret = f.secret.value; }
  if (type === "freeswitch-esl") body.password = f.password.value;
  if (type === "webhook") { body.path = f.path.value.trim(); body.secret = f.secret.value; }
  const wasEditing = editing;
  let res;
  if (wasEditing) {
    delete body.id;
    delete body.type;
    res = await api("PATCH", `/api/admin/pbx/${encodeURIComponent(wasEditing)}`, body);
  } else {
    res = await api("POST", "/api/admin/pbx", body);
  }
  const err = $("pbx-add-error");
  if (!res.ok) { err.textContent = errText(res); err.hidden = false; return; }
  err.hidden = true;
  if (wasEditing) setEditing(null);
  else { f.reset(); showFieldsFor(f.type.value); }
  verdict($("pbx-verdict"), true, t(wasEditing ? "changed" : "added", { id: wasEditing || body.id }));
  await Promise.all([loadPbx(), loadAudit(true)]);
});

// ---------------------------------------------------------------- users

let users = [];

function renderUsers() {
  const rows = users.map((u) => h("tr", { "data-user": u.username },
    h("td", { dir: "ltr", text: u.username }),
    h("td", {}, h("bdi", { text: u.name })),
    h("td", {}, h("select", { "aria-label": t("colRole"), onchange: (e) => changeRole(u, e.target) },
      ...["agent", "supervisor", "admin"].map((r) => h("option", { value: r, selected: u.role === r, text: t("r_" + r) })))),
    h("td", { dir: "ltr", text: u.extension || "" }),
    h("td", { text: u.disabled ? t("userDisabled") : t("active") }),
    h("td", {}, h("div", { class: "actions" },
      h("button", { type: "button", class: "small", onclick: () => patchUser(u.username, { disabled: !u.disabled }),
                    text: u.disabled ? t("enable") : t("disable") }),
      h("button", { type: "button", class: "small", onclick: () => changeExtension(u), text: t("changeExt") }),
      h("button", { type: "button", class: "small", onclick: () => resetPassword(u.username), text: t("resetPassword") })))));
  $("user-rows").replaceChildren(...rows);
}

async function loadUsers() {
  const res = await api("GET", "/api/admin/users");
  if (!res.ok) return;
  users = res.data.users;
  renderUsers();
}

async function patchUser(username, change) {
  const res = await api("PATCH", `/api/admin/users/${encodeURIComponent(username)}`, change);
  if (!res.ok) verdict($("user-verdict"), false, errText(res));
  else verdict($("user-verdict"), true, t("saved"));
  await Promise.all([loadUsers(), loadAudit(true)]);
}

/// A role decides what a user may see and do: asked once before it is applied;
/// declined, the dropdown shows the stored role again.
async function changeRole(u, select) {
  const role = select.value;
  if (!confirm(t("roleConfirm", { u: u.username, role: t("r_" + role) }))) { select.value = u.role; return; }
  await patchUser(u.username, { role });
}

async function changeExtension(u) {
  const ext = prompt(t("newExtension", { u: u.username }), u.extension || "");
  if (ext === null) return;
  await patchUser(u.username, { extension: ext.trim() || null });
}

async function resetPassword(username) {
  const password = prompt(t("newPassword", { u: username }));
  if (!password) return;
  const res = await api("POST", `/api/admin/users/${encodeURIComponent(username)}/password`, { password });
  verdict($("user-verdict"), res.ok, res.ok ? t("passwordDone", { u: username }) : errText(res));
  await loadAudit(true);
}

$("user-add").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = e.target;
  const body = { username: f.username.value.trim(), role: f.role.value, password: f.password.value };
  if (f.name.value.trim()) body.name = f.name.value.trim();
  if (f.extension.value.trim()) body.extension = f.extension.value.trim();
  const res = await api("POST", "/api/admin/users", body);
  const err = $("user-add-error");
  if (!res.ok) { err.textContent = errText(res); err.hidden = false; return; }
  err.hidden = true;
  f.reset();
  await Promise.all([loadUsers(), loadAudit(true)]);
});

// ---------------------------------------------------------------- audit log

let audit = [], nextBefore = null;

async function loadAudit(fresh) {
  const q = fresh || nextBefore === null ? "" : `&before=${nextBefore}`;
  const res = await api("GET", `/api/admin/audit?limit=50${q}`);
  if (!res.ok) return;
  audit = fresh ? res.data.entries : audit.concat(res.data.entries);
  nextBefore = res.data.next_before;
  $("audit-more").hidden = nextBefore === null;
  $("audit-rows").replaceChildren(...audit.map((a) => h("tr", { "data-action": a.action },
    h("td", { text: when(a.at) }), h("td", { dir: "ltr", text: a.actor }), h("td", { dir: "ltr", text: a.action }),
    h("td", { class: "detail", dir: "ltr", text: a.detail }))));
}
$("audit-more").addEventListener("click", () => loadAudit(false));

// ---------------------------------------------------------------- start

function applyLanguage() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === "fa" ? "rtl" : "ltr";
  $("lang").value = lang;
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  renderPbx();
  renderUsers();
}
$("logout").addEventListener("click", () => signOut());
$("lang").addEventListener("change", (e) => {
  lang = e.target.value;
  localStorage.setItem(LANG_KEY, lang);
  applyLanguage();
  loadAudit(true);
});

async function start() {
  applyLanguage();
  showFieldsFor($("pbx-add").type.value);
  const me = await api("GET", "/api/me");
  const gate = $("gate");
  if (!me.ok || me.data.user.role !== "admin") {
    gate.textContent = "";
    gate.append(me.ok ? t("needAdmin") : h("a", { href: "/", text: t("signInFirst") }));
    gate.hidden = false;
    return;
  }
  $("who").textContent = me.data.user.name || me.data.user.username;
  $("who").hidden = false;
  $("logout").hidden = false;
  $("panes").hidden = false;
  await Promise.all([loadPbx(), loadUsers(), loadAudit(true)]);
  setInterval(loadPbx, POLL_MS);
}
start();
