// Scenario 8: Socket.IO. The Node recipe's own page, unmodified
// (examples/socketio-recipe/index.html, served at / by the example binary
// socketio_pages), in two tabs of one session: POST /incr and emit("incr")
// reach both tabs, and a logout leaves both disconnected for good. Then the
// app's /ws demo and the recipe's page side by side in one session: one
// count, through a login that renews the key. The lobby example in two
// sessions. (Two instances behind a round-robin proxy wait for the shared
// polling state: not here yet.)

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';

import { eventually, expectSocketState, expectText, scenario, until } from '../lib/browser.mjs';
import { EXAMPLES, REPO } from '../lib/processes.mjs';

const RECIPE_FILE = `${REPO}examples/socketio-recipe/index.html`;
const PEER_FILE = `${REPO}../shared/peer/node-socketio/index.html`;
const RECIPE = readFileSync(RECIPE_FILE, 'utf8');

/** The app with the recipe's page at / (examples/socketio_pages.rs). */
const recipeApp = (h, path = '/') => h.app({ binary: `${EXAMPLES}socketio_pages`, args: ['recipe', path] });

/**
 * Opens the recipe's page and waits until its socket is connected. Records
 * every Engine.IO handshake request (a /socket.io/ request without a `sid`)
 * in page.sioHandshakes, and every `current count` in window.__counts.
 */
async function openRecipe(h, context, url, label) {
  // The page is unmodified: it has no icon, so the browser asks for
  // /favicon.ico, and the app has none (the Node recipe has none either).
  const page = await h.open(context, url, label, { allow: [/favicon\.ico/] });
  page.sioHandshakes = [];
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (u.pathname === '/socket.io/' && !u.searchParams.has('sid')) page.sioHandshakes.push(Date.now());
  });
  await expectRecipeStatus(page, 'connected');
  await page.evaluate(() => {
    window.__counts = [];
    socket.on('current count', (n) => window.__counts.push(n));
  });
  return page;
}

/** Waits until the recipe page's status reads `status` and its socket agrees. */
async function expectRecipeStatus(page, status) {
  await until(page, (want) => document.getElementById('status').innerText === want &&
    socket.connected === (want === 'connected'), status, {
    message: async () => `expected the status "${status}", it is ` +
      JSON.stringify(await page.evaluate(() => [document.getElementById('status').innerText, socket.connected])),
  });
}

const recipeCount = (page) => page.evaluate(() => document.getElementById('count').innerText);
const counts = (page) => page.evaluate(() => window.__counts);

scenario('8a. the recipe page unmodified in two tabs: POST /incr and emit("incr") reach both; logout disconnects both for good', async (h) => {
  if (existsSync(PEER_FILE)) {
    assert.equal(RECIPE, readFileSync(PEER_FILE, 'utf8'), 'examples/socketio-recipe/index.html is the peer\'s page byte for byte');
  }
  const app = await recipeApp(h);
  const served = await fetch(`${app.origin}/`);
  assert.equal(await served.text(), RECIPE, 'GET / serves the recipe page unchanged');

  const context = await h.context();
  // One after the other: A's handshake starts the session (its Set-Cookie),
  // and B's carries that cookie.
  const a = await openRecipe(h, context, `${app.origin}/`, 'A');
  const b = await openRecipe(h, context, `${app.origin}/`, 'B');
  assert.equal(await recipeCount(a), '0');
  // The client's defaults: a polling handshake, then the upgrade to WebSocket.
  for (const page of [a, b]) {
    await until(page, () => socket.io.engine?.transport?.name === 'websocket', null, {
      message: async () => `expected the upgrade to WebSocket, the transport is ${
        await page.evaluate(() => socket.io.engine?.transport?.name)}`,
    });
  }
  await eventually(async () => {
    const { sockets, sessions } = await app.health();
    return sockets === 2 && sessions === 1;
  }, { message: 'expected /healthz to count 2 sockets on 1 session' });
  await h.docSideBySide('socketio-recipe-two-tabs', [a, b]);

  // The page's buttons: POST /incr in A (A shows the answer's text), emit("incr") in B.
  await a.getByRole('button', { name: 'POST /incr' }).click();
  for (const page of [a, b]) await until(page, () => document.getElementById('count').innerText === '1');
  await b.getByRole('button', { name: 'emit("incr")' }).click();
  for (const page of [a, b]) await until(page, () => document.getElementById('count').innerText === '2');
  // emit("incr") on the page's own socket, with an acknowledgement: the new count.
  const acked = await a.evaluate(() => new Promise((resolve) => socket.emit('incr', resolve)));
  assert.equal(acked, 3, 'the incr acknowledgement carries the new count');
  for (const page of [a, b]) {
    await until(page, () => document.getElementById('count').innerText === '3');
    await until(page, () => window.__counts.length === 3);
    assert.deepEqual(await counts(page), [1, 2, 3], `${page.label} received every count over Socket.IO, in order`);
  }

  // POST /logout in A: the server sends DISCONNECT to both sockets.
  const before = { A: a.sioHandshakes.length, B: b.sioHandshakes.length };
  await a.getByRole('button', { name: 'POST /logout' }).click();
  for (const page of [a, b]) {
    await expectRecipeStatus(page, 'disconnected');
    // The client's own word that it will not reconnect: the socket is not
    // active and its manager has closed the Engine.IO connection.
    await until(page, () => !socket.active && socket.io._readyState === 'closed', null, {
      message: async () => `expected an inactive socket and a closed manager, got ${JSON.stringify(
        await page.evaluate(() => [socket.active, socket.io._readyState]))}`,
    });
  }
  await eventually(async () => (await app.health()).sockets === 0,
    { message: 'expected /healthz to count 0 sockets after the logout' });
  // A reconnection would start within the client's first reconnection delay
  // (reconnectionDelay × (1 + randomizationFactor): 1.5 s by default); watch
  // one such window plus a margin, no longer.
  const windowMs = await a.evaluate(() => socket.io.reconnectionDelay() * (1 + socket.io.randomizationFactor()));
  await new Promise((resolve) => setTimeout(resolve, windowMs + 500));
  for (const page of [a, b]) {
    assert.equal(page.sioHandshakes.length, before[page.label], `${page.label} started no new handshake after the logout`);
    assert.deepEqual(await page.evaluate(() => [document.getElementById('status').innerText, socket.connected, socket.active]),
      ['disconnected', false, false], `${page.label} stays disconnected`);
  }
  assert.equal((await app.health()).sockets, 0);
});

