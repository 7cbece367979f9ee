// The console over HTTPS: Ringside serving TLS itself with a certificate made
// at test time. The page, the sign-in and the pops (wss://) work as over
// plain HTTP; the session cookie is Secure and HSTS is sent.
import { args, run, assert, assertIncludes } from "./lib.mjs";

const a = args();
let page;

await run("https", { ...a, tls: true }, [
  ["the page loads over https with HSTS; sign-in connects the WebSocket over wss", async (site) => {
    assert(site.base.startsWith("https://"), "served over https: " + site.base);
    page = await site.browser.newPage();
    const res = await page.goto(site.base + "/");
    assert(res.ok(), "page status " + res.status());
    assertIncludes(res.headers()["strict-transport-security"] || "", "max-age=", "HSTS on the page");
    await site.signIn(page);
    assert(await page.evaluate(() => location.protocol) === "https:", "the console runs on https");
  }],
  ["the session cookie is Secure and HttpOnly", async (site) => {
    const cookie = (await site.browser.cookies(site.base)).find((c) => c.name === "ringside_session");
    assert(cookie, "a session cookie");
    assert(cookie.secure, "Secure");
    assert(cookie.httpOnly, "HttpOnly");
  }],
  ["a known caller pops over wss", async (site) => {
    const callId = await site.call("0912 123 4567", ["1001"], "answered", 3000, 1500);
    await page.waitForSelector(`#card[data-call-id="${callId}"][data-phase="ringing"]`, { timeout: 5000 });
    assertIncludes(await page.textContent("#card"), "Sara Ahmadi", "the customer on the card");
  }],
  ["plain http to the same port is refused, naming https", async (site) => {
    const r = await fetch(site.base.replace("https://", "http://") + "/healthz");
    assert(r.status === 400, "plain HTTP status " + r.status);
    assertIncludes(await r.text(), "https_required", "error code");
  }],
]);
