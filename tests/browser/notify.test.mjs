// Notifications and unread counts (www/notify.js): two Chromium profiles against the real
// relay. Headless Chromium never hides a page, so alice's profile gets an init script that
// lets the test set document.visibilityState, and that wraps window.Notification to record
// every notification the page creates (the permission is granted through the context).
// Checks: nothing before the user turns notifications on; then a message from bob while
// alice's tab is hidden gives one notification naming the room and bob, without the text
// until alice turns the text on; none while the tab is visible; the tab title counts the
// unread and is reset when shown; the start screen's room list, and the list of other rooms
// beside an open room, show a room's unread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  env, killAll, launchProfile, loadPlaywright, startRelay, stopProcess, until,
} from '../lib/sctest.mjs';

const RELAY = env('SALTCHAT_RELAY');
const WWW = env('SALTCHAT_WWW');
const ARTIFACTS = env('SALTCHAT_ARTIFACTS');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const { chromium } = loadPlaywright(env('SALTCHAT_NODE_MODULES'));
const T = 30000;

mkdirSync(ARTIFACTS, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'saltchat-notify-'));
let relay;
const contexts = [];
const problems = [];

test.after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (relay) await stopProcess(relay.proc, 'SIGTERM', T).catch(() => {});
  killAll();
  rmSync(tmp, { recursive: true, force: true });
});

