// Scenario 2: two browser contexts (two cookie jars) are two sessions that
// never see each other's counts.

import assert from 'node:assert/strict';

import { eventually, expectSocketState, expectText, recorded, scenario } from '../lib/browser.mjs';

/** The "current count" values this page's sockets received, in order. */
async function receivedCounts(page) {
  return (await recorded(page)).sockets.flatMap((s) => s.messages)
    .map((m) => JSON.parse(m)).filter((f) => f.event === 'current count').map((f) => f.data);
}

scenario('2. two browser contexts are two sessions that never see each other\'s counts', async (h) => {
  const app = await h.app();
  const one = await h.open(await h.context(), `${app.origin}/`, 'context-1');
  const two = await h.open(await h.context(), `${app.origin}/`, 'context-2');
  await expectSocketState(one, 'open');
  await expectSocketState(two, 'open');
  await eventually(async () => {
    const { sockets, sessions } = await app.health();
    return sockets === 2 && sessions === 2;
  }, { message: 'expected /healthz to count 2 sockets on 2 sessions' });
  const cookie = async (page) => (await page.context().cookies()).find((c) => c.name === 'session')?.value;
  assert.ok(await cookie(one), 'context 1 has a session cookie');
  assert.notEqual(await cookie(one), await cookie(two), 'the two contexts have different session cookies');

  // Three increments in context 1, one in context 2, each waited for.
  for (const n of [1, 2, 3]) {
    await one.getByRole('button', { name: n === 2 ? 'Increment over the socket' : 'Increment over HTTP' }).click();
    await expectText(one, 'count', String(n));
  }
  await two.getByRole('button', { name: 'Increment over the socket' }).click();
  await expectText(two, 'count', '1');
  await two.getByRole('button', { name: 'Increment over HTTP' }).click();
  await expectText(two, 'count', '2');
  await one.getByRole('button', { name: 'Increment over HTTP' }).click();
  await expectText(one, 'count', '4');

  // Each socket saw exactly its own session's counts, nothing of the other's.
  await eventually(async () => (await receivedCounts(one)).length === 4 && (await receivedCounts(two)).length === 2,
    { message: 'expected 4 frames in context 1 and 2 in context 2' });
  assert.deepEqual(await receivedCounts(one), [1, 2, 3, 4]);
  assert.deepEqual(await receivedCounts(two), [1, 2]);
  await expectText(two, 'count', '2');
});
