// The web page fails over between relays of a cluster (docs/CLUSTER.md): a real
// nats-server, two real relays that list each other (--peer-url), Debian's Chromium
// (headless, playwright-core from tests/browser's npm install) and a native client.
// Alice's page is on relay A; Bob (saltchat --batch) on relay B. Relay A is killed
// (SIGKILL): the page moves to relay B by itself (the URL it learned at /cluster.json,
// allowed by the CSP), what Alice typed meanwhile reaches Bob exactly once, and Bob sees
// her leave and come back.
//
// Environment: SALTCHAT_RELAY, SALTCHAT_CLI, SALTCHAT_WWW, NATS_SERVER, CHROMIUM,
// SALTCHAT_NODE_MODULES (the folder whose node_modules holds playwright-core).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  env, freePort, killAll, launchProfile, loadPlaywright, metric, startCli as startCliIn,
  startNats, startRelay, until, withTimeout,
} from '../lib/sctest.mjs';

const RELAY = env('SALTCHAT_RELAY');
const CLI = env('SALTCHAT_CLI');
const WWW = env('SALTCHAT_WWW');
const NATS = env('NATS_SERVER', '/usr/sbin/nats-server');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const { chromium } = loadPlaywright(env('SALTCHAT_NODE_MODULES'));
const T = 20000;

const tmp = mkdtempSync(join(tmpdir(), 'saltchat-cluster-browser-'));
const startCli = (link, name, extra) => startCliIn(CLI, link, name, tmp, extra, T);

test('the page fails over to another relay of its cluster', { timeout: 220000 }, async () => {
  let ctx;
  try {
    const natsUrl = (await startNats(NATS)).url;
    const [pa, pb] = [await freePort(), await freePort()];
    const relay = async (name, port, peer) => (await startRelay({ relay: RELAY, www: WWW, port, name,
      args: ['--cluster', natsUrl, '--peer-url', `http://127.0.0.1:${peer}`, '--log-level', 'info'] })).proc;
    const relayA = await relay('relay-a', pa, pb);
    await relay('relay-b', pb, pa);
    for (const p of [pa, pb]) {
      await until(async () => await metric(p, 'saltchat_relay_cluster_established') === 1 &&
                               await metric(p, 'saltchat_relay_cluster_peers') === 1,
                  `relay :${p} established with 1 peer`, T);
    }

    ctx = await launchProfile(chromium, CHROMIUM, mkdtempSync(join(tmp, 'chromium-')));
    const page = ctx.pages()[0] || await ctx.newPage();
    const problems = [];
    const sockets = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
    });
    page.on('websocket', (ws) => sockets.push(ws.url()));
    const online = () => page.waitForSelector('#conn[data-state="online"]', { timeout: T });

    // Alice creates the room on relay A; Bob joins it through relay B
    await page.goto(`http://127.0.0.1:${pa}/`);
    await page.waitForSelector('#my-fp:not([hidden])', { timeout: T });
    await page.fill('#name-create', 'Alice');
    await page.click('#create-form button[type=submit]');
    await online();
    const link = await page.inputValue('#invite-link');
    const roomPath = new URL(sockets[0]).pathname;
    const bob = startCli(link.replace(`:${pa}/`, `:${pb}/`), 'Bob', ['--relay', `ws://127.0.0.1:${pa}`]);
    await bob.waitFor((e) => e.type === 'member_authenticated' && e.name === 'Alice', 'Alice');
    const aliceId = bob.events.find((e) => e.type === 'member_authenticated').member;
    await page.waitForSelector('#members li.member:has(.name:text-is("Bob")) .fp', { timeout: T });
    const send = async (text) => {
      await page.focus('#text');
      await page.keyboard.type(text);
      await page.keyboard.press('Enter');
    };
    await send('before the crash');
    await bob.waitFor((e) => e.type === 'message' && e.text === 'before the crash', 'first message');

    // relay A dies; Alice types while the page looks for another relay
    relayA.kill('SIGKILL');
    await page.waitForSelector('#conn:not([data-state="online"])', { timeout: T });
    await send('typed during the failover');
    await online();
    assert.ok(sockets.includes(`ws://127.0.0.1:${pb}${roomPath}`),
              `the page reconnected through relay B: ${sockets.join(' ')}`);
    await bob.waitFor((e) => e.type === 'member_left' && e.member === aliceId, 'old Alice left');
    await bob.waitFor((e) => e.type === 'member_authenticated' && e.name === 'Alice' &&
                             e.member !== aliceId, 'Alice back');
    await bob.waitFor((e) => e.type === 'message' && e.text === 'typed during the failover',
                      'the message typed during the failover');
    const texts = bob.events.filter((e) => e.type === 'message').map((e) => e.text);
    assert.deepEqual(texts, ['before the crash', 'typed during the failover'], 'exactly once, in order');
    bob.proc.stdin.write('welcome back\n');
    await page.waitForSelector('#messages li[data-kind="message"]:has(.text:text-is("welcome back"))',
                               { timeout: T });
    assert.deepEqual(problems, [], 'no page error, no CSP violation');
  } finally {
    if (ctx) await withTimeout(ctx.close(), T, 'the browser to close').catch(() => {});
    killAll();
    await new Promise((r) => setTimeout(r, 200));
    rmSync(tmp, { recursive: true, force: true });
  }
});
