// Scenario 3: a login in one page renews the session for both pages (their
// sockets reconnect under the new key and show the name); a logout in one
// page closes both sockets with 4000, and neither tries to reconnect.

import assert from 'node:assert/strict';

import {
  eventually, expectClosed, expectSocketState, expectText, logLines, recorded, scenario,
} from '../lib/browser.mjs';

/** The last socket the page opened is open and its first frame is this session. */
async function lastSession(page) {
  const { sockets } = await recorded(page);
  const last = sockets[sockets.length - 1];
  return { opened: last.opened, session: last.messages.length ? JSON.parse(last.messages[0]) : null };
}

scenario('3. login in A shows the name in A and B; logout in A closes both sockets with 4000 for good', async (h) => {
  const app = await h.app();
  const context = await h.context();
  const a = await h.open(context, `${app.origin}/`, 'A');
  await expectSocketState(a, 'open');
  const b = await h.open(context, `${app.origin}/`, 'B');
  await expectSocketState(b, 'open');
  await a.getByRole('button', { name: 'Increment over HTTP' }).click();
  await expectText(b, 'count', '1');

  // Log in from the keyboard: type the name, press Enter.
  await a.getByLabel('Name', { exact: true }).focus();
  await a.keyboard.type('Ada Lovelace');
  await a.keyboard.press('Enter');

  // The server closes both sockets with 4001 "session renewed"; both reconnect
  // with the renewed cookie and the session frame carries the name.
  for (const page of [a, b]) {
    await expectClosed(page, 4001, { reason: 'session renewed' });
    await expectText(page, 'name', 'Ada Lovelace');
    await expectText(page, 'auth-state', 'logged in');
    await expectSocketState(page, 'open');
    await expectText(page, 'count', '1');
    assert.deepEqual((await lastSession(page)).session,
      { event: 'session', data: { count: 1, name: 'Ada Lovelace', authenticated: true } },
      `${page.label}'s new socket is on the renewed session`);
  }
  await eventually(async () => {
    const { sockets, sessions } = await app.health();
    return sockets === 2 && sessions === 1;
  }, { message: 'expected /healthz to count 2 sockets on 1 session after the login' });
  await h.doc('logged-in', a);

  // Log out in A.
  await a.getByRole('button', { name: 'Log out' }).click();
  for (const page of [a, b]) {
    await expectText(page, 'auth-state', 'logged out');
    await expectText(page, 'name', 'anonymous');
    await expectClosed(page, 4000, { reason: 'logout' });
    await expectSocketState(page, 'closed');
    await expectText(page, 'socket-state', 'closed: logged out');
    assert.equal(await page.getByRole('button', { name: 'Increment over HTTP' }).isDisabled(), true,
      `${page.label}: the increment buttons are disabled after logout`);
    assert.ok((await logLines(page)).some((line) => /close\s+4000 logout/.test(line)),
      `${page.label}: the log shows the 4000 close`);
  }
  await eventually(async () => (await app.health()).sockets === 0,
    { message: 'expected /healthz to count 0 sockets after the logout' });
  await h.doc('logged-out', b);

  // Nothing reconnects: count the handshakes both pages start during 10 s.
  const handshakes = { A: a.handshakes.length, B: b.handshakes.length };
  const sockets = { A: (await recorded(a)).sockets.length, B: (await recorded(b)).sockets.length };
  await new Promise((resolve) => setTimeout(resolve, 10_000)); // the window under observation
  for (const page of [a, b]) {
    assert.equal(page.handshakes.length, handshakes[page.label], `${page.label} started no WebSocket handshake in 10 s`);
    assert.equal((await recorded(page)).sockets.length, sockets[page.label], `${page.label} created no WebSocket in 10 s`);
    assert.equal(await page.locator('[data-testid="socket-state"]').getAttribute('data-state'), 'closed');
  }
  assert.equal((await app.health()).sockets, 0);
});
