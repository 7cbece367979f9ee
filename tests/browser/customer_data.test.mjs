// A customer's data on request, from the console: a supervisor downloads
// everything held on Sara Ahmadi, then erases it with a reason and a
// confirmation and sees what was anonymised; agents see neither button. A
// server too busy to check a sign-in answers 503, and the page says so in
// one plain sentence.
import { readFileSync } from "node:fs";
import path from "node:path";
import { args, run, assert, assertIncludes, sleep } from "./lib.mjs";

const a = args();
let page, callId, customerId;

async function openSara() {
  await page.click("#customers-toggle");
  await page.fill("#customer-search", "ahm");
  await page.waitForSelector("#customer-results >> text=Sara Ahmadi", { timeout: 5000 });
  await page.click("#customer-results button");
  await page.waitForSelector("#customer-name", { timeout: 5000 });
}

/// The export as the browser downloads it: its file name and its JSON.
async function download() {
  const [dl] = await Promise.all([page.waitForEvent("download", { timeout: 10000 }), page.click("#customer-export")]);
  return { name: dl.suggestedFilename(), data: JSON.parse(readFileSync(await dl.path(), "utf8")) };
}

// The flood below comes through 127.0.0.1 as a trusted proxy, each sign-in
// naming a client of its own, so that no address or user throttle answers
// 429 before the hashing queue fills.
await run("customer_data", { ...a, server: ['trusted_proxies = ["127.0.0.1"]'] }, [
  ["Sara calls an agent, who sees no export or erase button on her file", async (site) => {
    page = await site.page();
    await site.signIn(page);
    callId = await site.call("09121234567", ["1001"], "answered", 1500, 1000);
    await page.waitForSelector(`#card[data-call-id="${callId}"][data-phase="ended"]`, { timeout: 10000 });
    await openSara();
    assert(!(await page.$("#customer-export")), "no export button for an agent");
    assert(!(await page.$("#customer-erase-open")), "no erase button for an agent");
  }],
  ["a supervisor downloads everything held on her as JSON", async (site) => {
    await page.click("#logout");
    await site.signIn(page, "supervisor", "supervisor-demo");
    await openSara();
    const { name, data } = await download();
    customerId = data.customer.id;
    assert(name === `customer-${customerId}.json`, "file name: " + name);
    assert(data.customer.name === "Sara Ahmadi" && data.customer.erased === false, "the file: " + JSON.stringify(data.customer));
    assert(data.calls.some((c) => c.id === callId), "her call is in the export");
    assert(Array.isArray(data.issues) && Array.isArray(data.interactions) && Array.isArray(data.audit), "every list");
    assertIncludes(await page.textContent("#customer-message"), `Downloaded customer-${customerId}.json`, "the message");
  }],
  ["the erasure asks for a reason and a confirmation, then says what was anonymised", async () => {
    await page.click("#customer-erase-open");
    await page.fill("#customer-erase textarea[name=reason]", "asked by phone to be forgotten");
    // Declining the confirmation erases nothing.
    page.once("dialog", (d) => d.dismiss());
    await page.click("#customer-erase-go");
    await sleep(300);
    assertIncludes(await page.textContent("#customer-name"), "Sara Ahmadi", "still there after cancelling");
    let asked = "";
    page.once("dialog", (d) => { asked = d.message(); d.accept(); });
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/customers/${customerId}/erase`), { timeout: 10000 }),
      page.click("#customer-erase-go"),
    ]);
    assertIncludes(asked, "Erase the personal data of Ms. Sara Ahmadi for good?", "the confirmation");
    assert(res.status() === 200, "erase status " + res.status());
    const erased = (await res.json()).erased;
    assert(erased.calls >= 1, "her call anonymised: " + JSON.stringify(erased));
    assert(erased.held_pops >= 1, "the held pop of her call dropped: " + JSON.stringify(erased));
    await page.waitForSelector("#customer-erased", { timeout: 5000 });
    const msg = await page.textContent("#customer-message");
    assertIncludes(msg, `Personal data erased: ${erased.calls} calls`, "the report");
    assertIncludes(msg, `${erased.held_pops} held pops dropped`, "held pops in the report");
    assertIncludes(await page.textContent("#customer-name"), "(erased)", "the file shows as erased");
    await page.screenshot({ path: path.join(a.artifacts, "customer-erased.png"), fullPage: true });
  }],
  ["the export still answers afterwards, marked erased", async () => {
    const { data } = await download();
    assert(data.customer.erased === true && data.customer.name === "(erased)", "erased export: " + JSON.stringify(data.customer));
    assert(data.audit.some((e) => e.action === "customer.erase"), "the erasure is in its audit entries");
  }],
  ["a sign-in the server is too busy to check says so plainly", async (site) => {
    await page.click("#logout");
    await page.waitForSelector("#login:not([hidden])");
    // Real load: many sign-ins at once fill the hashing queue (32), which
    // answers 503 past it. The browser's own sign-in goes in among them;
    // a round where it still got through signs out and tries again.
    const flood = (round) => Promise.all(Array.from({ length: 150 }, (_, i) =>
      fetch(site.base + "/api/login", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Forwarded-For": `10.${round + 1}.${Math.floor(i / 100)}.${i % 100 + 1}` },
        body: JSON.stringify({ username: `nobody-${round}-${i}`, password: "not-a-password" }),
      }).then((r) => r.status, () => 0)));
    let shown = "", refused = 0;
    for (let round = 0; round < 10 && !shown.includes("busy"); round++) {
      const others = flood(round);
      await sleep(30);
      await page.fill("input[name=username]", "supervisor");
      await page.fill("input[name=password]", "supervisor-demo");
      await page.click("#login button[type=submit]");
      await page.waitForSelector("#login-error:not([hidden]), #console:not([hidden])", { timeout: 15000 });
      refused += (await others).filter((s) => s === 503).length;
      if (await page.isVisible("#console")) {
        await page.click("#logout");
        await page.waitForSelector("#login:not([hidden])");
        continue;
      }
      shown = await page.textContent("#login-error");
      await page.waitForSelector("#login button[type=submit]:not([disabled])");
    }
    assert(refused > 0, "the flood filled the queue");
    assert(shown === "The server is busy, try again in a few seconds.", "the message: " + shown);
  }],
]);
