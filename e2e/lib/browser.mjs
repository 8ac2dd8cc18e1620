// The browser side of the tests: Debian's Chromium driven by playwright-core,
// a scenario wrapper that cleans up, checks the console and saves
// screenshots, and bounded waits on what the page shows.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { REPO, startApp, startRedis, startSpaServer } from './processes.mjs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../test-results/', import.meta.url));
const DOCS = `${REPO}docs/screenshots/`;
const UPDATE_SCREENSHOTS = Boolean(process.env.UPDATE_SCREENSHOTS);

/** The default bound of every wait on the page, in ms. */
export const WAIT_MS = 10_000;

/**
 * Launches headless Chromium from the Debian package. No tool downloads a
 * browser: if it is missing the tests fail (under CI and elsewhere) with a
 * message that says how to get it.
 */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: the browser tests need Debian's chromium ` +
      `(apt-get install chromium; scripts/test installs it when run as root), or set CHROMIUM_PATH.` +
      (process.env.CI ? ' Under CI a missing browser is a failure, not a skip.' : ''),
    );
  }
  try {
    return await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
  } catch (err) {
    throw new Error(`Chromium at ${CHROMIUM} did not start: ${err.message}`);
  }
}

// Runs in every page before its own scripts. It only observes: every
// WebSocket the page opens (open, close code and reason, frames received) and
// every value the demo's socket-state element takes, so short-lived states
// such as "reconnecting" cannot slip between two polls.
function recorder() {
  const rec = { sockets: [], states: [] };
  window.__e2e = rec;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const entry = { url: String(args[0]), at: Date.now(), opened: false, code: null, reason: null, messages: [] };
      rec.sockets.push(entry);
      this.addEventListener('open', () => { entry.opened = true; });
      this.addEventListener('message', (ev) => {
        if (entry.messages.length < 200) entry.messages.push(String(ev.data));
      });
      this.addEventListener('close', (ev) => {
        entry.code = ev.code;
        entry.reason = ev.reason;
        entry.closedAt = Date.now();
      });
    }
  };
  const note = (state) => {
    if (state != null && rec.states[rec.states.length - 1] !== state) rec.states.push(state);
  };
  document.addEventListener('DOMContentLoaded', () => {
    const el = document.querySelector('[data-testid="socket-state"]');
    if (!el) return;
    note(el.dataset.state);
    new MutationObserver((records) => {
      for (const r of records) note(r.oldValue);
      note(el.dataset.state);
    }).observe(el, { attributes: true, attributeFilter: ['data-state'], attributeOldValue: true });
  });
}

/**
 * Declares a test that gets a fresh {@link Harness}: on failure it saves a
 * screenshot of every page and the logs of every server to e2e/test-results/;
 * on success it checks that no page logged a console error it did not expect
 * and (with UPDATE_SCREENSHOTS=1) writes the documentation screenshots.
 */
export function scenario(name, fn, { timeout = 90_000 } = {}) {
  test(name, { timeout }, async (t) => {
    const h = new Harness(name);
    try {
      await fn(h, t);
      h.assertCleanConsole();
      await h.writeDocScreenshots();
    } catch (err) {
      await h.saveFailureArtifacts(err);
      throw err;
    } finally {
      await h.close();
    }
  });
}

/** A PNG of the whole page, cut to its content's height, without hover effects. */
async function shoot(page) {
  await page.mouse.move(0, 0).catch(() => {});
  const { width, height } = await page.evaluate(() => ({
    width: window.innerWidth,
    height: Math.ceil(document.documentElement.getBoundingClientRect().height),
  }));
  return page.screenshot({ fullPage: true, clip: { x: 0, y: 0, width, height } });
}

export class Harness {
  constructor(name) {
    this.name = name;
    this.slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
    this.browserPromise = null;
    this.pages = [];
    this.servers = [];
    this.consoleErrors = [];
    this.docShots = [];
  }

  browser() {
    this.browserPromise ??= launchBrowser();
    return this.browserPromise;
  }

  /** Starts the app (see processes.startApp) and tracks it for cleanup and logs. */
  async app(options) {
    const server = await startApp(options);
    this.servers.push({ label: `app-${server.port}`, server });
    return server;
  }

  /** Restarts an app on its port and tracks the new process. */
  async restart(server) {
    const next = await server.restart();
    this.servers.push({ label: `app-${next.port}-restarted`, server: next });
    return next;
  }

  async redis() {
    const redis = await startRedis();
    this.servers.push({ label: `redis-${redis.port}`, server: redis });
    return redis;
  }

