// Takes docs/images/pop.png: starts `ringside demo` on a free loopback port
// with a throw-away data directory, signs in as alice in Debian's headless
// Chromium (playwright-core from tests/browser), waits for the demo's next
// call from a known customer to ring on her console and saves the page.
//   node docs/images/take-pop.mjs --ringside BIN --out FILE.png
// Run through scripts/screenshot, which installs playwright-core first.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.resolve(here, "../../tests/browser/package.json"));
const { chromium } = require("playwright-core");

const opt = {};
for (let i = 2; i + 1 < process.argv.length; i += 2) opt[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
if (!opt.ringside || !opt.out) throw new Error("usage: node take-pop.mjs --ringside BIN --out FILE.png");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const port = await new Promise((resolve, reject) => {
  const s = net.createServer().on("error", reject);
  s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const base = `http://127.0.0.1:${port}`;
const dir = mkdtempSync(path.join(os.tmpdir(), "ringside-screenshot-"));
const demo = spawn(opt.ringside, ["demo", "--listen", `127.0.0.1:${port}`, "--data", path.join(dir, "data")],
                   { stdio: ["ignore", "ignore", "inherit"] });
let browser;
try {
  for (let end = Date.now() + 30000; ; await sleep(200)) {
    try { if ((await fetch(base + "/healthz")).ok) break; } catch { /* not up yet */ }
    if (Date.now() > end || demo.exitCode !== null) throw new Error("ringside demo did not start");
  }
  browser = await chromium.launchPersistentContext(path.join(dir, "chromium-profile"), {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1280, height: 800 },
    locale: "en-GB",
    timezoneId: "Asia/Tehran",
  });
  const page = await browser.newPage();
  await page.goto(base + "/");
  await page.fill("input[name=username]", "alice");
  await page.fill("input[name=password]", "agent-demo");
  await page.click("#login button[type=submit]");
  await page.waitForSelector('#conn[data-state="connected"]');
  // The demo rings a signed-in agent every few seconds, sometimes with an
  // unknown number: wait for a ringing card that names a customer.
  for (let end = Date.now() + 120000; ; await sleep(250)) {
    const ok = await page.evaluate(() => {
      const card = document.querySelector('#card[data-phase="ringing"]');
      return !!card && !card.hidden && !!card.querySelector("#card-issues, #card-history li")
        && !card.textContent.includes("Unknown caller");
    });
    if (ok) break;
    if (Date.now() > end) throw new Error("no known customer rang within 2 minutes");
  }
  await sleep(500);  // let the card finish painting
  await page.screenshot({ path: opt.out });
  console.log("saved " + opt.out);
} finally {
  if (browser) await browser.close().catch(() => {});
  demo.kill("SIGTERM");
  await new Promise((r) => (demo.exitCode !== null ? r() : demo.once("exit", r)));
  rmSync(dir, { recursive: true, force: true });
}
