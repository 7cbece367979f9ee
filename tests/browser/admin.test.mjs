// The administrator's page: an admin follows the link from the console, sees
// the config file's PBX connected (read-only), adds a second PBX connection
// pointing at another simulated Asterisk, sees it connect, tests it, disables
// it, corrects and removes it, and reads every change in the audit log. A role
// change asks first; SIP is offered and explained; dates read as on the
// console. Then the Persian page, and Sign out.
import { spawn } from "node:child_process";
import readline from "node:readline";
import path from "node:path";
import { args, run, assert, assertIncludes } from "./lib.mjs";

const a = args();
let page, branch, branchPort;

/// A second simulated Asterisk (browser_pbx pbx) with its own secret.
async function startBranchPbx() {
  branch = spawn(a.pbx, ["pbx", "branch-secret"], { stdio: ["pipe", "pipe", "inherit"] });
  const lines = readline.createInterface({ input: branch.stdout });
  const first = await new Promise((r) => lines.once("line", r));
  branchPort = Number(first.replace("port ", ""));
}

const row = (id) => `#pbx-rows tr[data-id="${id}"]`;

await run("admin", a, [
  ["an admin reaches the page from the console and sees the config file's PBX connected, read-only", async (site) => {
    await startBranchPbx();
    page = await site.page();
    await site.signIn(page, "admin", "admin-demo").catch(async () => {
      // An admin has no extension, but the console still connects its socket.
      await page.waitForSelector("#console:not([hidden])");
    });
    await page.waitForSelector("#admin-link:not([hidden])");
    await page.click("#admin-link");
    await page.waitForSelector("#panes:not([hidden])");
    await page.waitForSelector(`${row("main")} [data-state="connected"]`);
    assertIncludes(await page.textContent(row("main")), "config file", "the source");
  }],
  ["a new AMI connection added in the page is stored, connects, and passes the test", async () => {
    await page.click("#pbx-add-box summary");
    await page.fill("#pbx-add input[name=id]", "branch");
    await page.selectOption("#pbx-add select[name=type]", "asterisk-ami");
    await page.fill("#pbx-add input[name=host]", "127.0.0.1");
    await page.fill("#pbx-add input[name=port]", String(branchPort));
    await page.fill("#pbx-add input[name=username]", "ringside");
    await page.fill("#pbx-add input[name=secret]", "branch-secret");
    await page.click("#pbx-add button[type=submit]");
    await page.waitForSelector(`${row("branch")} [data-state="connected"]`, { timeout: 15000 });
    assertIncludes(await page.textContent(row("branch")), "added here", "the source");
    await page.click(`${row("branch")} button[data-action="test"]`);
    await page.waitForSelector("#pbx-verdict.ok");
    assertIncludes(await page.textContent("#pbx-verdict"), `logged in to 127.0.0.1:${branchPort}`, "verdict");
  }],
  ["a wrong field is refused with the field named", async () => {
    await page.fill("#pbx-add input[name=id]", "Bad Id");
    await page.click("#pbx-add button[type=submit]");
    await page.waitForSelector("#pbx-add-error:not([hidden])");
    assertIncludes(await page.textContent("#pbx-add-error"), "field 'id'", "error");
  }],
  ["disabling stops it without a restart, and the audit log shows the addition and the disabling", async (site) => {
    await page.click(`${row("branch")} button[data-action="disable"]`);
    await page.waitForSelector(`${row("branch")} [data-state="disabled"]`);
    await page.waitForSelector('#audit-rows tr[data-action="pbx.disable"]');
    await page.waitForSelector('#audit-rows tr[data-action="pbx.add"]');
    const detail = await page.textContent('#audit-rows tr[data-action="pbx.add"]');
    assertIncludes(detail, "branch", "audit detail");
    assert(!detail.includes("branch-secret"), "no secret in the audit log");
    const metrics = await (await fetch(site.base + "/metrics")).text();
    assertIncludes(metrics, 'ringside_pbx_link_up{pbx="branch",state="stopped"} 0', "the link stopped");
    await page.screenshot({ path: path.join(a.artifacts, "admin-connections.png"), fullPage: true });
  }],
  ["a connection is corrected in place (the secret left empty is kept) and then removed, both audited", async () => {
    await page.click(`${row("branch")} button[data-action="enable"]`);
    await page.waitForSelector(`${row("branch")} [data-state="connected"]`, { timeout: 15000 });
    await page.click(`${row("branch")} button[data-action="edit"]`);
    assert(await page.inputValue("#pbx-add input[name=port]") === String(branchPort), "the form holds the port");
    assert(await page.inputValue("#pbx-add input[name=secret]") === "", "the secret is never shown");
    await page.fill("#pbx-add input[name=host]", "localhost");
    await page.click("#pbx-add button[type=submit]");
    await page.waitForSelector('#audit-rows tr[data-action="pbx.update"]');
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes("localhost:"), `${row("branch")} td:nth-child(3)`);
    await page.waitForSelector(`${row("branch")} [data-state="connected"]`, { timeout: 15000 });
    assert(await page.isHidden("#pbx-edit-cancel"), "back to the add form");
    page.once("dialog", (d) => d.accept());
    await page.click(`${row("branch")} button[data-action="remove"]`);
    await page.waitForSelector('#audit-rows tr[data-action="pbx.remove"]');
    await page.waitForSelector(row("branch"), { state: "detached" });
    assert(await page.$(`${row("main")} button[data-action="remove"]`) === null, "config connections have no remove");
  }],
  ["a role change asks first: declined it changes nothing, accepted it is stored", async (site) => {
    const sel = '#user-rows tr[data-user="bob"] select';
    const role = async () => (await (await page.request.get(site.base + "/api/admin/users")).json()).users.find((u) => u.username === "bob").role;
    assert(await role() === "agent", "bob starts an agent");
    let asked = "";
    page.once("dialog", (d) => { asked = d.message(); d.dismiss(); });
    await page.selectOption(sel, "supervisor");
    await page.waitForFunction((s) => document.querySelector(s).value === "agent", sel);
    assertIncludes(asked, "bob", "the question names the user");
    assert(await role() === "agent", "declined: still an agent");
    page.once("dialog", (d) => d.accept());
    await page.selectOption(sel, "supervisor");
    await page.waitForSelector('#audit-rows tr[data-action="user.update"]');
    assert(await role() === "supervisor", "accepted: a supervisor");
    page.once("dialog", (d) => d.accept());
    await page.selectOption('#user-rows tr[data-user="bob"] select', "agent");
    for (let end = Date.now() + 5000; await role() !== "agent"; ) assert(Date.now() < end, "bob back to agent");
  }],
  ["SIP is offered, and the form says it is set in the configuration file", async () => {
    const types = await page.$$eval("#pbx-add select[name=type] option", (os) => os.map((o) => o.value));
    assert(types.includes("sip"), "types: " + types);
    await page.selectOption("#pbx-add select[name=type]", "sip");
    assert(await page.isVisible("#pbx-sip-note"), "the note shows");
    assertIncludes(await page.textContent("#pbx-sip-note"), 'type = "sip"', "how to set it");
    assert(await page.isDisabled("#pbx-add button[type=submit]"), "nothing to submit for SIP");
    assert(await page.isHidden("#pbx-add input[name=host]"), "no host field for SIP");
    await page.selectOption("#pbx-add select[name=type]", "asterisk-ami");
    assert(await page.isEnabled("#pbx-add button[type=submit]"), "AMI submits again");
    assert(await page.isHidden("#pbx-sip-note"), "the note goes");
  }],
  ["the audit log writes dates as the console does", async (site) => {
    const at = (await (await page.request.get(site.base + "/api/admin/audit?limit=1")).json()).entries[0].at;
    const cell = await page.textContent("#audit-rows tr td");
    const expected = await page.evaluate((iso) => new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso)), at);
    assert(cell === expected, `${cell} is ${expected}`);
  }],
  ["the page speaks Persian, right to left", async () => {
    await page.selectOption("#lang", "fa");
    await page.waitForFunction(() => document.documentElement.dir === "rtl");
    assertIncludes(await page.textContent("#pbx-title"), "اتصال‌های مرکز تلفن", "title");
    assertIncludes(await page.textContent(row("main")), "وصل", "state in Persian");
    assertIncludes(await page.textContent('#user-rows tr[data-user="alice"] select'), "کارشناس", "one Persian word for agent");
    await page.screenshot({ path: path.join(a.artifacts, "admin-persian.png"), fullPage: true });
    branch.stdin.end();
    branch.kill("SIGTERM");
  }],
  ["Sign out ends the session and returns to the sign-in form", async (site) => {
    await page.selectOption("#lang", "en");
    await page.click("#logout");
    await page.waitForSelector("#login:not([hidden])");
    assert((await page.request.get(site.base + "/api/me")).status() === 401, "signed out");
  }],
]);
