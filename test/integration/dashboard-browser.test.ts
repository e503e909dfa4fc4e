// The dashboard in a real headless Chromium (Debian's, driven by playwright-core) against a real
// `sluice dev` process with API keys, under a real overload: the page must show the fill ratio
// past 70%, the fill alert and charts with data, on a laptop screen and a phone, must ask for the
// key, and must pick the stream up again when the process dies and comes back. Two process starts
// in all: on a busy machine each can take seconds. Screenshots go to test-artifacts/.
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { connect, type Client } from '../../src/client/index.js';
import type { TaskMap } from '../../src/core/tasks.js';
import { FIXTURES, startDevProcess, type SluiceProcess } from '../helpers/processes.js';

// The functions passed to page.evaluate run in the page; only their source crosses over.
/* eslint-disable @typescript-eslint/no-explicit-any -- the page's DOM, untyped in this node build */
declare const document: any;
declare const window: any;
declare const performance: any;
declare const sessionStorage: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const CHROMIUM = process.env['SLUICE_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));
/** Two slots of 250 ms tasks serve 8 a second; the load offers about 25 times that. */
const DEV_FLAGS = ['--capacity', '2', '--threads', '2', '--max-queue', '40'];
const TASK_MS = 250;
const KEY = 'dashboard-browser-key-0123456789';
/** A dev process starting beside the rest of the suite on two cores can be slow to say it is ready. */
const READY_MS = 45_000;
/** Snapshots (one a second) each chart must hold before it counts as drawn. */
const CHART_POINTS = 5;

async function chromiumMissing(): Promise<string | undefined> {
  try {
    await access(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    return `Chromium not found at ${CHROMIUM}: \`npm test\` installs Debian's chromium (scripts/ensure-chromium.sh) only where apt-get is usable as root; install it or set SLUICE_CHROMIUM`;
  }
}

/**
 * Offers tasks far faster than the node serves them, without retries, until stopped: bounded to
 * `maxTasks` submissions and `maxMs`. Every refusal is expected; each answer is awaited on stop.
 */
function overload(client: Client<TaskMap>, maxTasks: number, maxMs: number): { stop(): Promise<number> } {
  const answers: Promise<unknown>[] = [];
  const until = Date.now() + maxMs;
  const timer = setInterval(() => {
    if (answers.length >= maxTasks || Date.now() > until) return clearInterval(timer);
    for (let i = 0; i < 10; i++) answers.push(client.run('sleep', { ms: TASK_MS }, { retry: false, timeoutMs: 10_000 }).catch(() => undefined));
  }, 50);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(answers);
      return answers.length;
    },
  };
}

/** The figures the page shows, read from the DOM the way a person reads them. */
interface PageReading {
  connection: string;
  fill: number;
  fillText: string;
  alertShown: boolean;
  alertKinds: string;
  alertText: string;
  charts: Record<string, { points: number; max: number }>;
  workerRows: number;
  managerId: string;
}

function readPage(page: Page): Promise<PageReading> {
  return page.evaluate(() => {
    const banner = document.getElementById('alerts')!;
    const charts: Record<string, { points: number; max: number }> = {};
    for (const box of document.querySelectorAll('.chart')) {
      charts[box.id] = { points: Number(box.dataset['points'] ?? 0), max: Number(box.dataset['max'] ?? 0) };
    }
    return {
      connection: document.getElementById('connection')!.dataset['state'] ?? '',
      fill: Number(document.getElementById('tile-fill')!.dataset['fill'] ?? 0),
      fillText: document.getElementById('fill')!.textContent ?? '',
      alertShown: !banner.hidden && banner.getBoundingClientRect().height > 0,
      alertKinds: banner.dataset['kinds'] ?? '',
      alertText: banner.textContent ?? '',
      charts,
      workerRows: Number(document.getElementById('workers')!.dataset['rows'] ?? 0),
      managerId: document.getElementById('manager')!.dataset['managerId'] ?? '',
    };
  });
}

