// Signing in and out: a clear message on wrong credentials, throttling after
// repeated failures, a session that survives a reload, and a fast first paint.
import { args, run, assert, assertIncludes } from "./lib.mjs";

const a = args();
let page;

await run("sign-in", a, [
  ["the sign-in form paints within a second and is keyboard reachable", async (site) => {
    page = await site.page();
    await page.waitForSelector("#login:not([hidden])");
    const fcp = await page.evaluate(() => (performance.getEntriesByName("first-contentful-paint")[0] || {}).startTime);
    console.log(`# first contentful paint: ${fcp && fcp.toFixed(1)} ms`);
    assert(fcp > 0 && fcp < 1000, "first paint under 1 s: " + fcp);
    const seen = [];
    for (let i = 0; i < 6 && !seen.includes("username"); i++) {
      await page.keyboard.press("Tab");
      seen.push(await page.evaluate(() => document.activeElement.name || document.activeElement.id || document.activeElement.tagName));
    }
    assert(seen.includes("lang") && seen.includes("username"), "Tab reaches the language and the username: " + seen);
  }],
  ["a wrong password says so clearly", async () => {
    await page.fill("input[name=username]", "alice");
    await page.fill("input[name=password]", "not-the-password");
    await page.click("#login button[type=submit]");
    await page.waitForSelector("#login-error:not([hidden])");
    assertIncludes(await page.textContent("#login-error"), "Wrong username or password", "message");
  }],
  ["repeated failures are slowed down", async () => {
    let text = "";
    for (let i = 0; i < 6 && !text.includes("Too many"); i++) {
      await page.waitForSelector("#login button[type=submit]:not([disabled])");
      await page.fill("input[name=username]", "bob");
      await page.fill("input[name=password]", "wrong-" + i);
      await page.click("#login button[type=submit]");
      await page.waitForFunction((prev) => document.querySelector("#login-error").textContent !== prev || true, text);
      await page.waitForTimeout(300);
      text = await page.textContent("#login-error");
    }
    assertIncludes(text, "Too many failed sign-ins", "throttled");
    assert(await page.isDisabled("#login button[type=submit]"), "the button waits");
  }],
  ["the right password signs in with the keyboard; the session survives a reload", async (site) => {
    await page.reload();
    await page.fill("input[name=username]", "alice");
    await page.fill("input[name=password]", "agent-demo");
    await page.press("input[name=password]", "Enter");
    await page.waitForSelector('#conn[data-state="connected"]');
    assertIncludes(await page.textContent("#who"), "Alice", "who is signed in");
    await page.reload();
    await page.waitForSelector('#conn[data-state="connected"]');
    assert(await page.isHidden("#login"), "still signed in after reload");
  }],
  ["sign-out ends the session, also after a reload", async () => {
    await page.click("#logout");
    await page.waitForSelector("#login:not([hidden])");
    await page.reload();
    await page.waitForSelector("#login:not([hidden])");
    assert(await page.isHidden("#console"), "console hidden");
  }],
]);
