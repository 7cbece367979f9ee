// Agent states in the browser: alice picks Not ready (lunch) in her console
// and the supervisor's wallboard shows it with the time in it, pushed
// without a reload; the simulated Asterisk counts the QueuePause that paused
// her. A call she answers puts her in Wrap-up with a countdown, and she is
// Ready again when it runs out. The selector reads in Persian too.
import path from "node:path";
import { args, run, assert, assertIncludes } from "./lib.mjs";

const a = args();
let alicePage, supPage;

await run("agent_states", { ...a, extra: ["[agent_states]", "wrap_up_seconds = 3"] }, [
  ["alice's console shows her Ready, with the configured reasons to pick from", async (site) => {
    alicePage = await site.page();
    await site.signIn(alicePage, "alice", "agent-demo");
    await alicePage.waitForSelector('#agent-state:not([hidden])[data-state="ready"]');
    const options = await alicePage.$$eval("#state-select option", (os) => os.map((o) => o.value));
    for (const v of ["ready", "not_ready:break", "not_ready:lunch", "not_ready:training", "not_ready:meeting", "wrap_up"])
      assert(options.includes(v), "option " + v + " in " + options.join(","));
  }],
  ["the supervisor's wallboard lists alice as Ready", async (site) => {
    // On another host name: its own cookie jar, so both stay signed in.
    supPage = await site.browser.newPage();
    await supPage.goto(`http://localhost:${site.port}/`);
    await site.signIn(supPage, "supervisor", "supervisor-demo");
    await supPage.click("#supervisor-link");
    await supPage.waitForSelector("#wallboard:not([hidden])");
    await supPage.waitForSelector('#conn[data-state="connected"]');
    await supPage.waitForSelector('#agents li[data-agent="alice"] .work[data-work="ready"]');
  }],
  ["Not ready (lunch) in the console: the wallboard shows it at once with its time, and the PBX paused her", async (site) => {
    const before = await site.queuePauses();
    await alicePage.bringToFront();
    await alicePage.selectOption("#state-select", "not_ready:lunch");
    await alicePage.waitForSelector('#agent-state[data-state="not_ready"]');
    await supPage.bringToFront();
    const item = '#agents li[data-agent="alice"] .work[data-work="not_ready"]';
    await supPage.waitForSelector(item, { timeout: 5000 });
    assertIncludes(await supPage.textContent(item + " .work-name"), "lunch", "the reason on the wallboard");
    await supPage.waitForFunction((sel) => /\d\d:\d\d/.test(document.querySelector(sel).textContent), item + " .work-time");
    let after = before;
    for (let i = 0; i < 50 && after.count === before.count; i++) { await new Promise((r) => setTimeout(r, 100)); after = await site.queuePauses(); }
    assert(after.count === before.count + 1, `one QueuePause: ${before.count} -> ${after.count}`);
    assert(after.paused === before.paused + 1, `alice paused on the PBX: ${after.paused}`);
    await supPage.screenshot({ path: path.join(a.artifacts, "agent-states.png"), fullPage: true });
  }],
  ["Ready again unpauses her; a call she answers puts her in Wrap-up with a countdown, then Ready", async (site) => {
    await alicePage.bringToFront();
    await alicePage.selectOption("#state-select", "ready");
    await alicePage.waitForSelector('#agent-state[data-state="ready"]');
    await site.call("0912 123 4567", ["1001"], "answered", 1000, 1000);
    await alicePage.waitForSelector('#agent-state[data-state="wrap_up"]', { timeout: 10000 });
    assertIncludes(await alicePage.textContent("#state-status"), "Wrap-up", "the countdown");
    await supPage.waitForSelector('#agents li[data-agent="alice"] .work[data-work="wrap_up"]', { timeout: 5000 });
    await alicePage.screenshot({ path: path.join(a.artifacts, "agent-states-wrap-up.png") });
    await alicePage.waitForSelector('#agent-state[data-state="ready"]', { timeout: 10000 });
    await supPage.waitForSelector('#agents li[data-agent="alice"] .work[data-work="ready"]', { timeout: 5000 });
    const now = await site.queuePauses();
    assert(now.paused === 0, "nobody paused after the wrap-up: " + now.paused);
  }],
  ["the selector reads in Persian", async () => {
    await alicePage.selectOption("#lang", "fa");
    const text = await alicePage.$$eval("#state-select option", (os) => os.map((o) => o.textContent).join("|"));
    assertIncludes(text, "آماده", "Ready in Persian");
    assertIncludes(text, "ناهار", "lunch in Persian");
    await alicePage.selectOption("#lang", "en");
  }],
]);
