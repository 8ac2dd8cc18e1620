// Scenario 4: with a short TTL and reload interval, an idle page's session
// expires; its socket is closed with 4001, reconnects by itself and the page
// shows a fresh session, which HTTP shares.

import assert from 'node:assert/strict';

import {
  expectClosed, expectSocketState, expectText, logLines, recorded, scenario, until,
} from '../lib/browser.mjs';

scenario('4. an idle page\'s expired session: socket closed with 4001, reconnects, fresh session', async (h) => {
  const app = await h.app({ env: { SESSION_TTL_SECS: '3', SESSION_RELOAD_INTERVAL_SECS: '1' } });
  const page = await h.open(await h.context(), `${app.origin}/`, 'page');
  await expectSocketState(page, 'open');
  await page.getByRole('button', { name: 'Increment over HTTP' }).click();
  await expectText(page, 'count', '1');
  await page.getByRole('button', { name: 'Increment over the socket' }).click();
  await expectText(page, 'count', '2');

  // Idle from here on: the session expires 3 s after the last write, and the
  // socket's next reload (every second) finds it gone.
  await expectClosed(page, 4001, { reason: 'session expired', timeout: 10_000 });
  await until(page, () => {
    const { sockets } = window.__e2e;
    const expired = sockets.findIndex((s) => s.code === 4001 && s.reason === 'session expired');
    return sockets.slice(expired + 1).some((s) => s.opened);
  }, null, { message: async () => 'expected a new socket to open after the 4001' });
  await expectSocketState(page, 'open');
  await expectText(page, 'count', '0');
  await expectText(page, 'name', 'anonymous');
  await expectText(page, 'auth-state', 'not logged in');
  assert.ok((await logLines(page)).some((line) => /close\s+4001 session expired/.test(line)),
    'the log shows the 4001 close');

  // The fresh session came with the handshake's Set-Cookie: HTTP shares it.
  await page.getByRole('button', { name: 'Increment over HTTP' }).click();
  await expectText(page, 'count', '1');
  await until(page, () => window.__e2e.sockets[window.__e2e.sockets.length - 1].messages
    .some((m) => m === '{"event":"current count","data":1}'), null,
  { message: async () => `expected the new socket to receive count 1: ${JSON.stringify((await recorded(page)).sockets.at(-1))}` });
});