scenario('8b. the /ws demo and the recipe page side by side in one session see one count, also after a login', async (h) => {
  // The app's demo stays at /; the example serves the recipe page beside it.
  const app = await recipeApp(h, '/recipe');
  const context = await h.context();

  const demo = await h.open(context, `${app.origin}/`, 'ws-demo');
  await expectSocketState(demo, 'open');
  const sio = await openRecipe(h, context, `${app.origin}/recipe`, 'socketio');
  await eventually(async () => {
    const { sockets, sessions } = await app.health();
    return sockets === 2 && sessions === 1;
  }, { message: 'expected /healthz to count 2 sockets (one of each) on 1 session' });

  const both = async (n) => {
    await expectText(demo, 'count', String(n));
    await until(sio, (want) => document.getElementById('count').innerText === want, String(n));
  };
  await demo.getByRole('button', { name: 'Increment over HTTP' }).click();
  await both(1);
  await sio.getByRole('button', { name: 'emit("incr")' }).click();
  await both(2);
  await demo.getByRole('button', { name: 'Increment over the socket' }).click();
  await both(3);
  await sio.getByRole('button', { name: 'POST /incr' }).click();
  await both(4);
  assert.deepEqual(await counts(sio), [1, 2, 3, 4], 'the Socket.IO page received every count in order');
  await h.docSideBySide('socketio-and-ws', [demo, sio]);

  // A login in the demo renews the key: /ws closes with 4001 and the
  // Socket.IO transport closes; both reconnect with the new cookie.
  const oldId = await sio.evaluate(() => socket.id);
  await demo.getByLabel('Name', { exact: true }).fill('ada');
  await demo.getByRole('button', { name: 'Log in' }).click();
  await expectText(demo, 'name', 'ada');
  await expectSocketState(demo, 'open');
  await until(sio, (old) => socket.connected && socket.id !== old, oldId, {
    message: async () => `expected a reconnected socket, got ${JSON.stringify(await sio.evaluate(() => [socket.connected, socket.id]))}`,
  });
  await eventually(async () => {
    const { sockets, sessions } = await app.health();
    const { online } = await (await fetch(`${app.origin}/presence`)).json();
    return sockets === 2 && sessions === 1 && JSON.stringify(online) === '["ada"]';
  }, { message: 'expected 2 sockets on 1 session and "ada" online once' });
  await sio.getByRole('button', { name: 'emit("incr")' }).click();
  await both(5);
  await demo.getByRole('button', { name: 'Increment over HTTP' }).click();
  await both(6);
});

scenario('8c. the lobby example over Socket.IO: a login, a chat message and who is online reach another session', async (h) => {
  const app = await h.app({ binary: `${EXAMPLES}socketio_pages`, args: ['lobby'] });
  const alice = await h.open(await h.context(), `${app.origin}/`, 'alice');
  await expectSocketState(alice, 'connected');
  const reader = await h.open(await h.context(), `${app.origin}/`, 'reader');
  await expectSocketState(reader, 'connected');

  // The login renews alice's key: her transport closes and Socket.IO reconnects.
  await alice.getByLabel('Name', { exact: true }).fill('alice');
  await alice.getByRole('button', { name: 'Log in' }).click();
  await expectText(alice, 'name', 'alice');
  await expectSocketState(alice, 'connected');
  await expectText(reader, 'online-list', 'alice');

  const hostile = '<img src=x onerror=alert(1)>';
  await alice.getByLabel('Message', { exact: true }).fill(hostile);
  await alice.getByRole('button', { name: 'Send' }).click();
  for (const page of [alice, reader]) {
    await expectText(page, 'chat-messages', new RegExp(`alice: ${hostile.replace(/[()]/g, '\\$&')}`));
    assert.equal(await page.locator('[data-testid="chat-messages"] img').count(), 0, `${page.label}: the text made no element`);
  }
  // An anonymous session may read but not write: the acknowledgement says why.
  await reader.getByLabel('Message', { exact: true }).fill('hello');
  await reader.getByRole('button', { name: 'Send' }).click();
  await expectText(reader, 'chat-error', /^login_required: /);

  // The counter of the lobby page: over HTTP and over the socket (acknowledged).
  await alice.getByRole('button', { name: 'POST /incr' }).click();
  await expectText(alice, 'count', '1');
  await alice.getByRole('button', { name: 'emit("incr")' }).click();
  await expectText(alice, 'count', '2');
  await expectText(reader, 'count', '0');
  await h.docSideBySide('socketio-lobby', [alice, reader]);
});
