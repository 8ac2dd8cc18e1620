// Scenario 6: the static SPA of examples/spa/, served from a second origin
// (another port of 127.0.0.1) that the app lists in ALLOWED_ORIGINS, shares
// one session with the app over fetch (credentials: 'include') and its own
// WebSocket. The same SPA from an unlisted origin is refused on both, and
// says so.

import assert from 'node:assert/strict';

import {
  eventually, expectSocketState, expectText, scenario, until,
} from '../lib/browser.mjs';

scenario('6. the SPA on a listed origin shares the session; on an unlisted origin it is refused', async (h) => {
  const listed = await h.spaServer();
  const unlisted = await h.spaServer();
  const app = await h.app({ env: { ALLOWED_ORIGINS: `http://localhost:1,${listed.origin}` } });
  const context = await h.context();

  // The app's own page first: it gives the browser the session cookie.
  const demo = await h.open(context, `${app.origin}/`, 'app');
  await expectSocketState(demo, 'open');

  const spaUrl = (origin) => `${origin}/?api=${encodeURIComponent(app.origin)}`;
  const spa = await h.open(context, spaUrl(listed.origin), 'spa-listed');
  await expectText(spa, 'api', app.origin);
  await expectText(spa, 'page-origin', listed.origin);
  await expectSocketState(spa, 'open');
  await expectText(spa, 'count', '0');
  await eventually(async () => {
    const { sockets, sessions } = await app.health();
    return sockets === 2 && sessions === 1;
  }, { message: 'expected the SPA\'s socket and the app\'s on one session (/healthz)' });

  // fetch(API + '/incr', {credentials: 'include'}) from the SPA.
  await spa.getByRole('button', { name: 'Increment over HTTP' }).click();
  await expectText(spa, 'http-state', /^POST \/incr → 200$/);
  await expectText(spa, 'count', '1');
  await expectText(demo, 'count', '1');
  // The app's socket → the SPA's socket.
  await demo.getByRole('button', { name: 'Increment over the socket' }).click();
  await expectText(demo, 'count', '2');
  await expectText(spa, 'count', '2');
  // The SPA's socket → the app's page.
  await spa.getByRole('button', { name: 'Increment over the socket' }).click();
  await expectText(spa, 'count', '3');
  await expectText(demo, 'count', '3');
  await h.docSideBySide('spa', [spa, demo]);

  // The same SPA from an origin NOT in ALLOWED_ORIGINS, in the same browser:
  // it would carry the same cookie, and the app must still refuse it.
  const fromUnlisted = [
    /^WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/ws' failed: Error during WebSocket handshake: Unexpected response code: 403/,
    /^Access to fetch at 'http:\/\/127\.0\.0\.1:\d+\/incr' from origin 'http:\/\/127\.0\.0\.1:\d+' has been blocked by CORS policy/,
    /^Failed to load resource: net::ERR_FAILED/,
  ];
  const refused = await h.open(context, spaUrl(unlisted.origin), 'spa-unlisted', { allow: fromUnlisted });
  // A CORS failure hides the status from the page (and from Playwright's
  // events): read it from the DevTools protocol.
  // The ExtraInfo event may arrive before requestWillBeSent, so events are
  // kept by request id and matched to the /incr requests when checked.
  const incrRequests = new Set();
  const statusById = new Map();
  const corsErrorById = new Map();
  const cdp = await context.newCDPSession(refused);
  await cdp.send('Network.enable');
  cdp.on('Network.requestWillBeSent', (e) => { if (e.request.url === `${app.origin}/incr`) incrRequests.add(e.requestId); });
  cdp.on('Network.responseReceivedExtraInfo', (e) => statusById.set(e.requestId, e.statusCode));
  cdp.on('Network.loadingFailed', (e) => corsErrorById.set(e.requestId, e.corsErrorStatus?.corsError));
  const network = () => {
    const ids = [...incrRequests];
    return {
      statuses: ids.filter((id) => statusById.has(id)).map((id) => statusById.get(id)),
      corsErrors: ids.filter((id) => corsErrorById.has(id)).map((id) => corsErrorById.get(id)),
    };
  };

  // The WebSocket: 403 to the handshake, shown as refused.
  await expectSocketState(refused, 'refused');
  await expectText(refused, 'socket-state', /^refused: /);
  await eventually(() => refused.handshakes.length === 1 && /Unexpected response code: 403/.test(refused.handshakes[0].error ?? ''),
    { message: () => `expected one WebSocket handshake refused with 403: ${JSON.stringify(refused.handshakes)}` });

  // HTTP: the app answers 403 without CORS headers; the page sees a CORS failure.
  await refused.getByRole('button', { name: 'Increment over HTTP' }).click();
  await expectText(refused, 'http-state', 'refused: the API did not allow this origin (CORS)');
  await eventually(() => network().statuses.length === 1 && network().corsErrors.length === 1,
    { message: () => `expected one refused POST /incr: ${JSON.stringify(network())}` });
  assert.deepEqual(network(), { statuses: [403], corsErrors: ['MissingAllowOriginHeader'] },
    'the app answered the unlisted origin\'s POST with 403 and no Access-Control-Allow-Origin');
  await expectText(refused, 'count', '–');
  await h.doc('spa-refused', refused);

  // Nothing of the refused page reached the session.
  await expectText(demo, 'count', '3');
  await expectText(spa, 'count', '3');
  const health = await app.health();
  assert.deepEqual([health.sockets, health.sessions], [2, 1], 'still just the two sockets of one session');
  await demo.getByRole('button', { name: 'Increment over HTTP' }).click();
  await expectText(demo, 'count', '4');
  await expectText(spa, 'count', '4');
  await until(refused, () => !document.querySelector('[data-testid="count"]').textContent.match(/\d/), null,
    { message: async () => 'the refused page must not show any count' });
});
