// An unknown number calls: the card shows the number and nothing invented,
// and the agent creates the customer from the card with the number prefilled.
// A ring answered by a colleague is withdrawn from the card.
import path from "node:path";
import { args, run, assert, assertIncludes } from "./lib.mjs";

const a = args();
let page, callId;

await run("unknown caller", a, [
  ["an agent signs in", async (site) => { page = await site.page(); await site.signIn(page); }],
  ["an unknown number rings: the number, no name, a prefilled form", async (site) => {
    callId = await site.call("09390001122", ["1001"], "caller_cancels", 8000, 0);
    await page.waitForSelector(`#card[data-call-id="${callId}"][data-phase="ringing"]`, { timeout: 5000 });
    assertIncludes(await page.textContent("#card-title"), "Unknown caller", "title");
    assertIncludes(await page.textContent("#card-phone"), "+989390001122", "number");
    assert((await page.$$("#card-issues")).length === 0, "no invented issues");
    assert((await page.inputValue("#create-customer input[name=phone]")).includes("9390001122"), "phone prefilled");
    await page.screenshot({ path: path.join(a.artifacts, "card-ringing-unknown.png") });
  }],
  ["the agent creates the customer from the card; the card becomes theirs", async (site) => {
    await page.fill("#create-customer input[name=salutation]", "Mr.");
    await page.fill("#create-customer input[name=name]", "Kaveh Test");
    await page.selectOption("#create-customer select[name=tier]", "silver");
    await page.fill("#create-customer input[name=tags]", "new, walk-in");
    await page.click("#create-customer button[type=submit]");
    await page.waitForFunction(() => document.querySelector("#card-title").textContent.includes("Kaveh Test"));
    const found = await (await page.request.get(site.base + "/api/customers?phone=09390001122")).json();
    assert(found.customers.length === 1 && found.customers[0].name === "Kaveh Test", JSON.stringify(found));
    assert(found.customers[0].tier === "silver" && found.customers[0].tags.includes("walk-in"), "tier and tags stored");
    await page.screenshot({ path: path.join(a.artifacts, "card-unknown-created.png") });
  }],
  ["the caller hangs up before answer: the card says withdrawn", async () => {
    await page.waitForSelector(`#card[data-call-id="${callId}"][data-phase="withdrawn"]`, { timeout: 10000 });
    assertIncludes(await page.textContent("#card-why"), "hung up", "why");
  }],
  ["a ring group answered by a colleague is withdrawn from this agent's card", async (site) => {
    const id = await site.call("09122345678", ["1001", "1002"], "answered", 2000, 1000, 1);
    await page.waitForSelector(`#card[data-call-id="${id}"][data-phase="ringing"]`, { timeout: 5000 });
    await page.waitForSelector(`#card[data-call-id="${id}"][data-phase="withdrawn"]`, { timeout: 6000 });
  }],
]);