  async spaServer() {
    const spa = await startSpaServer();
    this.servers.push({ label: `spa-${spa.port}`, server: spa });
    return spa;
  }

  /** A new browser context (one cookie jar: one session) with the recorder installed. */
  async context(options = {}) {
    const browser = await this.browser();
    const context = await browser.newContext({ viewport: { width: 720, height: 960 }, ...options });
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(WAIT_MS);
    await context.addInitScript(recorder);
    return context;
  }

  /**
   * Opens `url` in a new page of `context`. `label` names it in messages and
   * files. Console errors are recorded; `allow` lists the RegExps of those
   * the scenario expects (page.allowConsole adds more later).
   */
  async open(context, url, label, { allow = [] } = {}) {
    const page = await context.newPage();
    page.label = label;
    page.allowed = [...allow];
    page.allowConsole = (re) => page.allowed.push(re);
    page.handshakes = []; // every WebSocket handshake the page starts
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      const { url: where = '' } = msg.location() ?? {};
      this.consoleErrors.push({ page, text: where ? `${text} (${where})` : text });
    });
    page.on('pageerror', (err) => this.consoleErrors.push({ page, text: `uncaught: ${err.message}`, fatal: true }));
    page.on('websocket', (ws) => {
      const entry = { url: ws.url(), at: Date.now(), error: null };
      page.handshakes.push(entry);
      ws.on('socketerror', (error) => { entry.error = error; });
    });
    this.pages.push(page);
    await page.goto(url);
    return page;
  }

  assertCleanConsole() {
    const unexpected = this.consoleErrors.filter(
      ({ page, text, fatal }) => fatal || !page.allowed.some((re) => re.test(text)),
    );
    assert.deepEqual(
      unexpected.map(({ page, text }) => `${page.label}: ${text}`), [],
      'the pages logged console errors',
    );
  }

  /** Records a documentation screenshot of `page` as it is now (UPDATE_SCREENSHOTS=1 only). */
  async doc(name, page) {
    if (!UPDATE_SCREENSHOTS) return;
    this.docShots.push({ name, png: await shoot(page) });
  }

  /** Records one documentation screenshot showing `pages` side by side, with captions. */
  async docSideBySide(name, pages) {
    if (!UPDATE_SCREENSHOTS) return;
    const shots = [];
    for (const page of pages) {
      shots.push({ label: page.label, data: (await shoot(page)).toString('base64') });
    }
    const context = await (await this.browser()).newContext({ viewport: { width: 1200, height: 600 } });
    try {
      const sheet = await context.newPage();
      const figures = shots.map(({ label, data }) =>
        `<figure><figcaption>${label}</figcaption><img src="data:image/png;base64,${data}"></figure>`).join('');
      await sheet.setContent(`<!doctype html><style>
        body { margin: 0; padding: 12px; display: flex; gap: 12px; background: #d8dee4; font: 14px system-ui, sans-serif; }
        figure { margin: 0; flex: 1; } figcaption { padding: 0 0 6px; color: #1f2328; font-weight: 600; }
        img { width: 100%; display: block; border: 1px solid #8c959f; }</style>${figures}`);
      await sheet.waitForFunction(() => [...document.images].every((img) => img.complete), null, { timeout: WAIT_MS });
      this.docShots.push({ name, png: await shoot(sheet) });
    } finally {
      await context.close();
    }
  }

  async writeDocScreenshots() {
    if (!UPDATE_SCREENSHOTS || this.docShots.length === 0) return;
    mkdirSync(DOCS, { recursive: true });
    for (const { name, png } of this.docShots) writeFileSync(`${DOCS}${name}.png`, png);
  }

  async saveFailureArtifacts(err) {
    try {
      mkdirSync(RESULTS, { recursive: true });
      const notes = [`${this.name}\n\n${err?.stack ?? err}\n`];
      for (const page of this.pages) {
        const file = `${RESULTS}${this.slug}-${page.label}`;
        try {
          if (!page.isClosed()) {
            await page.screenshot({ path: `${file}.png`, fullPage: true, timeout: 5000 });
            const rec = await page.evaluate(() => window.__e2e ?? null).catch(() => null);
            notes.push(`--- ${page.label} (${page.url()})\nrecorder: ${JSON.stringify(rec, null, 1)}\nhandshakes: ${JSON.stringify(page.handshakes)}`);
          }
        } catch (shotErr) {
          notes.push(`--- ${page.label}: no screenshot (${shotErr.message})`);
        }
      }
      notes.push(`--- console errors\n${this.consoleErrors.map(({ page, text }) => `${page.label}: ${text}`).join('\n')}`);
      for (const { label, server } of this.servers) {
        writeFileSync(`${RESULTS}${this.slug}-${label}.log`, server.output());
      }
      writeFileSync(`${RESULTS}${this.slug}-notes.txt`, notes.join('\n\n'));
      console.error(`failure artifacts of "${this.name}" are in ${RESULTS}`);
    } catch (saveErr) {
      console.error(`could not save the failure artifacts: ${saveErr.message}`);
    }
  }

  async close() {
    if (this.browserPromise) {
      const browser = await this.browserPromise.catch(() => null);
      await browser?.close().catch(() => {});
    }
    for (const { server } of this.servers.reverse()) await server.stop().catch(() => {});
  }
}

