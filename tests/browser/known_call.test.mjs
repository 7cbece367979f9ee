// A known customer calls: the card shows who it is and what to say before the
// agent answers, follows the call to its end, and the disposition lands in
// /api/calls with the card number masked; two tabs never log it twice.
import path from "node:path";
import { args, run, assert, assertIncludes, sleep } from "./lib.mjs";

const a = args();
let page, tab2, callId, popMs = [];

await run("known caller", a, [
  ["an agent signs in; a second tab of the same agent is open too", async (site) => {
    page = await site.page();
    await site.signIn(page);
    tab2 = await site.browser.newPage();
    await tab2.goto(site.base + "/");
    await tab2.waitForSelector('#conn[data-state="connected"]');
    await page.bringToFront();
  }],
  ["Sara Ahmadi rings: name, tier, open issue and the first line show before answer", async (site) => {
    callId = await site.call("0912 123 4567", ["1001"], "answered", 4000, 3000);
    await page.waitForSelector(`#card[data-call-id="${callId}"][data-phase="ringing"]`, { timeout: 5000 });
    const text = await page.textContent("#card");
    assertIncludes(text, "Ms. Sara Ahmadi", "name with salutation");
    assertIncludes(text, "Refund not received", "open issue");
    assertIncludes(await page.textContent("#card-issues .when"), "open 3 days", "issue age");
    assertIncludes(await page.textContent("#card-say"), "Refund not received", "first line to say");
    assertIncludes(await page.textContent("#card-say"), "Ms. Ahmadi", "first line addresses the customer");
    assertIncludes(await page.textContent("#card-phone"), "+989121234567", "the number the call came from");
    assertIncludes(await page.textContent("#card-match"), "0912 123 4567", "how it matched");
    assertIncludes(text, "gold", "tier");
    assertIncludes(text, "vip", "tags");
    assert((await page.$$("#card-history li")).length >= 1, "last interactions listed");
    await page.screenshot({ path: path.join(a.artifacts, "card-ringing-known.png") });
    popMs = await page.evaluate(() => window.ringside.popTimes.slice());
    assert(popMs.length === 1, "one pop measured");
    const m = await page.evaluate(() => performance.getEntriesByType("paint").map((p) => [p.name, p.startTime]));
    console.log(`# pop-to-visible: ${popMs.map((x) => x.toFixed(1)).join(", ")} ms; first paint: ${JSON.stringify(m)}`);
  }],
  ["the card follows the call: talking with a timer, then ended", async () => {
    await page.waitForSelector('#card[data-phase="talking"]', { timeout: 8000 });
    const t1 = await page.textContent("#card-state");
    assert(/Talking \d\d:\d\d/.test(t1), "talk timer: " + t1);
    await sleep(1200);
    assert((await page.textContent("#card-state")) !== t1, "the timer moves");
    await page.waitForSelector('#card[data-phase="ended"]', { timeout: 8000 });
    await page.waitForSelector("#disposition select[name=disposition]");
  }],
  ["the agent saves a disposition; notes show masked; /api/calls has it; the other tab does not save again", async (site) => {
    await tab2.waitForSelector('#card[data-phase="ended"] #disposition');
    await page.selectOption("#disposition select[name=disposition]", "resolved");
    await page.fill("#disposition textarea[name=notes]", "Refund confirmed; paid with card 4111 1111 1111 1111.");
    await page.click("#disposition button[type=submit]");
    await page.waitForSelector("#disposition-saved");
    const notes = await page.textContent("#disposition-notes");
    assert(!notes.includes("4111 1111 1111 1111"), "card number masked on screen: " + notes);
    assertIncludes(notes, "1111", "the last digits stay");
    const res = await page.request.get(site.base + "/api/calls?limit=10");
    const rec = (await res.json()).calls.find((c) => c.id === callId);
    assert(rec && rec.disposition === "resolved", "disposition in /api/calls: " + JSON.stringify(rec));
    assert(!rec.notes.includes("4111 1111 1111 1111"), "stored masked");
    await tab2.waitForSelector("#disposition-saved");
    assertIncludes(await tab2.textContent("#disposition-saved"), "another tab", "second tab knows");
    await page.waitForSelector(`#today button[data-call-id="${callId}"]`);
    assertIncludes(await page.textContent(`#today button[data-call-id="${callId}"]`), "Resolved", "today's list");
  }],
  ["from the card the agent opens a new issue and resolves the old one", async (site) => {
    await page.click(".new-issue summary");
    await page.fill(".new-issue input[name=title]", "Wants a paper invoice");
    await page.click(".new-issue button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#card-issues").textContent.includes("Wants a paper invoice"));
    const refund = page.locator("#card-issues li", { hasText: "Refund not received" });
    await refund.locator("button").click();
    await page.waitForFunction(() => !document.querySelector("#card-issues").textContent.includes("Refund not received"));
    const found = await (await page.request.get(site.base + "/api/customers?phone=09121234567")).json();
    const ctx = await (await page.request.get(site.base + "/api/customers/" + found.customers[0].id)).json();
    const titles = ctx.open_issues.map((i) => i.title);
    assert(titles.includes("Wants a paper invoice") && !titles.includes("Refund not received"), "issues stored: " + titles);
  }],
  ["a past call opens from today's list with its customer", async () => {
    await page.click("#card .close");
    await page.click(`#today button[data-call-id="${callId}"]`);
    await page.waitForSelector('#card[data-phase="past"]');
    await page.waitForFunction(() => document.querySelector("#card-title").textContent.includes("Sara Ahmadi"));
    await page.setViewportSize({ width: 1280, height: 720 });
    await page.screenshot({ path: path.join(a.artifacts, "console-1280x720.png") });
  }],
]);
