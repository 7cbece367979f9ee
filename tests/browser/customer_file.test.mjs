// The customer file in the console: search by name (Arabic letters find the
// Persian spelling) and by number, open a file, edit a field, add a note.
import path from "node:path";
import { args, run, assert, assertIncludes } from "./lib.mjs";

const a = args();
let page;

await run("customer_file", a, [
  ["an agent searches by a name prefix and by a number in another format", async (site) => {
    page = await site.page();
    await site.signIn(page);
    await page.click("#customers-toggle");
    await page.fill("#customer-search", "ahm");
    await page.waitForSelector("#customer-results >> text=Sara Ahmadi", { timeout: 5000 });
    await page.fill("#customer-search", "كريمي");  // Arabic kaf and yeh
    await page.waitForSelector("#customer-results >> text=محمد کریمی", { timeout: 5000 });
    await page.fill("#customer-search", "+98 912 123 4567");
    await page.waitForSelector("#customer-results >> text=Sara Ahmadi", { timeout: 5000 });
  }],
  ["opening the file shows its evaluation and timeline; an edit and a note are saved", async () => {
    await page.click("#customer-results button");
    await page.waitForSelector("#customer-name", { timeout: 5000 });
    assertIncludes(await page.textContent("#customer-name"), "Sara Ahmadi", "file title");
    assert(await page.isVisible("#customer-timeline"), "timeline shown");
    await page.fill("#customer-edit input[name=contact_time]", "09:00-12:00");
    await page.click("#customer-edit button[type=submit]");
    await page.waitForSelector("#customer-message >> text=Saved.", { timeout: 5000 });
    assert((await page.inputValue("#customer-edit input[name=contact_time]")) === "09:00-12:00", "the edit is stored");
    await page.selectOption("#customer-entry select[name=channel]", "visit");
    await page.fill("#customer-entry textarea[name=summary]", "Came to the shop, card 4111 1111 1111 1111");
    await page.click("#customer-entry button[type=submit]");
    await page.waitForSelector("#customer-timeline >> text=Came to the shop", { timeout: 5000 });
    const tl = await page.textContent("#customer-timeline");
    assert(!tl.includes("4111 1111 1111 1111"), "the card number is masked on the timeline");
    await page.screenshot({ path: path.join(a.artifacts, "customer-file.png"), fullPage: true });
  }],
]);
