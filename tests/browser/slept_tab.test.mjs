// A tab that slept: while it was frozen the server restarted and a colleague
// answered the call ringing on its screen, so no retraction will ever come.
// On waking and reconnecting it asks the server for its calls and drops the
// ring that is over. Becoming visible asks again.
import path from "node:path";
import { args, run, assert, sleep } from "./lib.mjs";

const a = args();
let page, cdp, id;

await run("slept tab", a, [
  ["an agent signs in; a call rings on her phone and a colleague's", async (site) => {
    page = await site.page();
    await site.signIn(page);
    cdp = await page.context().newCDPSession(page);
    id = await site.call("09131234567", ["1001", "1002"], "answered", 7000, 30000, 1);
    await page.waitForSelector(`#card[data-call-id="${id}"][data-phase="ringing"]`, { timeout: 8000 });
  }],
  ["the tab sleeps; the server restarts; the colleague answers meanwhile", async (site) => {
    // Frozen as the browser freezes a background tab: no script runs, no message is read.
    await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
    await site.stopRingside();
    await sleep(7500);  // the PBX answers on 1002 after its 7 s of ringing
    await site.startRingside();
    const mine = await page.request.get(site.base + "/api/me/calls");
    assert(mine.status() === 200, "GET /api/me/calls: " + mine.status());
  }],
  ["the tab wakes: it reconnects, asks for its calls and drops the ring that is over", async (site) => {
    await cdp.send("Page.setWebLifecycleState", { state: "active" });
    await page.evaluate(() => window.dispatchEvent(new Event("online")));
    await page.waitForSelector('#conn[data-state="connected"]', { timeout: 40000 });
    await page.waitForFunction((cid) => !document.querySelector(`#card[data-call-id="${cid}"]:not([hidden])`) &&
      !document.querySelector(`#others [data-call-id="${cid}"]`), id, { timeout: 10000 });
    const live = await (await page.request.get(site.base + "/api/me/calls")).json();
    assert(!live.calls.some((c) => c.id === id), "the call is not alice's: " + JSON.stringify(live.calls));
    await page.screenshot({ path: path.join(a.artifacts, "slept-tab-woken.png") });
  }],
  ["the server lists the calls ringing on the agent's phone; a tab that becomes visible asks for them", async (site) => {
    const next = await site.call("09126789012", ["1001"], "caller_cancels", 8000, 0);
    await page.waitForSelector(`#card[data-call-id="${next}"][data-phase="ringing"]`, { timeout: 8000 });
    const live = await (await page.request.get(site.base + "/api/me/calls")).json();
    const c = live.calls.find((x) => x.id === next);
    assert(c && c.status === "ringing" && c.ringing.some((r) => r.agent === "alice"), "ringing on alice: " + JSON.stringify(live));
    const asked = page.waitForRequest((r) => r.url().endsWith("/api/me/calls"), { timeout: 5000 });
    await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await asked;
    await sleep(500);
    assert(await page.getAttribute("#card", "data-call-id") === next, "a call still ringing keeps its card");
  }],
]);
