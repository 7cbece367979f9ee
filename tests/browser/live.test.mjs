// Staying live: the connection state is shown; a dropped WebSocket and a
// server restart are followed by a reconnect with back-off and a resume, so a
// pop that came while the tab was away still shows; a background tab notifies.
import { args, run, assert, assertIncludes, sleep } from "./lib.mjs";

const a = args();
let page;

await run("live", a, [
  ["an agent signs in and is shown live", async (site) => {
    page = await site.page();
    await site.signIn(page);
    await page.evaluate(() => {
      window.__notes = [];
      // The real Notification, watched: the test records what the page showed.
      const Real = window.Notification;
      window.Notification = class extends Real { constructor(title, o) { super(title, o); window.__notes.push([title, o.body]); } };
    });
  }],
  ["a call that rings while the socket is down pops after the reconnect (resume)", async (site) => {
    const dropped = page.waitForSelector('#conn[data-state="reconnecting"]');
    await page.evaluate(() => state.ws.close());
    await dropped;
    const id = await site.call("09127890123", ["1001"], "answered", 6000, 1000);
    await page.waitForSelector(`#card[data-call-id="${id}"][data-phase="ringing"]`, { timeout: 8000 });
    assertIncludes(await page.textContent("#card-title"), "زهرا موسوی", "the resumed pop is the right caller");
    await page.waitForSelector('#conn[data-state="connected"]');
  }],
  ["a server restart: reconnecting with back-off, then live again, and the next pop arrives", async (site) => {
    await site.stopRingside();
    await page.waitForSelector('#conn[data-state="reconnecting"]', { timeout: 5000 });
    assertIncludes(await page.textContent("#conn"), "Reconnecting in", "countdown shown");
    await sleep(2500);
    await site.startRingside();
    await page.waitForSelector('#conn[data-state="connected"]', { timeout: 40000 });
    const id = await site.call("09131234567", ["1001"], "caller_cancels", 3000, 0);
    await page.waitForSelector(`#card[data-call-id="${id}"][data-phase="ringing"]`, { timeout: 8000 });
    assertIncludes(await page.textContent("#card-title"), "Reza Tehrani", "caller after restart");
  }],
  ["a tab in the background gets a notification", async (site) => {
    await page.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    });
    const id = await site.call("09126789012", ["1001"], "caller_cancels", 3000, 0);
    await page.waitForSelector(`#card[data-call-id="${id}"][data-phase="ringing"]`, { timeout: 8000 });
    const notes = await page.evaluate(() => window.__notes);
    assert(notes.length === 1 && notes[0][1].includes("Emily Clarke"), "notification: " + JSON.stringify(notes));
    assertIncludes(await page.title(), "Emily Clarke", "title tells too");
  }],
]);