/** Polls the page every 200 ms until `accept` holds; fails with the last reading after `ms`. */
async function pageUntil(page: Page, what: string, accept: (r: PageReading) => boolean, ms = 15_000): Promise<PageReading> {
  const deadline = Date.now() + ms;
  let last: PageReading | undefined;
  while (Date.now() < deadline) {
    last = await readPage(page);
    if (accept(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the page did not show ${what} within ${ms} ms; last reading: ${JSON.stringify(last)}`);
}

const missing = await chromiumMissing();

describe('the dashboard in headless Chromium under overload', { skip: missing }, () => {
  let dev: SluiceProcess | undefined;
  let browser: Browser | undefined;
  let client: Client<TaskMap> | undefined;
  let keyDir = '';
  let devFlags: string[] = [];
  let port = 0;
  let httpPort = 0;
  const pageErrors: string[] = [];

  /** A browser context (its own tabs and storage) whose tabs already hold the API key. */
  async function keyedContext(viewport: { width: number; height: number }): Promise<BrowserContext> {
    const context = await browser!.newContext({ viewport });
    await context.addInitScript((key: string) => sessionStorage.setItem('sluice.apiKey', key), KEY);
    return context;
  }

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    keyDir = await mkdtemp(join(tmpdir(), 'sluice-dashboard-'));
    await writeFile(join(keyDir, 'keys'), `# test key\n${KEY}\n`);
    devFlags = [...DEV_FLAGS, '--api-keys-file', join(keyDir, 'keys')];
    ({ proc: dev, port, httpPort } = await startDevProcess(`${FIXTURES}integration-tasks.js`, devFlags, {}, READY_MS));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // A fresh profile each run (playwright-core makes a temporary --user-data-dir and removes it).
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await client?.close();
    await browser?.close();
    await dev?.stop();
    if (keyDir !== '') await rm(keyDir, { recursive: true, force: true });
  });

  it('shows the fill ratio crossing 70%, the fill alert and charts with data', async (t) => {
    const context = await keyedContext({ width: 1366, height: 900 });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(`http://127.0.0.1:${httpPort}/`);
    const calm = await pageUntil(page, 'live figures', (r) => r.connection === 'live' && r.fillText !== '–', 10_000);
    // Reported, not asserted: timings on a shared machine are not a pass/fail matter.
    const timing = await page.evaluate(() => ({
      ready: Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd),
      figures: Math.round(performance.getEntriesByName('sluice:first-figures')[0].startTime),
    }));
    t.diagnostic(`page ready ${timing.ready} ms, first figures ${timing.figures} ms after navigation began`);
    assert.ok(calm.fill < 0.7 && !calm.alertShown, `idle: no alert yet (${JSON.stringify(calm)})`);

    client = await connect({ manager: `127.0.0.1:${port}` });
    const load = overload(client, 3_000, 20_000);
    try {
      const hot = await pageUntil(page, 'a fill ratio over 70% with the fill alert',
        (r) => r.fill > 0.7 && r.alertShown && r.alertKinds.includes('fill'), 20_000);
      assert.match(hot.alertText, /critical|warning/i);
      // A few more snapshots, so every chart has drawn lines through the overload.
      const seen = await pageUntil(page, 'charts with data', (r) => Object.values(r.charts).every((c) => c.points >= CHART_POINTS)
        && r.charts['chart-rejections']!.max > 0 && r.charts['chart-latency']!.max > 0 && r.charts['chart-throughput']!.max > 0, 15_000);
      assert.ok(seen.charts['chart-fill']!.max > 0.7, 'the fill chart drew the crossing');
      assert.ok(seen.charts['chart-depth']!.max > 0, 'the depth chart drew the queue');
      assert.ok(seen.charts['chart-slots']!.max > 0, 'the slots chart drew busy slots');
      assert.equal(seen.workerRows, 1, 'the worker table lists the dev node');
      // The charts really painted: a canvas with non-blank pixels.
      const painted = await page.evaluate(() => [...document.querySelectorAll('.chart canvas')].every((c) => {
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
        return false;
      }));
      assert.ok(painted, 'every chart canvas has something drawn');
      await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });

      // A phone: one column, nothing wider than the screen, the alert still in view at the top.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(300);
      const phone = await page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        alertTop: document.getElementById('alerts')!.getBoundingClientRect().top,
      }));
      assert.ok(phone.overflow <= 0, `no sideways scrolling on a phone (${phone.overflow} px too wide)`);
      assert.ok(phone.alertTop < 844, 'the alert banner is on the first screen');
      await page.screenshot({ path: `${ARTIFACTS}dashboard-phone.png` });
    } finally {
      t.diagnostic(`${await load.stop()} tasks offered`);
    }
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
    await context.close();
  });

  it('asks for the API key, and keeps it for this tab only', async () => {
    const context = await browser!.newContext({ viewport: { width: 1024, height: 768 } });
    try {
      const page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(`http://127.0.0.1:${httpPort}/`);
      await page.locator('#key-dialog[open]').waitFor({ timeout: 10_000 });
      await pageUntil(page, 'that a key is needed', (r) => r.connection === 'unauthorized', 10_000);
      await page.fill('#key-input', KEY);
      await page.click('#key-form button');
      await pageUntil(page, 'live figures once the key is given', (r) => r.connection === 'live' && r.fillText !== '–', 10_000);
      assert.equal(await page.evaluate(() => sessionStorage.getItem('sluice.apiKey')), KEY);
      await page.reload();
      await pageUntil(page, 'live figures after a reload, without asking', (r) => r.connection === 'live' && r.fillText !== '–', 10_000);
      assert.equal(await page.locator('#key-dialog[open]').count(), 0, 'no prompt after a reload of the same tab');
      const other = await context.newPage();
      await other.goto(`http://127.0.0.1:${httpPort}/`);
      await pageUntil(other, 'that another tab needs the key again', (r) => r.connection === 'unauthorized', 10_000);
      assert.deepEqual(pageErrors, [], 'no script errors on the page');
    } finally {
      await context.close();
    }
  });

  it('follows the stream again when the process dies and comes back', async () => {
    const context = await keyedContext({ width: 1024, height: 768 });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`http://127.0.0.1:${httpPort}/`);
    const before = await pageUntil(page, 'live figures', (r) => r.connection === 'live' && r.managerId !== '', 10_000);
    await client?.close();
    client = undefined;
    dev!.kill('SIGKILL');
    await dev!.exited;
    await pageUntil(page, 'that the stream dropped', (r) => r.connection === 'reconnecting' || r.connection === 'stale', 10_000);
    // The same HTTP port again (the later --http-port wins), as a restarted service would have.
    ({ proc: dev } = await startDevProcess(`${FIXTURES}integration-tasks.js`, [...devFlags, '--http-port', String(httpPort)], {}, READY_MS));
    const back = await pageUntil(page, 'live figures from the new process', (r) => r.connection === 'live' && r.managerId !== before.managerId && r.managerId !== '', 20_000);
    assert.notEqual(back.managerId, before.managerId);
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
    await context.close();
  });

});
