// The Persian console: right-to-left, Persian words and digits, Solar Hijri
// dates; names and notes in Persian script; usable on a narrow side panel.
import path from "node:path";
import { args, run, assert, assertIncludes } from "./lib.mjs";

const a = args();
let page;

await run("persian", { ...a, locale: "fa-IR" }, [
  ["a Persian-speaking agent signs in; the page is right-to-left", async (site) => {
    page = await site.page();
    assert((await page.getAttribute("html", "dir")) === "rtl", "the browser's language picks Persian");
    await site.signIn(page);
    assert(await page.evaluate(() => getComputedStyle(document.querySelector("#console")).direction === "rtl"), "rtl layout");
    assertIncludes(await page.textContent("#today-title"), "تماس‌های امروز", "Persian words");
  }],
  ["Maryam Hosseini rings: Persian name, issue age in Persian digits, Solar Hijri dates", async (site) => {
    const id = await site.call("۰۹۱۲۳۴۵۶۷۸۹", ["1001"], "answered", 5000, 1000);
    await page.waitForSelector(`#card[data-call-id="${id}"][data-phase="ringing"]`, { timeout: 5000 });
    assertIncludes(await page.textContent("#card-title"), "خانم مریم حسینی", "name");
    assertIncludes(await page.textContent("#card-issues"), "بازپرداخت انجام نشده", "issue");
    const when = await page.getAttribute("#card-issues .when", "title");
    const year = new Intl.DateTimeFormat("en-u-ca-persian", { year: "numeric" }).format(new Date()).replace(/\D/g, "");
    const faYear = year.replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]);
    assertIncludes(when, faYear, "Solar Hijri year on the issue date");
    assertIncludes(await page.textContent("#card-issues .when"), "روز", "age in days, in Persian");
    assertIncludes(await page.textContent("#card-state"), "در حال زنگ", "state in Persian");
    await page.screenshot({ path: path.join(a.artifacts, "card-ringing-persian.png") });
    await page.locator(".phone-line").screenshot({ path: path.join(a.artifacts, "phone-line-persian.png") });
  }],
  ["switching to English turns the page left-to-right; back to Persian on a narrow panel", async () => {
    await page.selectOption("#lang", "en");
    assert((await page.getAttribute("html", "dir")) === "ltr", "ltr");
    assertIncludes(await page.textContent("#card-state"), "Ringing", "English state");
    await page.selectOption("#lang", "fa");
    assert((await page.getAttribute("html", "dir")) === "rtl", "rtl again");
    await page.setViewportSize({ width: 420, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(overflow <= 0, "no sideways scrolling at 420 px: " + overflow);
    await page.screenshot({ path: path.join(a.artifacts, "card-persian-narrow.png"), fullPage: true });
  }],
]);
