// Scenario 5: the server restarts under an open page. The page shows
// "reconnecting", keeps trying by itself, and reconnects when the server is
// back: to a new session on the embedded store (which died with the
// process), to the same session on Redis.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import {
  eventually, expectClosed, expectSocketState, expectText, scenario, until,
} from '../lib/browser.mjs';
import { haveRedis } from '../lib/processes.mjs';

async function restartUnderOpenPage(h, t, { redis }) {
  const env = {};
  if (redis) {
    const server = await h.redis();
    env.REDIS_URL = server.url;
    env.REDIS_KEY_PREFIX = `e2e-${randomBytes(4).toString('hex')}:`;
  }
  const app = await h.app({ env });
  const page = await h.open(await h.context(), `${app.origin}/`, 'page');
  await expectSocketState(page, 'open');
  await expectText(page, 'store', redis ? 'redis' : 'memory');

  await page.getByLabel('Name', { exact: true }).fill('Grace');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expectClosed(page, 4001, { reason: 'session renewed' });
  await expectText(page, 'name', 'Grace');
  await expectSocketState(page, 'open');
  await page.getByRole('button', { name: 'Increment over HTTP' }).click();
  await page.getByRole('button', { name: 'Increment over the socket' }).click();
  await expectText(page, 'count', '2');

  // Marks this document: it must be the same one after the restart (no reload).
  await page.evaluate(() => { window.__beforeRestart = true; });
  const statesBefore = (await page.evaluate(() => window.__e2e.states.length));
  const handshakesBefore = page.handshakes.length;
  // While the server is down, Chromium itself logs each refused handshake;
  // a reconnect that lands while the server is still draining its sockets
  // is refused with 503 (new handshakes are refused during shutdown), which
  // Chromium logs too.
  page.allowConsole(/^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws' failed: .*ERR_CONNECTION_REFUSED/);
  page.allowConsole(/^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws' failed: Error during WebSocket handshake: Unexpected response code: 503$/);

  const stopped = await app.stop();
  assert.equal(stopped.code, 0, `the server exits 0 on SIGTERM (exit ${stopped.code}, signal ${stopped.signal})`);
  assert.ok(stopped.ms < 10_000, `the server exits within 10 s (took ${stopped.ms} ms)`);
  t.diagnostic(`SIGTERM to exit: ${stopped.ms} ms`);
  await expectClosed(page, 1001);
  await until(page, (from) => window.__e2e.states.slice(from).includes('reconnecting'), statesBefore,
    { message: async () => `expected the page to show "reconnecting"; states: ${JSON.stringify(await page.evaluate(() => window.__e2e.states))}` });
  // It keeps trying on its own: at least one handshake refused while the server is down.
  await eventually(() => page.handshakes.slice(handshakesBefore).some((hs) => hs.error),
    { timeout: 15_000, message: 'expected a refused reconnect attempt while the server is down' });
  await expectSocketState(page, 'reconnecting', { timeout: 15_000 });
  await expectText(page, 'socket-state', /^reconnecting in \d+\.\d s$/);
  if (!redis) await h.doc('reconnecting', page);

  await h.app({ port: app.port, env: app.env }); // the same port, secret and store
  const restarted = Date.now();
  await expectSocketState(page, 'open', { timeout: 20_000 });
  t.diagnostic(`the page reconnected ${Date.now() - restarted} ms after the server was back`);
  assert.equal(await page.evaluate(() => window.__beforeRestart), true, 'the page reconnected by itself, without a reload');

  if (redis) {
    // Redis kept the session: same name, same count, same cookie.
    await expectText(page, 'name', 'Grace');
    await expectText(page, 'auth-state', 'logged in');
    await expectText(page, 'count', '2');
    await page.getByRole('button', { name: 'Increment over HTTP' }).click();
    await expectText(page, 'count', '3');
  } else {
    // The embedded store died with the process: a new, anonymous session.
    await expectText(page, 'name', 'anonymous');
    await expectText(page, 'auth-state', 'not logged in');
    await expectText(page, 'count', '0');
    await page.getByRole('button', { name: 'Increment over HTTP' }).click();
    await expectText(page, 'count', '1');
  }
}

scenario('5a. server restart on the embedded store: reconnecting, then a new session', async (h, t) => {
  await restartUnderOpenPage(h, t, { redis: false });
});

if (haveRedis() || process.env.CI) {
  scenario('5b. server restart on the Redis store: reconnecting, then the same session', async (h, t) => {
    await restartUnderOpenPage(h, t, { redis: true });
  });
} else {
  test('5b. server restart on the Redis store', { skip: 'redis-server is not installed (apt-get install redis-server); under CI this fails instead' }, () => {});
}
