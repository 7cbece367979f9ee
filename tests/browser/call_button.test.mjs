// Click-to-dial from the console: the "Call" button on a card and on a row of
// today's calls sends POST /api/calls/dial; the simulated Asterisk receives a
// real AMI Originate, rings the agent's phone, then calls the customer; the
// call shows up in today's list and is logged as outbound to that customer.
import path from "node:path";
import { args, run, assert, assertIncludes, sleep } from "./lib.mjs";

const a = args();
let page, inboundId;

// Outbound calls placed during this test (the demo data has older ones).
const seeded = new Set();
async function outboundCalls(site) {
  const res = await page.request.get(site.base + "/api/calls?limit=50");
  return (await res.json()).calls.filter((c) => c.direction === "outbound" && !seeded.has(c.id));
}

async function waitFor(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await sleep(150);
  }
}

await run("call button", a, [
  ["alice signs in; Sara Ahmadi's call comes and ends", async (site) => {
    page = await site.page();
    await site.signIn(page);
    for (const c of await outboundCalls(site)) seeded.add(c.id);
    inboundId = await site.call("0912 123 4567", ["1001"], "answered", 1200, 1200);
    await page.waitForSelector(`#card[data-call-id="${inboundId}"][data-phase="ended"]`, { timeout: 10000 });
  }],
  ["Call on the card: the PBX gets an Originate, the call is logged outbound to Sara", async (site) => {
    const before = await site.originates();
    await page.click("#card-call");
    await waitFor("the Originate", async () => (await site.originates()) === before + 1);
    await page.waitForFunction(() => document.querySelector("#card").textContent.includes("Your phone answered"),
      null, { timeout: 8000 });
    const rec = await waitFor("the outbound record", async () =>
      (await outboundCalls(site)).find((c) => c.ended_at));
    assert(rec.to === "+989121234567", "dialled the customer: " + rec.to);
    assert(rec.agent === "alice", "logged to alice: " + rec.agent);
    assert(rec.customer_id, "matched to the customer");
    assert(rec.status === "answered", "answered: " + rec.status);
    // No pop, but the call's end reaches the agent: the card shows the
    // finished outbound call for its disposition, and today's list has it
    // without a Refresh.
    await page.waitForSelector(`#card[data-call-id="${rec.id}"][data-phase="ended"]`, { timeout: 5000 });
    await page.waitForSelector("#card select[name=disposition]", { timeout: 5000 });
    await page.waitForSelector(`#today button[data-call-id="${rec.id}"]`, { timeout: 5000 });
    assertIncludes(await page.textContent(`#today button[data-call-id="${rec.id}"]`), "Sara Ahmadi", "today's list names her");
    await page.screenshot({ path: path.join(a.artifacts, "call-button-outbound.png") });
  }],
  ["Call on a row of today's calls dials again and logs a second outbound call", async (site) => {
    const before = await site.originates();
    const row = page.locator("#today li", { has: page.locator(`button[data-call-id="${inboundId}"]`) });
    await row.locator("button.row-call").click();
    await waitFor("the second Originate", async () => (await site.originates()) === before + 1);
    const recs = await waitFor("two outbound records", async () => {
      const done = (await outboundCalls(site)).filter((c) => c.ended_at);
      return done.length === 2 ? done : null;
    });
    assert(recs.every((c) => c.to === "+989121234567" && c.agent === "alice"), "both to Sara by alice");
    assert(recs[0].id !== recs[1].id, "two calls");
  }],
]);
