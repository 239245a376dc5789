// Opens a rhetor report in headless Chromium and checks that it renders offline: no console
// errors, no page errors, no network requests, and the expected sections and charts. Saves a
// screenshot. Usage: node check_report.mjs REPORT.html SCREENSHOT.png
import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";

const [report, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
const problems = [];
const requests = [];
page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("request", (r) => { if (!r.url().startsWith("file:")) requests.push(r.url()); });
await page.goto(pathToFileURL(report).href, { waitUntil: "load" });
const facts = await page.evaluate(() => ({
  title: document.title,
  sections: [...document.querySelectorAll("h2")].map((h) => h.textContent),
  charts: document.querySelectorAll("svg.chart").length,
  chartTitles: [...document.querySelectorAll("svg.chart > title")].map((t) => t.textContent),
  legends: document.querySelectorAll("svg.chart .legend").length,
  marks: document.querySelectorAll("mark.actor").length,
  recRows: document.querySelectorAll("table.recs tbody tr").length,
  width: document.documentElement.scrollWidth,
}));
await page.screenshot({ path: screenshot, fullPage: true });
// The first screenful too, for the README.
await page.screenshot({ path: screenshot.replace(/\.png$/, "-top.png") });
await browser.close();
console.log(JSON.stringify({ problems, requests, ...facts }));
