// Ringside console: the customer file. A search box (name in any script,
// number in any format, email), a customer's file with its evaluation and
// timeline, editing its fields, adding a note or visit; for supervisors and
// admins, exporting everything held on the person and erasing it on request. Loaded after app.js
// and uses its helpers (api, h, t's language, num, fmtDateTime); app.js calls
// customerFile.signedIn/signedOut/language and evaluationChips(card).
"use strict";

const CWORDS = {
  en: {
    customers: "Customers", search: "Search customers", searchHint: "Name, number or email",
    noResults: "No customer found.", back: "Back to results", save: "Save", saved: "Saved.",
    timeline: "Timeline", addEntry: "Add to the timeline", note: "Note", visit: "Visit", email: "Email", sms: "SMS",
    call: "Call", add: "Add", added: "Added.", empty: "Nothing yet.",
    f_name: "Name", f_salutation: "Salutation", f_email: "Email", f_company: "Company", f_tier: "Tier",
    f_tags: "Tags (comma separated)", f_birthday: "Birthday", f_preferred_channel: "Preferred channel",
    f_contact_time: "Best time to call", f_notes: "Notes",
    score: "Value {s}/10", segment: "Quartile {q}", complaints: "{n} complaints", since: "Customer for {d} days",
    lastContact: "Last contact {when}: {what}", lead: "Lead", removed: "Removed",
    scoreComputed: "Computed from contacts, orders and open issues", scoreSet: "Set by a supervisor",
    exportData: "Export data", exported: "Downloaded {file}: everything held on this person.",
    exportFailed: "Export failed: {m}", erase: "Erase personal data", erasedTag: "Erased",
    eraseReason: "Why is this person's data erased? (required, kept in the audit log)",
    eraseWarning: "Name, numbers, email, notes and the text of calls, history and issues are removed for good. Times, durations and outcomes stay for the reports.",
    eraseGo: "Erase for good", cancel: "Cancel",
    eraseConfirm: "Erase the personal data of {name} for good? This cannot be undone.",
    eraseFailed: "Erasure failed: {m}",
    erasedReport: "Personal data erased: {calls} calls, {interactions} history entries, {issues} issues and {audit} audit entries anonymised; {pops} held pops dropped.",
  },
  fa: {
    customers: "مشتریان", search: "جستجوی مشتری", searchHint: "نام، شماره یا ایمیل",
    noResults: "مشتری‌ای پیدا نشد.", back: "بازگشت به نتایج", save: "ذخیره", saved: "ذخیره شد.",
    timeline: "سوابق", addEntry: "افزودن به سوابق", note: "یادداشت", visit: "مراجعه", email: "ایمیل", sms: "پیامک",
    call: "تماس", add: "افزودن", added: "افزوده شد.", empty: "هنوز چیزی نیست.",
    f_name: "نام", f_salutation: "عنوان", f_email: "ایمیل", f_company: "شرکت", f_tier: "سطح",
    f_tags: "برچسب‌ها (با ویرگول)", f_birthday: "تاریخ تولد", f_preferred_channel: "راه ارتباطی ترجیحی",
    f_contact_time: "بهترین زمان تماس", f_notes: "یادداشت‌ها",
    score: "ارزش {s} از ۱۰", segment: "چارک {q}", complaints: "{n} شکایت", since: "{d} روز مشتری",
    lastContact: "آخرین ارتباط {when}: {what}", lead: "سرنخ", removed: "حذف‌شده",
    scoreComputed: "محاسبه‌شده از تماس‌ها، خریدها و مشکلات باز", scoreSet: "تعیین‌شده توسط سرپرست",
    exportData: "خروجی داده‌ها", exported: "{file} دریافت شد: هرچه از این شخص نگهداری می‌شود.",
    exportFailed: "خروجی گرفته نشد: {m}", erase: "پاک کردن داده‌های شخصی", erasedTag: "پاک‌شده",
    eraseReason: "چرا داده‌های این شخص پاک می‌شود؟ (الزامی، در گزارش ممیزی می‌ماند)",
    eraseWarning: "نام، شماره‌ها، ایمیل، یادداشت‌ها و متن تماس‌ها، سوابق و مشکلات برای همیشه پاک می‌شوند. زمان‌ها، مدت‌ها و نتیجه‌ها برای گزارش‌ها می‌مانند.",
    eraseGo: "پاک کردن برای همیشه", cancel: "انصراف",
    eraseConfirm: "داده‌های شخصی {name} برای همیشه پاک شود؟ این کار برگشت‌پذیر نیست.",
    eraseFailed: "پاک کردن انجام نشد: {m}",
    erasedReport: "داده‌های شخصی پاک شد: {calls} تماس، {interactions} سابقه، {issues} مشکل و {audit} ردیف ممیزی ناشناس شد؛ {pops} پیام نگه‌داشته حذف شد.",
  },
};