// --- what the page shows -----------------------------------------------------

const sel = (testid) => `[data-testid="${testid}"]`;

/** The trimmed text of the element with this data-testid. */
export function text(page, testid) {
  return page.locator(sel(testid)).innerText({ timeout: WAIT_MS }).then((s) => s.trim());
}

/**
 * Waits (bounded) until `fn(arg)` is truthy in the page and returns its value;
 * on timeout fails with `message()` (awaited, so it can show the page's state).
 */
export async function until(page, fn, arg, { timeout = WAIT_MS, message } = {}) {
  try {
    const handle = await page.waitForFunction(fn, arg, { timeout, polling: 50 });
    return await handle.jsonValue();
  } catch (err) {
    if (!/Timeout/i.test(err.message)) throw err;
    const detail = message ? await message() : err.message;
    throw new assert.AssertionError({ message: `${page.label}: ${detail} (waited ${timeout} ms)` });
  }
}

/** Waits until the element's text equals `expected` (a string) or matches it (a RegExp). */
export async function expectText(page, testid, expected, { timeout = WAIT_MS } = {}) {
  const want = expected instanceof RegExp
    ? { source: expected.source, flags: expected.flags }
    : { exact: String(expected) };
  await until(page, ([selector, w]) => {
    const el = document.querySelector(selector);
    if (!el) return false;
    const got = el.textContent.trim();
    return w.exact !== undefined ? got === w.exact : new RegExp(w.source, w.flags).test(got);
  }, [sel(testid), want], {
    timeout,
    message: async () => `expected ${testid} to ${expected instanceof RegExp ? 'match' : 'be'} ${JSON.stringify(String(expected))}, ` +
      `it shows ${JSON.stringify(await page.locator(sel(testid)).textContent().catch(() => null))}`,
  });
}

/** Waits until the demo's socket-state element has data-state = `state`. */
export async function expectSocketState(page, state, { timeout = WAIT_MS, testid = 'socket-state' } = {}) {
  await until(page, ([selector, s]) => document.querySelector(selector)?.dataset.state === s, [sel(testid), state], {
    timeout,
    message: async () => `expected ${testid} data-state=${state}, it is ` +
      `${JSON.stringify(await page.locator(sel(testid)).getAttribute('data-state').catch(() => null))} ` +
      `(${JSON.stringify(await page.locator(sel(testid)).textContent().catch(() => null))})`,
  });
}

/** What the recorder saw: every WebSocket and every socket-state value. */
export function recorded(page) {
  return page.evaluate(() => JSON.parse(JSON.stringify(window.__e2e)));
}

/** Waits until the recorder holds at least `n` sockets closed with `code` (and `reason`, if given). */
export async function expectClosed(page, code, { reason, n = 1, timeout = WAIT_MS } = {}) {
  await until(page, ([c, r, count]) => window.__e2e.sockets
    .filter((s) => s.code === c && (r === null || s.reason === r)).length >= count,
  [code, reason ?? null, n], {
    timeout,
    message: async () => `expected ${n} socket(s) closed with ${code}${reason ? ` "${reason}"` : ''}; the sockets were ` +
      JSON.stringify((await recorded(page)).sockets.map(({ opened, code: c, reason: r }) => ({ opened, code: c, reason: r }))),
  });
}

/** The entries of the demo's event log, newest first. */
export function logLines(page, testid = 'log') {
  return page.locator(`${sel(testid)} li`).allInnerTexts();
}

/** Polls an async Node-side `probe` every 50 ms until it returns truthy (bounded); `message` may be a function. */
export async function eventually(probe, { timeout = WAIT_MS, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const what = typeof message === 'function' ? await message() : message;
      throw new assert.AssertionError({ message: `${what} (waited ${timeout} ms; last: ${last})` });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
