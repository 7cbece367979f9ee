// Knowing the pop was seen: the console acknowledges each painted pop with
// pop.shown, and /metrics counts it once per pop in ringside_pop_shown_seconds
// (a second tab's receipt for the same pop is ignored, and counted as such).
import { args, run, assert, sleep } from "./lib.mjs";

const a = args();
let page, tab2;

function metric(text, name) {
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
async function metricsUntil(site, what, ok) {
  for (let i = 0; i < 100; i++) {
    const body = (await site.get("/metrics")).body;
    if (ok(body)) return body;
    await sleep(100);
  }
  throw new Error("timed out waiting for " + what);
}

await run("pop shown", a, [
  ["no receipts before any pop", async (site) => {
    const body = (await site.get("/metrics")).body;
    assert(body.includes("# TYPE ringside_pop_shown_seconds histogram"), "the histogram is listed");
    assert(metric(body, "ringside_pop_shown_seconds_count") === 0, "count 0");
    page = await site.page();
    await site.signIn(page);
    tab2 = await site.browser.newPage();
    await tab2.goto(site.base + "/");
    await tab2.waitForSelector('#conn[data-state="connected"]');
  }],
  ["a pop painted in two tabs is counted once; the second receipt is ignored", async (site) => {
    const id = await site.call("0912 123 4567", ["1001"], "caller_cancels", 4000, 0);
    await page.waitForSelector(`#card[data-call-id="${id}"][data-phase="ringing"]`, { timeout: 8000 });
    await tab2.waitForSelector(`#card[data-call-id="${id}"][data-phase="ringing"]`, { timeout: 8000 });
    const body = await metricsUntil(site, "both receipts", (b) =>
      metric(b, "ringside_pop_shown_seconds_count") + metric(b, "ringside_pop_shown_ignored_total") >= 2);
    assert(metric(body, "ringside_pop_shown_seconds_count") === 1, "one pop shown: " + metric(body, "ringside_pop_shown_seconds_count"));
    assert(metric(body, "ringside_pop_shown_ignored_total") === 1, "the other tab's receipt ignored");
    assert(metric(body, 'ringside_pop_shown_seconds_bucket{le="+Inf"}') === 1, "in the +Inf bucket");
    assert(metric(body, "ringside_pop_shown_seconds_sum") >= 0, "a sum");
  }],
  ["the next pop counts again", async (site) => {
    await tab2.close();
    const id = await site.call("09131234567", ["1001"], "caller_cancels", 4000, 0);
    await page.waitForSelector(`#card[data-call-id="${id}"][data-phase="ringing"]`, { timeout: 8000 });
    await metricsUntil(site, "the second receipt", (b) => metric(b, "ringside_pop_shown_seconds_count") === 2);
  }],
]);
