// A supervisor's day: the wallboard changes live while a call rings and is
// answered, the call log filters what calls replayed over AMI left, a call's
// timeline opens (with who hung up), the CSV export holds exactly the rows /api/calls lists,
// reports draw their charts, the view reads in Persian, and an agent is kept
// to their own calls by the API itself. Also: the phone-number filter in any
// format, the agent picker, calls in progress marked, outbound calls with the
// agent and the number dialled, the timeline in a side panel, the hour-of-day
// profile with every hour, tables folded under their charts, one date format,
// the icon, and Sign out.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { args, run, assert, assertIncludes, sleep } from "./lib.mjs";

const a = args();
let page, alicePage, aliceToken, answeredId, missedId, bobId;
const aliceFrames = [];

async function login(site, username, password) {
  const r = await fetch(site.base + "/api/login", {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username, password }),
  });
  assert(r.ok, `login ${username}: ${r.status}`);
  return (await r.json()).token;
}
const bearer = (token) => ({ headers: { authorization: "Bearer " + token } });

function parseCsv(text) {
  // RFC 4180 enough for the export: quoted fields with doubled quotes, CRLF rows.
  const rows = [];
  let row = [], field = "", q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (ch === '"') q = false; else field += ch;
    } else if (ch === '"') q = true;
    else if (ch === ",") { row.push(field); field = ""; }
    else if (ch === "\r") { /* CRLF */ }
    else if (ch === "\n") { row.push(field); rows.push(row); row = []; field = ""; }
    else field += ch;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