// Runs in every document of alice's profile before the page's scripts.
function hideable() {
  let hidden = false;
  Object.defineProperty(Document.prototype, 'visibilityState',
    { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  globalThis.testSetHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
  const shown = [];
  globalThis.testNotifications = shown;
  const Real = globalThis.Notification;
  class Recorded extends Real {
    constructor(title, opts = {}) {
      shown.push({ title, body: opts.body, tag: opts.tag });
      super(title, opts);
    }
  }
  globalThis.Notification = Recorded;
}

async function profile(name, base, init) {
  const ctx = await launchProfile(chromium, CHROMIUM, mkdtempSync(join(tmp, `chromium-${name}-`)),
    { viewport: { width: 1100, height: 760 } });
  contexts.push(ctx);
  if (init) {
    await ctx.addInitScript(init);
    await ctx.grantPermissions(['notifications'], { origin: base.replace(/\/$/, '') });
  }
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('pageerror', (e) => problems.push(`${name}: page error: ${e.message}`));
  page.on('dialog', (d) => d.accept());
  return page;
}

const online = (page) => page.waitForFunction(
  () => document.getElementById('conn').dataset.state === 'online', null, { timeout: T });

async function send(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// How many history records the page has stored: a save writes the room's meta (its unread
// count) and its new lines in one transaction, so a larger count means the meta is saved.
const stored = (page) => page.evaluate(() => new Promise((res, rej) => {
  const r = indexedDB.open('saltchat-v2');
  r.onerror = () => rej(r.error);
  r.onsuccess = () => {
    const q = r.result.transaction('history', 'readonly').objectStore('history').count();
    q.onsuccess = () => { r.result.close(); res(q.result); };
    q.onerror = () => rej(q.error);
  };
}));

const notes = (page) => page.evaluate(() => globalThis.testNotifications);
const texts = (page) => page.$$eval('#messages li[data-kind="message"] .text', (l) => l.map((e) => e.textContent));

test('notifications: opt-in, room and sender only, text on request, unread counts', { timeout: 300000 }, async (t) => {
  relay = await startRelay({ relay: RELAY, www: WWW, logPath: join(ARTIFACTS, 'notify-relay.log') });
  const { base } = relay;
  const alice = await profile('alice', base, hideable);
  const bob = await profile('bob', base);

  await alice.goto(base);
  await alice.fill('#name-create', 'Alice');
  await alice.click('#create-form button[type=submit]');
  await online(alice);
  const link = await alice.inputValue('#invite-link');
  await bob.goto(link);
  await bob.fill('#name-join', 'Bob');
  await bob.click('#join-form button[type=submit]');
  await online(bob);
  await until(async () => (await alice.$$('#members li.member')).length === 2, 'alice sees bob', T);

  await t.test('off until turned on: a hidden tab counts unread in its title only', async () => {
    await alice.evaluate(() => globalThis.testSetHidden(true));
    await send(bob, 'before opt-in');
    await until(async () => (await texts(alice)).includes('before opt-in'), 'alice gets it', T);
    assert.deepEqual(await notes(alice), []);
    assert.equal(await alice.title(), '(1) saltchat');
    await alice.evaluate(() => globalThis.testSetHidden(false));
    assert.equal(await alice.title(), 'saltchat');
  });

  await t.test('turned on: room and sender, never the text unless asked for', async () => {
    assert.equal(await alice.isVisible('#notify-text'), false);
    await alice.click('#notify');
    await alice.waitForSelector('#notify:text-is("Turn off notifications")', { timeout: T });
    assert.match(await alice.textContent('#notify-status'), /room and the sender, not the text/);
    await send(bob, 'visible tab message');
    await until(async () => (await texts(alice)).includes('visible tab message'), 'alice gets it', T);
    assert.deepEqual(await notes(alice), [], 'no notification while the tab is visible');
    await alice.evaluate(() => globalThis.testSetHidden(true));
    await send(bob, 'the secret plan');
    await until(async () => (await notes(alice)).length === 1, 'one notification', T);
    const [n] = await notes(alice);
    assert.match(n.title, /^Bob in /);
    assert.match(n.title, /Alice, Bob|Bob, Alice/, 'the room (its members) is named');
    assert.equal(n.body, 'New message from Bob');
    assert.ok(!JSON.stringify(n).includes('secret plan'), 'the text is not in the notification');
    assert.equal(await alice.title(), '(1) saltchat');
    await alice.evaluate(() => globalThis.testSetHidden(false));
    await alice.check('#notify-text');
    await alice.waitForSelector('#notify-status:has-text("the sender and the text")', { timeout: T });
    await alice.evaluate(() => globalThis.testSetHidden(true));
    await send(bob, 'text shown now');
    await until(async () => (await notes(alice)).length === 2, 'a second notification', T);
    assert.equal((await notes(alice))[1].body, 'text shown now');
  });

  await t.test('the room list shows the room\'s unread messages; opening it clears them', async () => {
    const before = await stored(alice);
    await send(bob, 'unread 1');
    await send(bob, 'unread 2');
    await until(async () => (await alice.title()) === '(3) saltchat', 'alice\'s title counts 3', T,
      { detail: () => alice.title() });
    await until(async () => (await bob.$$('#messages li[data-kind="own"] .status:not([data-status="accepted"])')).length === 0,
      'bob\'s messages stored', T);
    await until(async () => (await stored(alice)) >= before + 2, 'alice\'s page saved both', T);
    await alice.goto(base);
    await alice.waitForSelector('#room-list li .unread', { timeout: T });
    assert.equal(await alice.textContent('#room-list li .unread'), '3 unread');
    await alice.click('#room-list li button:not(.secondary)');
    await online(alice);
    await alice.goto(base);
    await alice.waitForSelector('#room-list li', { timeout: T });
    assert.equal(await alice.$('#room-list li .unread'), null, 'seen once opened');
    // The choice is kept: the button still says notifications are on.
    assert.equal(await alice.textContent('#notify'), 'Turn off notifications');
  });

  await t.test('beside another room: the other rooms with their unread counts', async () => {
    await alice.click('#room-list li button:not(.secondary)');
    await online(alice);
    await alice.evaluate(() => globalThis.testSetHidden(true));
    const before = await stored(alice);
    await send(bob, 'for the list');
    await until(async () => (await alice.title()) === '(1) saltchat', 'alice\'s title counts 1', T,
      { detail: () => alice.title() });
    await until(async () => (await stored(alice)) >= before + 1, 'alice\'s page saved it', T);
    await alice.goto(base);
    await alice.fill('#name-create', 'Alice');
    await alice.click('#create-form button[type=submit]');
    await online(alice);
    await alice.waitForSelector('#other-rooms:not([hidden]) #other-room-list li', { timeout: T });
    assert.match(await alice.textContent('#other-room-list li .name'), /Bob/);
    assert.equal(await alice.textContent('#other-room-list li .unread'), '1 unread');
    await alice.click('#other-room-list li a');
    await alice.waitForFunction(() => document.getElementById('conn').dataset.state === 'online' &&
      [...document.querySelectorAll('#messages li .text')].some((e) => e.textContent === 'for the list'),
      null, { timeout: T });
    await alice.waitForSelector('#other-rooms:not([hidden]) #other-room-list li', { timeout: T });
    await alice.screenshot({ path: join(ARTIFACTS, 'rooms-alice.png') }); // docs/screenshot.png
    assert.deepEqual(problems, []);
  });
});
