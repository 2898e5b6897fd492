// A headless Chromium the lab test drives line by line: one JSON command per line on stdin,
// one JSON answer per line on stdout ({"ok":true,...} or {"ok":false,"error":"..."}). The test
// runs it inside the lab's client namespace (`nsenter --net=/run/netns/swl-client node
// probe.mjs`), where the nodes' addresses answer, and keeps the cluster commands on its side.
//
// Commands:
//   {"cmd":"open","url":U}                      load the page, wait for its first picture
//   {"cmd":"columns"}                           the node columns: hostname, status, leader
//   {"cmd":"cards","service":S}                 S's cards: name, node (hostname), state, leaving
//   {"cmd":"wait","service":S,"count":N,"node":H,"leaving":B,"timeoutMs":T}
//        waits until the page shows N cards of S (on node H only, when given; cards of tasks
//        told to stop counted only with leaving=true) and answers with `at`, the page's
//        Date.now() at the first animation frame that showed it, `renderedAt`, when the
//        manager rendered the document it showed, and `newest`, the newest card's creation
//   {"cmd":"arm",...same as wait} then {"cmd":"settle"}: the same wait, started by arm and
//        answered by settle, so a cluster command can run in between
//   {"cmd":"mark"} / {"cmd":"marked"}           set / read a value that only survives without reload
//   {"cmd":"screenshot","path":P}               a full-page PNG
//   {"cmd":"quit"}
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
let browser;
let page;
let armed;

// The page's Date.now() at the first animation frame that shows `count` cards of `service`
// (`at`), when the manager rendered the document shown then (`renderedAt`), and when the
// newest of those tasks was created in the store (`newest`).
async function cardsShown({ service, count, node, leaving, timeoutMs }) {
  const handle = await page.waitForFunction(
    ({ service, count, node, leaving }) => {
      const scope = node ? `section.node[data-hostname="${node}"] ` : '';
      const cards = [...document.querySelectorAll(`${scope}.task[data-service="${service}"]`)]
        .filter((c) => leaving || !c.classList.contains('leaving'));
      if (cards.length !== count) return false;
      const created = cards.map((c) => Number(c.querySelector('.age').dataset.created));
      return { at: Date.now(), renderedAt: Number(document.body.dataset.renderedAt), newest: Math.max(0, ...created) };
    },
    { service, count, node, leaving },
    { polling: 'raf', timeout: timeoutMs ?? 2000 },
  );
  return handle.jsonValue();
}

const commands = {
  async open({ url }) {
    browser = await chromium.launch({ executablePath, headless: true });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => process.stderr.write(`page error: ${e}\n`));
    await page.goto(url, { waitUntil: 'load', timeout: 10000 });
    await page.waitForSelector('section.node', { state: 'attached', timeout: 10000 });
    return {};
  },
  async columns() {
    const columns = await page.$$eval('section.node', (cols) => cols.map((c) => ({
      id: c.dataset.nodeId,
      hostname: c.dataset.hostname,
      leader: !!c.querySelector('.leader'),
      facts: [...c.querySelectorAll('.fact')].map((f) => f.textContent),
      mesh: c.querySelector('.mesh').textContent,
    })));
    return { columns };
  },
  async cards({ service }) {
    const cards = await page.evaluate(({ service }) => [...document.querySelectorAll(`.task[data-service="${service}"]`)]
      .map((c) => ({
        name: c.querySelector('.name').textContent,
        node: c.closest('section.node')?.dataset.hostname ?? '',
        state: c.dataset.state,
        leaving: c.classList.contains('leaving'),
        text: c.textContent,
      })), { service });
    return { cards };
  },
  async wait(request) {
    return await cardsShown(request);
  },
  // wait, started now and answered later: arm before the cluster command, settle after it,
  // so the time measured is the page's, not how long the command took to return.
  async arm(request) {
    const shown = cardsShown(request);
    armed = shown.then((shown) => shown, (error) => ({ error }));
    return {};
  },
  async settle() {
    const result = await armed;
    armed = undefined;
    if (result.error) throw result.error;
    return result;
  },
  async mark() {
    await page.evaluate(() => { window.__notReloaded = true; });
    return {};
  },
  async marked() {
    return { marked: await page.evaluate(() => window.__notReloaded === true) };
  },
  async screenshot({ path }) {
    await page.screenshot({ path, fullPage: true });
    return {};
  },
  async quit() {
    if (browser) await browser.close();
    browser = undefined;
    return {};
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    const request = JSON.parse(line);
    const run = commands[request.cmd];
    if (!run) throw new Error(`unknown command ${request.cmd}`);
    answer = { ok: true, ...(await run(request)) };
  } catch (e) {
    answer = { ok: false, error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
  if (answer.ok && line.includes('"quit"')) break;
}
if (browser) await browser.close();
