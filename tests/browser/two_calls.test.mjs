// A ring during a call in progress: the call being talked on keeps the
// screen and the note being typed; the new ring waits above it as an
// incoming call, one click away. The draft survives a reload, an older
// call's end never takes the screen from a ringing card, and the saved
// notes are there when the call is opened again.
import path from "node:path";
import { args, run, assert, assertIncludes, sleep } from "./lib.mjs";

const a = args();
const DRAFT = "Wants the refund before Friday; call back after 5 pm.";
let page, first, second;

await run("two calls", a, [
  ["an agent signs in and takes a call; she types a note while talking", async (site) => {
    page = await site.page();
    await site.signIn(page);
    first = await site.call("0912 123 4567", ["1001"], "answered", 1500, 22000);
    await page.waitForSelector(`#card[data-call-id="${first}"][data-phase="talking"]`, { timeout: 8000 });
    await page.selectOption("#disposition select[name=disposition]", "follow_up");
    await page.fill("#disposition textarea[name=notes]", DRAFT);
  }],
  ["a second call rings: it shows as incoming; the call in progress and its note stay", async (site) => {
    second = await site.call("09131234567", ["1001"], "caller_cancels", 40000, 0);
    await page.waitForSelector(`#others .other[data-call-id="${second}"][data-phase="ringing"]`, { timeout: 8000 });
    assertIncludes(await page.textContent(`#others .other[data-call-id="${second}"]`), "Reza Tehrani", "who is calling");
    assert(await page.getAttribute("#card", "data-call-id") === first, "the first call keeps the screen");
    assert(await page.getAttribute("#card", "data-phase") === "talking", "still talking");
    assertIncludes(await page.textContent("#card-title"), "Sara Ahmadi", "the first caller's card");
    assert(await page.inputValue("#disposition textarea[name=notes]") === DRAFT, "the note being typed stays");
    await page.screenshot({ path: path.join(a.artifacts, "two-calls-incoming.png") });
  }],
  ["the agent switches to the ring and back: the draft is still there", async () => {
    await page.click(`#others .other[data-call-id="${second}"] .switch`);
    await page.waitForSelector(`#card[data-call-id="${second}"][data-phase="ringing"]`);
    await page.waitForSelector(`#others .other[data-call-id="${first}"][data-phase="talking"]`);
    await page.click(`#others .other[data-call-id="${first}"] .switch`);
    await page.waitForSelector(`#card[data-call-id="${first}"][data-phase="talking"]`);
    assert(await page.inputValue("#disposition textarea[name=notes]") === DRAFT, "draft after switching back");
  }],
  ["after a reload both calls are back, and the draft with the call in progress", async () => {
    await page.reload();
    await page.waitForSelector('#conn[data-state="connected"]');
    await page.waitForSelector(`#card[data-call-id="${first}"][data-phase="talking"]`, { timeout: 8000 });
    await page.waitForSelector(`#others .other[data-call-id="${second}"][data-phase="ringing"]`, { timeout: 8000 });
    assert(await page.inputValue("#disposition textarea[name=notes]") === DRAFT, "draft after reload");
    assert(await page.inputValue("#disposition select[name=disposition]") === "follow_up", "outcome chosen after reload");
  }],
  ["the first call ends while the agent looks at the ring: the ringing card keeps the screen", async () => {
    await page.click(`#others .other[data-call-id="${second}"] .switch`);
    await page.waitForSelector(`#card[data-call-id="${second}"][data-phase="ringing"]`);
    await page.waitForSelector(`#others .other[data-call-id="${first}"][data-phase="ended"]`, { timeout: 30000 });
    assert(await page.getAttribute("#card", "data-call-id") === second, "the ring stays on screen");
    assert(await page.getAttribute("#card", "data-phase") === "ringing", "still ringing");
    assertIncludes(await page.textContent(`#others .other[data-call-id="${first}"]`), "outcome not saved", "the ended call waits for its outcome");
  }],
  ["the agent saves the first call's outcome from the draft; reopening it shows the saved notes", async (site) => {
    await page.click(`#others .other[data-call-id="${first}"] .switch`);
    await page.waitForSelector(`#card[data-call-id="${first}"][data-phase="ended"] #disposition`);
    assert(await page.inputValue("#disposition textarea[name=notes]") === DRAFT, "draft in the wrap-up form");
    await page.click("#disposition button[type=submit]");
    await page.waitForSelector("#disposition-notes");
    assertIncludes(await page.textContent("#disposition-notes"), "before Friday", "saved notes shown");
    const rec = (await (await page.request.get(site.base + "/api/calls?limit=10")).json()).calls.find((c) => c.id === first);
    assert(rec && rec.disposition === "follow_up" && rec.notes === DRAFT, "stored: " + JSON.stringify(rec));
    assert(await page.evaluate((id) => Object.keys(localStorage).filter((k) => k.startsWith("ringside.draft.") && k.endsWith(id)).length, first) === 0,
      "the draft is gone once saved");
    await page.reload();
    await page.waitForSelector('#conn[data-state="connected"]');
    await page.waitForSelector(`#today button[data-call-id="${first}"]`);
    await page.click(`#today button[data-call-id="${first}"]`);
    await page.waitForSelector(`#card[data-call-id="${first}"] #disposition-notes`);
    assertIncludes(await page.textContent("#disposition-notes"), "before Friday", "notes when reopened");
    await page.click("#disposition-done button");
    assert(await page.inputValue("#disposition textarea[name=notes]") === DRAFT, "changing starts from the saved notes");
    await page.screenshot({ path: path.join(a.artifacts, "two-calls-reopened.png") });
  }],
]);
