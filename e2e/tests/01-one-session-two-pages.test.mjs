// Scenario 1: two pages in one browser context are one session. A click in
// either page, over HTTP or over the socket, shows in both; a reload keeps
// the count.

import assert from 'node:assert/strict';

import { eventually, expectSocketState, expectText, recorded, scenario } from '../lib/browser.mjs';

scenario('1. two pages of one context share the count both ways, and it survives a reload', async (h) => {
  const app = await h.app();
  const context = await h.context();

  const a = await h.open(context, `${app.origin}/`, 'A');
  await expectSocketState(a, 'open');
  await expectText(a, 'count', '0');
  await h.doc('fresh', a);

  const b = await h.open(context, `${app.origin}/`, 'B');
  await expectSocketState(b, 'open');
  await expectText(b, 'count', '0');
  await eventually(async () => {
    const { sockets, sessions } = await app.health();
    return sockets === 2 && sessions === 1;
  }, { message: 'expected /healthz to count 2 sockets on 1 session' });

  // "Increment over HTTP" in A: A shows the answer, B gets "current count".
  await a.getByRole('button', { name: 'Increment over HTTP' }).click();
  await expectText(a, 'count', '1');
  await expectText(b, 'count', '1');

  // "Increment over the socket" in B: both get "current count".
  await b.getByRole('button', { name: 'Increment over the socket' }).click();
  await expectText(b, 'count', '2');
  await expectText(a, 'count', '2');

  const counts = async (page) => (await recorded(page)).sockets.flatMap((s) => s.messages)
    .map((m) => JSON.parse(m)).filter((f) => f.event === 'current count').map((f) => f.data);
  assert.deepEqual(await counts(a), [1, 2], 'A received both counts over its socket');
  assert.deepEqual(await counts(b), [1, 2], 'B received both counts over its socket');
  await h.docSideBySide('two-tabs', [a, b]);

  // A reload of A: the server renders the count, and the new socket joins the session.
  await a.reload();
  await expectText(a, 'count', '2');
  await expectSocketState(a, 'open');
  await expectText(a, 'count', '2');
  await b.getByRole('button', { name: 'Increment over HTTP' }).click();
  await expectText(b, 'count', '3');
  await expectText(a, 'count', '3');
  await eventually(async () => {
    const { sockets, sessions } = await app.health();
    return sockets === 2 && sessions === 1;
  }, { message: 'expected /healthz to count 2 sockets on 1 session after the reload' });
});
