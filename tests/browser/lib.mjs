// Harness for the browser tests: a temp directory, the demo data seeded by
// browser_pbx, a simulated Asterisk (browser_pbx pbx) placing exactly the
// calls a test asks for, the real `ringside serve`, and Debian's headless
// Chromium driven by playwright-core. Nothing is mocked.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const WEB_ROOT = path.resolve(here, "../../web");

export function args() {
  const a = {};
  for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
  if (!a.ringside || !a.pbx) throw new Error("usage: node X.test.mjs --ringside BIN --pbx BIN [--artifacts DIR]");
  a.artifacts = a.artifacts || path.resolve(here, "../artifacts");
  mkdirSync(a.artifacts, { recursive: true });
  return a;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function until(what, fn, timeoutMs = 15000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try { if (await fn()) return; } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/// One Ringside site: seeded database, simulated PBX, ringside serve, Chromium.
/// opts.server: more lines for the config's [server] table; opts.extra: more
/// lines at the end of the config (tables of their own).
export class Site {
  constructor(opts) { this.opts = opts; this.log = []; }

  async start() {
    const o = this.opts;
    this.dir = mkdtempSync(path.join(os.tmpdir(), "ringside-browser-"));
    this.db = path.join(this.dir, "ringside.db");
    execFileSync(o.pbx, ["seed", this.db], { stdio: ["ignore", "ignore", "inherit"] });
    this.pbxProc = spawn(o.pbx, ["pbx", "s3cret"], { stdio: ["pipe", "pipe", "inherit"] });
    this.pbxLines = readline.createInterface({ input: this.pbxProc.stdout });
    this.waiters = [];
    this.pbxLines.on("line", (l) => { const w = this.waiters.shift(); if (w) w(l); });
    const first = await new Promise((r) => this.waiters.push(r));
    this.pbxPort = Number(first.replace("port ", ""));
    this.port = await freePort();
    this.base = `${o.tls ? "https" : "http"}://127.0.0.1:${this.port}`;
    this.config = path.join(this.dir, "ringside.toml");
    // opts.tls: HTTPS and WSS with a certificate made now (never one in the tree).
    const tls = [];
    if (o.tls) {
      this.cert = path.join(this.dir, "tls.crt");
      const key = path.join(this.dir, "tls.key");
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-days", "2", "-subj", "/CN=ringside browser test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", key, "-out", this.cert], { stdio: ["ignore", "ignore", "inherit"] });
      tls.push(`tls_certificate = "${this.cert}"`, `tls_private_key = "${key}"`);
    }
    writeFileSync(this.config, [
      "[server]", `listen = "127.0.0.1:${this.port}"`, `web_root = "${WEB_ROOT}"`, ...tls, ...(o.server || []),
      "[database]", `path = "${this.db}"`, "[phone]", 'default_region = "IR"',
      "[[pbx]]", 'id = "main"', 'type = "asterisk-ami"', 'host = "127.0.0.1"', `port = ${this.pbxPort}`,
      'username = "ringside"', 'secret = "s3cret"', ...(o.extra || []), ""].join("\n"));
    await this.startRingside();
    this.browser = await chromium.launchPersistentContext(path.join(this.dir, "chromium-profile"), {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      viewport: { width: 1280, height: 720 },
      // The test's own self-signed certificate; Node's requests (get()) trust exactly it.
      ignoreHTTPSErrors: !!o.tls,
      locale: o.locale || "en-GB",
      timezoneId: "Asia/Tehran",
    });
    await this.browser.grantPermissions(["notifications"], { origin: this.base });
    return this;
  }

  async startRingside() {
    this.ringside = spawn(this.opts.ringside, ["serve", "--config", this.config], { stdio: ["ignore", "ignore", "pipe"] });
    this.ringside.stderr.on("data", (d) => this.log.push(String(d)));
    await until("ringside /healthz", async () => (await this.get("/healthz")).status === 200);
    await until("the PBX link", async () =>
      (await this.get("/metrics")).body.includes('ringside_pbx_link_up{pbx="main",state="connected"} 1'));
  }

  /// GET from Node (not the browser): {status, headers, body}. Over TLS it
  /// trusts only the site's own certificate.
  async get(target) {
    if (!this.cert) {
      const r = await fetch(this.base + target);
      return { status: r.status, headers: Object.fromEntries(r.headers), body: await r.text() };
    }
    const ca = readFileSync(this.cert);
    return new Promise((resolve, reject) => {
      https.get(this.base + target, { ca }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => { body += d; });
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
      }).on("error", reject);
    });
  }

  async stopRingside() {
    const p = this.ringside;
    if (!p || p.exitCode !== null) return;
    const done = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await done;
  }

  /// Places a call; returns Ringside's call id. CALLER as the trunk presents it.
  async call(caller, exts, outcome = "answered", ringMs = 3000, talkMs = 2000, answeredBy = 0) {
    const reply = new Promise((r) => this.waiters.push(r));
    this.pbxProc.stdin.write(`call ${caller.replace(/ /g, "%20")} ${exts.join(",")} ${outcome} ${ringMs} ${talkMs} ${answeredBy}\n`);
    const line = await reply;
    if (!line.startsWith("call ")) throw new Error("browser_pbx: " + line);
    return "main-" + line.slice(5);
  }

  /// How many Originate actions the simulated Asterisk has accepted.
  async originates() {
    const reply = new Promise((r) => this.waiters.push(r));
    this.pbxProc.stdin.write("originates\n");
    const line = await reply;
    if (!line.startsWith("originates ")) throw new Error("browser_pbx: " + line);
    return Number(line.slice(11));
  }

  /// QueuePause actions the simulated Asterisk has accepted, and the members paused now.
  async queuePauses() {
    const reply = new Promise((r) => this.waiters.push(r));
    this.pbxProc.stdin.write("queue_pauses\n");
    const line = await reply;
    if (!line.startsWith("queue_pauses ")) throw new Error("browser_pbx: " + line);
    const [count, paused] = line.slice(13).split(" ").map(Number);
    return { count, paused };
  }

  async page() {
    const p = await this.browser.newPage();
    p.on("pageerror", (e) => { this.log.push("pageerror: " + e.message); console.error("page error:", e.message); });
    await p.goto(this.base + "/");
    return p;
  }

  async signIn(page, username = "alice", password = "agent-demo") {
    await page.fill("input[name=username]", username);
    await page.fill("input[name=password]", password);
    await page.click("#login button[type=submit]");
    await page.waitForSelector("#console:not([hidden])");
    await page.waitForSelector('#conn[data-state="connected"]');
  }

  async stop() {
    try { if (this.browser) await this.browser.close(); } catch { /* already gone */ }
    await this.stopRingside().catch(() => {});
    if (this.pbxProc) { this.pbxProc.stdin.end(); this.pbxProc.kill("SIGTERM"); }
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/// Runs the steps in order on one site; prints TAP-like lines and a closing
/// "N passed, N failed" line; exits non-zero on the first failure.
export async function run(name, opts, steps) {
  const site = new Site(opts);
  let passed = 0, failed = 0;
  try {
    await site.start();
    for (const [title, fn] of steps) {
      const t0 = Date.now();
      try {
        await fn(site);
        passed++;
        console.log(`ok - ${name}: ${title} (${Date.now() - t0} ms)`);
      } catch (e) {
        failed++;
        console.log(`not ok - ${name}: ${title}\n  ${String(e && e.stack || e).split("\n").join("\n  ")}`);
        break;
      }
    }
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: setup\n  ${e && e.stack || e}`);
  } finally {
    if (failed) console.log("ringside log (tail):\n" + site.log.join("").split("\n").slice(-30).join("\n"));
    await site.stop();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

export function assert(cond, msg) { if (!cond) throw new Error("assertion failed: " + msg); }
export function assertIncludes(hay, needle, what) {
  if (!String(hay).includes(needle)) throw new Error(`${what}: expected ${JSON.stringify(hay)} to include ${JSON.stringify(needle)}`);
}
