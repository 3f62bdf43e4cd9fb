// The dashboard in a real browser (Debian's chromium, headless, driven by
// playwright-core): the page lists the service's workers and tasks; with
// actions on, a run queued from the page reaches `success` on the page
// without a reload; with actions off its buttons are disabled and the API
// refuses (403). Saves screenshots beside this test's build directory.
//
//   node dashboard_test.mjs <dashboard_service binary> <output dir> [chromium]

import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import process from "node:process";

const [service, outDir, chromiumPath = "/usr/bin/chromium"] = process.argv.slice(2);
const require = createRequire(path.join(outDir, "node_modules", "noop.js"));
const { chromium } = require("playwright-core");
const timeout = 30_000;

/// Starts the service and resolves with its page's URL and the process.
function startService(actions) {
  return new Promise((resolve, reject) => {
    const child = spawn(service, [], { env: { ...process.env, DASHBOARD_ACTIONS: actions ? "1" : "0" },
                                        stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    const timer = setTimeout(() => reject(new Error("the service did not say where it listens")), timeout);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /dashboard: (http:\/\/\S+)/.exec(out);
      if (match) { clearTimeout(timer); resolve({ url: match[1], child }); }
    });
    child.on("exit", (code) => reject(new Error("the service exited with " + code)));
  });
}

function stop(child) {
  return new Promise((resolve) => { child.on("exit", resolve); child.kill("SIGTERM"); });
}

function check(condition, message) {
  if (!condition) throw new Error(message);
  console.log("ok: " + message);
}

async function seesWorkersAndTasks(page) {
  await page.locator('#workers tr[data-worker="dashboard_service/scheduler"]').waitFor({ timeout });
  await page.locator('#workers tr[data-worker="dashboard_service/task_api_server"]').waitFor({ timeout });
  for (const task of ["add", "dummy", "fast", "ping"]) {
    await page.locator(`#tasks tr[data-task="${task}"]`).waitFor({ timeout });
  }
  check(true, "the page lists the workers and the tasks");
}

async function withActionsOn(browser) {
  const { url, child } = await startService(true);
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("console", (message) => console.log("page: " + message.text()));
    await page.goto(url);
    await seesWorkersAndTasks(page);
    await page.locator("#feed-badge.on").waitFor({ timeout });
    const row = page.locator('#tasks tr[data-task="add"]');
    await row.locator("textarea").fill('{"a": 2, "b": 3}');
    await row.locator('button[data-action="queue"]').click();
    try {
      await page.locator('#runs tr[data-task="add"][data-state="success"]').waitFor({ timeout });
    } catch (e) {
      await page.screenshot({ path: path.join(outDir, "dashboard-failed.png"), fullPage: true });
      console.log("runs: " + await page.locator("#runs").innerText());
      console.log("message: " + await page.locator("#message").innerText());
      throw e;
    }
    check(true, "a run queued from the page reaches success without a reload");
    const queued = await page.evaluate(() => performance.getEntriesByType("navigation").length);
    check(queued === 1, "the page was loaded once");
    await page.screenshot({ path: path.join(outDir, "dashboard.png"), fullPage: true });
  } finally {
    await stop(child);
  }
}

async function withActionsOff(browser) {
  const { url, child } = await startService(false);
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(url);
    await seesWorkersAndTasks(page);
    const buttons = page.locator("#tasks button, #queues button");
    await page.locator("#queues button").first().waitFor({ timeout });
    const count = await buttons.count();
    for (let i = 0; i < count; ++i) check(await buttons.nth(i).isDisabled(), `button ${i} is disabled`);
    check(count > 0, "there are buttons to disable");
    const status = await page.evaluate(async () => (await fetch("/tasks/add", { method: "POST", body: "{}" })).status);
    check(status === 403, "the API refuses to queue (403)");
    await page.screenshot({ path: path.join(outDir, "dashboard-read-only.png"), fullPage: true });
  } finally {
    await stop(child);
  }
}

const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--headless=new"] });
try {
  await withActionsOn(browser);
  await withActionsOff(browser);
} finally {
  await browser.close();
}
console.log("dashboard_test: passed; screenshots in " + outDir);