function ct(key, vars) {
  let s = (CWORDS[lang] && CWORDS[lang][key]) || CWORDS.en[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.replace(`{${k}}`, v);
  return s;
}

/// The evaluation as chips, for the pop card and the file.
function evaluationChips(source) {
  const ev = source && (source.evaluation || (source.customer && source.customer.evaluation));
  if (!ev) return null;
  const last = ev.last_contact;
  return h("p", { class: "chips evaluation", id: "card-evaluation" },
    ev.value_score ? h("span", { class: "tag score", text: ct("score", { s: num(ev.value_score) }),
      title: ct(ev.value_score_source === "computed" ? "scoreComputed" : "scoreSet") }) : null,
    ev.value_quartile ? h("span", { class: "tag", text: ct("segment", { q: num(ev.value_quartile) }) }) : null,
    ev.complaints ? h("span", { class: "flag", text: ct("complaints", { n: num(ev.complaints) }) }) : null,
    h("span", { class: "muted", text: ct("since", { d: num(ev.relationship_days || 0) }) }),
    last ? h("span", { class: "muted", text: ct("lastContact", { when: fmtDateTime(last.at), what: last.outcome || ct(last.channel) }) }) : null);
}

const customerFile = (() => {
  const st = { open: false, results: [], file: null, timeline: [], message: "", query: "", erasing: false };
  let panel = null, button = null;

  function ensure() {
    if (panel) return;
    button = h("button", { type: "button", class: "link", id: "customers-toggle", onclick: toggle });
    $("who").before(button);
    panel = h("section", { id: "customers", class: "card customers", hidden: true, "aria-labelledby": "customers-title" });
    $("console").before(panel);
  }

  function toggle() { st.open = !st.open; render(); if (st.open) panel.querySelector("input[type=search]").focus(); }

  async function search(q) {
    st.query = q;
    if (!q.trim()) { st.results = []; render(); return; }
    const res = await api("GET", "/api/customers?limit=20&q=" + encodeURIComponent(q));
    if (st.query !== q) return;  // a newer search is on its way
    st.results = res.ok ? res.data.customers : [];
    st.message = res.ok ? "" : errText(res);
    render();
  }

  async function open(id, message = "") {
    const [file, tl] = await Promise.all([api("GET", `/api/customers/${id}`), api("GET", `/api/customers/${id}/timeline?limit=50`)]);
    if (!file.ok) { st.message = errText(file); render(); return; }
    st.file = file.data;
    st.erasing = false;
    st.timeline = tl.ok ? tl.data.interactions : [];
    st.message = message;
    render();
  }

  async function save(e) {
    e.preventDefault();
    const f = e.target, c = st.file;
    const body = {};
    for (const k of ["name", "salutation", "email", "company", "birthday", "preferred_channel", "contact_time", "notes"]) {
      const v = f[k].value.trim();
      if (v !== (c[k] || "")) body[k] = v;
    }
    const tags = f.tags.value.split(/[,،]/).map((s) => s.trim()).filter(Boolean);
    if (tags.join(",") !== (c.tags || []).join(",")) body.tags = tags;
    if (f.tier.value !== (c.tier || "")) body.tier = f.tier.value;
    const res = await api("PATCH", `/api/customers/${c.id}`, body);
    if (res.ok) await open(c.id, ct("saved")); else { st.message = errText(res); render(); }
  }

  async function addEntry(e) {
    e.preventDefault();
    const f = e.target;
    const res = await api("POST", `/api/customers/${st.file.id}/interactions`, { channel: f.channel.value, summary: f.summary.value });
    if (res.ok) await open(st.file.id, ct("added")); else { st.message = errText(res); render(); }
  }

  // Supervisors and admins: everything held on the person as a JSON file
  // (the server writes the export to the audit log), and the erasure on request.
  function mayManageData() { return typeof state !== "undefined" && state.me && ["supervisor", "admin"].includes(state.me.role); }

  async function exportData() {
    const id = st.file.id;
    const res = await api("GET", `/api/customers/${id}/export`);
    if (!res.ok) { st.message = ct("exportFailed", { m: errText(res) }); return render(); }
    const named = /filename="([^"]+)"/.exec((res.headers && res.headers.get("Content-Disposition")) || "");
    const file = named ? named[1] : `customer-${id}.json`;
    const url = URL.createObjectURL(new Blob([JSON.stringify(res.data, null, 2)], { type: "application/json" }));
    const link = h("a", { href: url, download: file, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    st.message = ct("exported", { file });
    render();
  }

  async function erase(e) {
    e.preventDefault();
    const c = st.file, reason = e.target.reason.value.trim();
    if (!reason) return;
    if (!confirm(ct("eraseConfirm", { name: [c.salutation, c.name].filter(Boolean).join(" ") }))) return;
    const button = e.target.querySelector("button[type=submit]");
    button.disabled = true;
    const res = await api("POST", `/api/customers/${c.id}/erase`, { reason });
    button.disabled = false;
    if (!res.ok) { st.message = ct("eraseFailed", { m: errText(res) }); return render(); }
    const n = res.data.erased;
    if (typeof loadToday === "function") loadToday();  // app.js: today's calls no longer name the person
    await open(c.id, ct("erasedReport", { calls: num(n.calls), interactions: num(n.interactions), issues: num(n.issues),
      audit: num(n.audit_entries), pops: num(n.held_pops) }));
  }

  /// The buttons (and the erasure's form while it is open), as a list of elements.
  function dataActions() {
    if (!mayManageData()) return [];
    const bar = h("p", { class: "actions", id: "customer-data" },
      h("button", { type: "button", class: "small", id: "customer-export", onclick: exportData, text: ct("exportData") }),
      h("button", { type: "button", class: "small danger", id: "customer-erase-open", "aria-expanded": String(st.erasing),
        onclick: () => { st.erasing = !st.erasing; render(); if (st.erasing) panel.querySelector("#customer-erase textarea").focus(); },
        text: ct("erase") }));
    if (!st.erasing) return [bar];
    return [bar, h("form", { class: "grid erase", id: "customer-erase", onsubmit: erase },
      h("label", {}, h("span", { text: ct("eraseReason") }),
        h("textarea", { name: "reason", dir: "auto", rows: 2, required: true, maxlength: 500 })),
      h("p", { class: "muted", text: ct("eraseWarning") }),
      h("p", { class: "actions" },
        h("button", { type: "submit", class: "danger", id: "customer-erase-go", text: ct("eraseGo") }),
        h("button", { type: "button", class: "link", onclick: () => { st.erasing = false; render(); }, text: ct("cancel") })))];
  }

  function field(name, value, attrs = {}) {
    return h("label", {}, h("span", { text: ct("f_" + name) }),
      attrs.multiline ? h("textarea", { name, dir: "auto", rows: 3, text: value || "" })
        : h("input", { name, dir: attrs.dir || "auto", type: attrs.type || "text", value: value || "" }));
  }

  function fileView() {
    const c = st.file;
    const tierSel = h("select", { name: "tier" }, h("option", { value: "", text: t("none") }),
      ...["gold", "silver", "bronze"].concat(c.tier && !["gold", "silver", "bronze"].includes(c.tier) ? [c.tier] : [])
        .map((x) => h("option", { value: x, text: t(x), selected: x === c.tier })));
    const chanSel = h("select", { name: "preferred_channel" }, h("option", { value: "", text: t("none") }),
      ...["phone", "sms", "email", "visit"].map((x) => h("option", { value: x, text: ct(x === "phone" ? "call" : x), selected: x === c.preferred_channel })));
    const form = h("form", { class: "grid", id: "customer-edit", onsubmit: save },
      field("name", c.name), field("salutation", c.salutation), field("email", c.email, { dir: "ltr", type: "email" }),
      field("company", c.company),
      h("label", {}, h("span", { text: ct("f_tier") }), tierSel),
      field("tags", (c.tags || []).join(", ")),
      field("birthday", c.birthday, { type: "date", dir: "ltr" }),
      h("label", {}, h("span", { text: ct("f_preferred_channel") }), chanSel),
      field("contact_time", c.contact_time), field("notes", c.notes, { multiline: true }),
      h("button", { type: "submit", text: ct("save") }));
    const entry = h("form", { class: "grid", id: "customer-entry", onsubmit: addEntry },
      h("label", {}, h("span", { text: ct("addEntry") }),
        h("select", { name: "channel" }, ...["note", "visit", "email", "sms", "call"].map((x) => h("option", { value: x, text: ct(x) })))),
      h("textarea", { name: "summary", dir: "auto", rows: 2, required: true, "aria-label": ct("addEntry") }),
      h("button", { type: "submit", text: ct("add") }));
    const tl = h("ol", { class: "timeline", id: "customer-timeline" },
      ...(st.timeline.length ? st.timeline.map((i) => h("li", {},
        h("span", { class: "muted", text: fmtDateTime(i.at) + " · " + ct(i.channel) + (i.agent ? " · " + i.agent : "") }),
        h("p", { dir: "auto", text: i.summary || i.disposition || i.status || "" })))
        : [h("li", { class: "muted", text: ct("empty") })]));
    return [
      h("button", { type: "button", class: "link", id: "customer-back", onclick: () => { st.file = null; render(); }, text: ct("back") }),
      h("h2", { id: "customer-name" }, h("bdi", { text: [c.salutation, c.name].filter(Boolean).join(" ") })),
      h("p", { class: "chips" },
        ...(c.phones || []).map((p) => h("span", { class: "phone", dir: "ltr", text: p })),
        c.kind === "lead" ? h("span", { class: "tag", text: ct("lead") }) : null,
        c.status === "removed" && !c.erased_at ? h("span", { class: "flag", text: ct("removed") }) : null,
        c.erased_at ? h("span", { class: "flag", id: "customer-erased", text: ct("erasedTag") }) : null),
      evaluationChips(c),
      ...dataActions(),
      h("div", { class: "cols" }, form, h("div", {}, h("h3", { text: ct("timeline") }), entry, tl)),
    ];
  }

  function render() {
    ensure();
    button.textContent = ct("customers");
    button.setAttribute("aria-expanded", String(st.open));
    show(panel, st.open);
    if (!st.open) return;
    const kept = panel.querySelector("input[type=search]");
    const box = h("input", { type: "search", id: "customer-search", dir: "auto", placeholder: ct("searchHint"),
      "aria-label": ct("search"), value: st.query, oninput: (e) => search(e.target.value) });
    const parts = [h("h2", { id: "customers-title", class: "sr", text: ct("customers") }), box];
    if (st.message) parts.push(h("p", { class: "muted", role: "status", id: "customer-message", text: st.message }));
    if (st.file) parts.push(...fileView());
    else if (st.query.trim()) {
      parts.push(st.results.length
        ? h("ul", { class: "results", id: "customer-results" }, ...st.results.map((c) => h("li", {},
            h("button", { type: "button", class: "link", onclick: () => open(c.id) }, h("bdi", { text: [c.salutation, c.name].filter(Boolean).join(" ") })),
            h("span", { class: "muted", dir: "ltr", text: " " + (c.phones || [])[0] || "" }))))
        : h("p", { class: "muted", text: ct("noResults") }));
    }
    const hadFocus = kept && document.activeElement === kept;
    panel.replaceChildren(...parts);
    if (hadFocus || (!st.file && st.open)) { box.focus(); box.setSelectionRange(box.value.length, box.value.length); }
  }

  return {
    signedIn() {
      ensure(); show(button, true); render();
      // A link from elsewhere (the supervisors' call detail) opens one file: /#customer=ID
      const m = /^#customer=(\d+)$/.exec(location.hash);
      if (m) { st.open = true; open(Number(m[1])); }
    },
    signedOut() { ensure(); st.open = false; st.file = null; st.results = []; st.query = ""; show(button, false); render(); },
    language() { if (panel) render(); },
  };
})();

// app.js may have signed in before this file ran.
if (typeof state !== "undefined" && state.me) customerFile.signedIn();