await run("supervisor", a, [
  ["the console links a supervisor to the supervisor view, which opens on the wallboard", async (site) => {
    page = await site.page();
    await site.signIn(page, "supervisor", "supervisor-demo");
    await page.waitForSelector("#supervisor-link:not([hidden])");
    await page.click("#supervisor-link");
    await page.waitForSelector("#wallboard:not([hidden])");
    await page.waitForSelector('#conn[data-state="connected"]');
    await page.waitForSelector('#agents li[data-agent="alice"][data-state="offline"]');
  }],
  ["an agent comes online and the board shows her available, pushed without a reload", async (site) => {
    aliceToken = await login(site, "alice", "agent-demo");
    // Alice's console on another host name: its own cookie jar, so both stay signed in.
    alicePage = await site.browser.newPage();
    alicePage.on("websocket", (ws) => ws.on("framereceived", (f) => {
      try { aliceFrames.push(JSON.parse(String(f.payload)).type); } catch { /* not JSON */ }
    }));
    await alicePage.goto(`http://localhost:${site.port}/`);
    await site.signIn(alicePage, "alice", "agent-demo");
    await page.bringToFront();
    await page.waitForSelector('#agents li[data-agent="alice"][data-state="available"]', { timeout: 5000 });
  }],
  ["a call rings at alice: the board shows it ringing with a wait timer, then talking, then gone and counted", async (site) => {
    const offered = Number((await (await page.request.get(site.base + "/api/wallboard")).json()).figures.offered);
    answeredId = await site.call("0912 123 4567", ["1001"], "answered", 3500, 2500);
    const row = `#live-calls tr[data-call-id="${answeredId}"]`;
    await page.waitForSelector(`${row}[data-status="ringing"]`, { timeout: 5000 });
    await page.waitForSelector('#agents li[data-agent="alice"][data-state="ringing"]');
    // The page's timer ticks every second; on a loaded machine a tick can
    // come late, so wait for the change rather than for a fixed time.
    const w1 = await page.textContent(`${row} td.wait`);
    const counted = await page.waitForFunction(([sel, before]) => {
      const cell = document.querySelector(sel);
      return cell && cell.textContent !== before;
    }, [`${row} td.wait`, w1], { timeout: 3000 }).then(() => true, () => false);
    assert(counted, "the wait time counts up: " + w1);
    assertIncludes(await page.textContent(row), "+989121234567", "the caller's number");
    // The matched customer by name and tier; a gold caller still ringing stands out.
    await page.waitForSelector(`${row}[data-tier="gold"].vip-waiting`, { timeout: 5000 });
    assertIncludes(await page.textContent(`${row} .who`), "Sara Ahmadi", "the customer's name");
    // Meanwhile the call log (another tab) marks the call as in progress.
    const logPage = await site.browser.newPage();
    await logPage.goto(site.base + "/supervisor.html#log");
    const liveRow = `#log-rows tr[data-call-id="${answeredId}"]`;
    await logPage.waitForSelector(`${liveRow}.live [data-live]`, { timeout: 5000 });
    assertIncludes(await logPage.textContent(`${liveRow} td.status`), "in progress", "marked in progress");
    await logPage.close();
    await page.bringToFront();
    await page.screenshot({ path: path.join(a.artifacts, "supervisor-wallboard.png"), fullPage: true });
    await page.waitForSelector(`${row}[data-status="answered"]`, { timeout: 6000 });
    await page.waitForSelector('#agents li[data-agent="alice"][data-state="on_call"]');
    await page.waitForSelector(row, { state: "detached", timeout: 8000 });
    await page.waitForFunction((n) => Number(document.querySelector("#fig-offered").textContent.replace(/\D/g, "")) >= n + 1,
      offered, { timeout: 5000 });
  }],
  ["more calls are replayed over AMI: one missed, one answered by bob", async (site) => {
    missedId = await site.call("09131234567", ["1001", "1002"], "caller_cancels", 1500, 0);
    bobId = await site.call("09127890123", ["1001", "1002"], "answered", 1500, 1000, 1);
    // Both final in the log (within a second of their end), and off the board.
    for (let end = Date.now() + 15000; ; await sleep(200)) {
      const calls = (await (await page.request.get(site.base + "/api/calls?limit=50")).json()).calls;
      const done = [missedId, bobId].every((id) => calls.some((c) => c.id === id && c.ended_at));
      if (done) break;
      assert(Date.now() < end, "both calls ended and logged");
    }
    await page.waitForFunction((ids) => ids.every((id) => !document.querySelector(`#live-calls tr[data-call-id="${id}"]`)),
      [missedId, bobId], { timeout: 5000 });
  }],
  ["an outbound call dialled by alice shows alice and the number she dialled", async (site) => {
    const outbound = async () => (await (await page.request.get(site.base + "/api/calls?direction=outbound&limit=1000")).json()).calls;
    const before = new Set((await outbound()).map((c) => c.id));
    const r = await fetch(site.base + "/api/calls/dial", { method: "POST",
      headers: { ...bearer(aliceToken).headers, "content-type": "application/json" }, body: JSON.stringify({ number: "0912 123 4567" }) });
    assert(r.status === 202, "dial accepted: " + r.status);
    let out;
    for (let end = Date.now() + 15000; ; await sleep(200)) {
      out = (await outbound()).find((c) => !before.has(c.id) && c.ended_at);
      if (out) break;
      assert(Date.now() < end, "alice's outbound call in the log");
    }
    await page.click('a[data-tab="log"]');
    await page.waitForSelector("#log:not([hidden])");
    await page.selectOption("#filters select[name=direction]", "outbound");
    await page.click("#filters button[type=submit]");
    const cell = `#log-rows tr[data-call-id="${out.id}"] td.party`;
    await page.waitForSelector(cell);
    const text = await page.textContent(cell);
    assertIncludes(text, "alice", "the agent who dialled");
    assertIncludes(text, "+989121234567", "the customer's number dialled");
    await page.selectOption("#filters select[name=direction]", "");
    await page.click("#filters button[type=submit]");
  }],
  ["the call log filters by status and direction and pages by cursor", async (site) => {
    await page.click('a[data-tab="log"]');
    await page.waitForSelector("#log:not([hidden])");
    await page.waitForSelector(`#log-rows tr[data-call-id="${answeredId}"]`);
    await page.selectOption("#filters select[name=status]", "missed");
    await page.selectOption("#filters select[name=direction]", "inbound");
    await page.click("#filters button[type=submit]");
    await page.waitForSelector(`#log-rows tr[data-call-id="${missedId}"]`);
    // The missed call is in the unfiltered list too, which an earlier
    // search may still be painting: wait until the filtered answer is shown.
    const api = (await (await page.request.get(site.base + "/api/calls?status=missed&direction=inbound&limit=50")).json()).calls;
    let shown;
    for (let end = Date.now() + 10000; ; await sleep(100)) {
      shown = await page.$$eval("#log-rows tr", (trs) => trs.map((t) => t.dataset.callId));
      if (JSON.stringify(shown) === JSON.stringify(api.map((c) => c.id)) || Date.now() > end) break;
    }
    assert(JSON.stringify(shown) === JSON.stringify(api.map((c) => c.id)), `the page lists what the API does: ${shown} vs ${api.map((c) => c.id)}`);
    assert(api.every((c) => c.status === "missed" && c.direction === "inbound"), "only missed inbound calls");
    // Keyset paging over every call, one at a time, visits each exactly once.
    const all = (await (await page.request.get(site.base + "/api/calls?limit=1000")).json()).calls.map((c) => c.id);
    const seen = [];
    let after = "";
    for (;;) {
      const r = await (await page.request.get(site.base + "/api/calls?limit=2" + (after ? "&after=" + encodeURIComponent(after) : ""))).json();
      seen.push(...r.calls.map((c) => c.id));
      if (!r.next_cursor) break;
      after = r.next_cursor;
    }
    assert(JSON.stringify(seen) === JSON.stringify(all), "cursor pages cover the log in order");
    const bad = await page.request.get(site.base + "/api/calls?direction=sideways");
    assert(bad.status() === 400, "a bad direction is a 400");
    assertIncludes((await bad.json()).message, "direction", "the 400 names the parameter");
  }],
  ["the phone filter takes a number in any format and finds the calls from it", async (site) => {
    const want = (await (await page.request.get(site.base + "/api/calls?limit=1000")).json()).calls
      .filter((c) => c.from === "+989131234567" || c.to === "+989131234567").map((c) => c.id);
    assert(want.includes(missedId) && !want.includes(bobId), "the missed call is from that number: " + want);
    for (const typed of ["0913 123 4567", "+98 (913) 123-4567", "۰۹۱۳۱۲۳۴۵۶۷", "00989131234567"]) {
      const api = (await (await page.request.get(site.base + "/api/calls?phone=" + encodeURIComponent(typed))).json()).calls;
      assert(JSON.stringify(api.map((c) => c.id)) === JSON.stringify(want), `phone=${typed}: ${api.map((c) => c.id)}`);
    }
    await page.selectOption("#filters select[name=status]", "");
    await page.selectOption("#filters select[name=direction]", "");
    await page.fill("#filters input[name=phone]", "0913-123-4567");
    await page.click("#filters button[type=submit]");
    await page.waitForFunction((ids) => JSON.stringify([...document.querySelectorAll("#log-rows tr")].map((r) => r.dataset.callId)) === ids,
      JSON.stringify(want), { timeout: 5000 });
    const bad = await page.request.get(site.base + "/api/calls?phone=" + encodeURIComponent("call me"));
    assert(bad.status() === 400, "words are not a phone number: " + bad.status());
    await page.fill("#filters input[name=phone]", "");
    await page.click("#filters button[type=submit]");
    await page.waitForSelector(`#log-rows tr[data-call-id="${bobId}"]`);
  }],
  ["a call's timeline shows where it rang, for how long, who answered, and links the customer", async () => {
    await page.selectOption("#filters select[name=status]", "");
    await page.selectOption("#filters select[name=direction]", "");
    await page.click("#filters button[type=submit]");
    await page.click(`#log-rows tr[data-call-id="${bobId}"]`);
    await page.waitForSelector(`#detail[data-call-id="${bobId}"]:not([hidden])`);
    // A panel at the side, beside the rows (not below them), with the row marked.
    const [panel, table] = await Promise.all([page.locator("#detail").boundingBox(), page.locator("#log-rows").boundingBox()]);
    assert(panel.y < table.y + table.height && panel.x > table.x, `beside the table: ${JSON.stringify([panel, table])}`);
    assert((await page.$$(`#log-rows tr.selected[data-call-id="${bobId}"]`)).length === 1, "the open call's row is marked");
    const rang = await page.$$eval('#timeline li[data-event="rang"]', (lis) => lis.map((l) => l.textContent));
    assert(rang.length === 2, "rang at both phones: " + rang);
    assert(rang.some((r) => r.includes("alice (1001)")) && rang.some((r) => r.includes("bob (1002)")), "both named: " + rang);
    assertIncludes(await page.textContent('#timeline li[data-event="answered"]'), "bob", "bob answered");
    assertIncludes(await page.textContent('#timeline li[data-event="ended"]'), "answered", "ended answered");
    // The simulated Asterisk says (HangupRequest on the trunk) that the caller hung up.
    assertIncludes(await page.textContent('#timeline li[data-event="ended"]'), "the caller hung up first", "hang-up side");
    await page.click(`#log-rows tr[data-call-id="${answeredId}"]`);
    await page.waitForSelector(`#detail[data-call-id="${answeredId}"] #detail-customer`);
    assertIncludes(await page.textContent("#detail-customer"), "Sara Ahmadi", "the customer is linked");
    await page.screenshot({ path: path.join(a.artifacts, "supervisor-call-detail.png"), fullPage: true });
    await page.click("#detail-close");
    await page.waitForSelector("#detail", { state: "hidden" });
  }],
  ["dates read the same on every page: the shared format of the console", async (site) => {
    const c = (await (await page.request.get(site.base + "/api/calls?limit=1")).json()).calls[0];
    const cell = await page.textContent(`#log-rows tr[data-call-id="${c.id}"] td`);
    const expected = await page.evaluate((iso) => new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)), c.started_at);
    assert(cell === expected, `the log's date ${cell} is ${expected}`);
  }],
  ["the CSV export of the filtered view holds exactly the rows /api/calls lists", async (site) => {
    const agents = await page.$$eval("#filters select[name=agent] option", (os) => os.map((o) => o.value));
    assert(["", "alice", "bob"].every((u) => agents.includes(u)), "the picker lists the users: " + agents);
    await page.selectOption("#filters select[name=agent]", "alice");
    await page.click("#filters button[type=submit]");
    await page.waitForFunction(() => [...document.querySelectorAll("#log-rows tr")].length > 0);
    const href = await page.getAttribute("#export", "href");
    assertIncludes(href, "agent=alice", "the export link carries the filter");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
    const fs = await import("node:fs/promises");
    const csv = parseCsv(await fs.readFile(await download.path(), "utf8"));
    const header = csv[0], idCol = header.indexOf("id");
    assert(idCol >= 0, "id column: " + header);
    const api = (await (await page.request.get(site.base + "/api/calls?agent=alice&limit=1000")).json()).calls;
    assert(JSON.stringify(csv.slice(1).map((r) => r[idCol])) === JSON.stringify(api.map((c) => c.id)),
      `CSV rows = API rows: ${csv.slice(1).map((r) => r[idCol])} vs ${api.map((c) => c.id)}`);
    assert(api.length >= 1 && api.every((c) => c.agent === "alice"), "alice's calls");
    await page.selectOption("#filters select[name=agent]", "");
    const statusCol = header.indexOf("status");
    assert(csv.slice(1).every((r, i) => r[statusCol] === api[i].status), "same statuses");
    // Who exported what and when is in the audit log (read with the sqlite3 shell, read-only).
    const audit = execFileSync("sqlite3", ["-readonly", "-separator", "|", site.db,
      "SELECT actor, detail, at FROM audit_log WHERE action = 'calls.export' ORDER BY id DESC LIMIT 1"]).toString().trim();
    const [actor, detail, at] = audit.split("|");
    assert(actor === "supervisor", "the exporter: " + audit);
    assert(JSON.parse(detail).agent === "alice", "the filter: " + detail);
    assert(Math.abs(Date.now() - Number(at)) < 60000, "when: " + at);
  }],
  ["reports draw charts with a table below; Persian reads right to left with Solar Hijri dates", async () => {
    await page.click('a[data-tab="reports"]');
    await page.waitForSelector("#reports:not([hidden])");
    await page.waitForFunction(() => document.querySelectorAll("#table-hourly tbody tr").length > 0);
    assert(await page.isHidden("#no-charts"), "Chart.js is served, so no missing-charts note");
    assert(await page.evaluate(() => typeof window.Chart === "function" && !!Chart.getChart(document.getElementById("chart-hourly"))),
      "the hourly chart is drawn");
    assert((await page.$$("#table-agents tbody tr")).length >= 2, "alice and bob in the agent table");
    // The hour-of-day profile: 24 hours, the empty ones as zeros, the same counts as the hourly buckets.
    const rep = await page.evaluate(() => state.report);
    assert(rep.hour_of_day.length === 24 && rep.hour_of_day.every((b, i) => b.hour === i), "hours 0-23");
    const total = (bs) => bs.reduce((n, b) => n + b.answered + b.missed + b.abandoned + b.other, 0);
    assert(total(rep.hour_of_day) === total(rep.hourly) && total(rep.hourly) >= 4, `same calls: ${total(rep.hour_of_day)} vs ${total(rep.hourly)}`);
    const tehran = Number(new Intl.DateTimeFormat("en-GB", { hour: "numeric", hourCycle: "h23", timeZone: "Asia/Tehran" }).format(new Date()));
    const busy = rep.hour_of_day.filter((b) => total([b]) > 0).map((b) => b.hour);
    assert(busy.includes(tehran) || busy.includes((tehran + 23) % 24), `today's calls in this hour of Tehran (${tehran}): ${busy}`);
    assert(await page.evaluate(() => !!Chart.getChart(document.getElementById("chart-hour-of-day"))), "the hour-of-day chart is drawn");
    assert((await page.$$("#table-hour-of-day tbody tr")).length === 24, "24 rows in its table");
    // Tables are folded under their charts until asked for.
    assert(await page.isHidden("#table-hour-of-day"), "the table is folded");
    await page.click("#table-hour-of-day >> xpath=.. >> summary");
    assert(await page.isVisible("#table-hour-of-day"), "and opens");
    await page.screenshot({ path: path.join(a.artifacts, "supervisor-reports.png"), fullPage: true });
    await page.selectOption("#lang", "fa");
    assert((await page.getAttribute("html", "dir")) === "rtl", "right to left");
    assertIncludes(await page.textContent("#rep-title"), "گزارش", "Persian title");
    const day = await page.textContent("#table-daily tbody tr td");
    assert(/[۰-۹]/.test(day) && /۱۴۰۵/.test(day), "a Solar Hijri date in Persian digits: " + day);
    assertIncludes(await page.textContent("th[data-i18n=agent]"), "کارشناس", "one Persian word for agent");
    await page.screenshot({ path: path.join(a.artifacts, "supervisor-reports-fa.png"), fullPage: true });
    await page.selectOption("#lang", "en");
  }],
  ["an agent sees only their own calls, and none of the supervisor endpoints", async (site) => {
    const mine = await (await fetch(site.base + "/api/calls?limit=1000&agent=bob", bearer(aliceToken))).json();
    assert(mine.calls.length >= 1 && mine.calls.every((c) => c.agent === "alice"), "agent=bob is ignored for an agent");
    const other = await fetch(site.base + "/api/calls/" + encodeURIComponent(bobId), bearer(aliceToken));
    assert(other.status === 404, "bob's call is not alice's to open: " + other.status);
    const own = await fetch(site.base + "/api/calls/" + encodeURIComponent(answeredId), bearer(aliceToken));
    assert(own.status === 200, "her own call opens");
    for (const p of ["/api/wallboard", "/api/calls.csv", "/api/reports?since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z"]) {
      const r = await fetch(site.base + p, bearer(aliceToken));
      assert(r.status === 403, `${p} is forbidden to agents: ${r.status}`);
    }
    // The agent's console got her pops all along, and never a board message.
    assert(aliceFrames.includes("call.ringing"), "alice's console popped: " + aliceFrames);
    assert(aliceFrames.every((t) => !String(t).startsWith("board.")), "no board.* to an agent: " + aliceFrames);
  }],
  ["the icon is served and Sign out ends the session", async (site) => {
    const ico = await site.get("/favicon.ico");
    assert(ico.status === 200 && ico.headers["content-type"] === "image/x-icon", `favicon.ico: ${ico.status} ${ico.headers["content-type"]}`);
    const svg = await site.get("/favicon.svg");
    assert(svg.status === 200 && svg.body.includes("<svg"), "favicon.svg: " + svg.status);
    await page.click("#logout");
    await page.waitForSelector("#login:not([hidden])");
    const me = await page.request.get(site.base + "/api/me");
    assert(me.status() === 401, "signed out: " + me.status());
  }],
]);
