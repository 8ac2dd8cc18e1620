// The demo page itself: everything it loads comes from the app (no CDN),
// its controls have accessible names and work from the keyboard, its log
// entries carry timestamps, a refused login is shown, and it fits a phone.

import assert from 'node:assert/strict';

import { expectSocketState, expectText, scenario, text, until } from '../lib/browser.mjs';

/** Presses Tab until the element with this data-testid has the focus (at most 20 times). */
async function tabTo(page, testid) {
  for (let i = 0; i < 20; i += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement?.dataset.testid) === testid) return;
  }
  assert.fail(`${page.label}: Tab never reached ${testid}`);
}

scenario('0a. the demo page: own assets only, accessible controls, keyboard, timestamps, login error', async (h) => {
  const app = await h.app();
  const context = await h.context();
  const foreign = [];
  context.on('request', (req) => {
    if (!req.url().startsWith(`${app.origin}/`) && !req.url().startsWith(app.origin.replace('http', 'ws'))) foreign.push(req.url());
  });
  // Chromium logs the 400 of the refused login below as a failed resource.
  const page = await h.open(context, `${app.origin}/`, 'page',
    { allow: [/^Failed to load resource: the server responded with a status of 400 \(Bad Request\) \(.*\/login\)$/] });

  await expectSocketState(page, 'open');
  await expectText(page, 'socket-state', 'open');
  await expectText(page, 'count', '0');
  await expectText(page, 'name', 'anonymous');
  await expectText(page, 'auth-state', 'not logged in');
  await expectText(page, 'store', 'memory');
  await expectText(page, 'socket-auth', 'session');

  // Every control has an accessible name; the name field has its label.
  for (const name of ['Increment over HTTP', 'Increment over the socket', 'Log in', 'Log out']) {
    assert.equal(await page.getByRole('button', { name, exact: true }).count(), 1, `one button named "${name}"`);
  }
  assert.equal(await page.getByLabel('Name', { exact: true }).getAttribute('data-testid'), 'login-name');

  // The keyboard alone: Tab to a button, Enter or Space presses it.
  await tabTo(page, 'incr-http');
  await page.keyboard.press('Enter');
  await expectText(page, 'count', '1');
  await tabTo(page, 'incr-socket');
  await page.keyboard.press('Space');
  await expectText(page, 'count', '2');

  // The live log: newest first, each entry with a time.
  await until(page, () => document.querySelectorAll('[data-testid="log"] li').length >= 4, null,
    { message: async () => 'expected at least 4 log entries' });
  const entries = await page.locator('[data-testid="log"] li').evaluateAll((items) => items.map((li) => ({
    time: li.querySelector('time')?.textContent ?? '',
    text: li.textContent,
  })));
  for (const { time, text: line } of entries) assert.match(time, /\d{1,2}:\d{2}:\d{2}/, `a timestamp on "${line}"`);
  assert.match(entries[0].text, /current count 2/, 'the newest entry comes first');

  // A name the server refuses: the error is shown (role=alert) and nothing changes.
  await page.getByLabel('Name', { exact: true }).fill('   ');
  await page.getByRole('button', { name: 'Log in' }).click();
  const alert = page.getByRole('alert');
  await alert.waitFor({ state: 'visible' });
  assert.ok((await text(page, 'login-error')).length > 0, 'the login error says what is wrong');
  await expectText(page, 'auth-state', 'not logged in');
  await expectSocketState(page, 'open');

  assert.deepEqual(foreign, [], 'the page loads nothing from another origin');
});

scenario('0b. the demo page fits a phone screen', async (h) => {
  const app = await h.app();
  const context = await h.context({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 });
  const page = await h.open(context, `${app.origin}/`, 'phone');
  await expectSocketState(page, 'open');
  const layout = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    countPx: parseFloat(getComputedStyle(document.querySelector('[data-testid="count"]')).fontSize),
    bodyPx: parseFloat(getComputedStyle(document.body).fontSize),
    buttonsFit: [...document.querySelectorAll('button:not([hidden])')]
      .every((b) => b.getBoundingClientRect().right <= window.innerWidth),
  }));
  assert.ok(layout.scrollWidth <= layout.innerWidth, `no horizontal scrolling (${layout.scrollWidth} > ${layout.innerWidth})`);
  assert.ok(layout.buttonsFit, 'every button is inside the screen');
  assert.ok(layout.countPx >= 2.5 * layout.bodyPx, `the count is large (${layout.countPx}px vs ${layout.bodyPx}px text)`);
  await page.getByRole('button', { name: 'Increment over HTTP' }).tap();
  await expectText(page, 'count', '1');
  await h.doc('phone', page);
});
