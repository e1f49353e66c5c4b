// The page's relay failover on protocol v2 (docs/WEB.md "Connection", docs/CLUSTER.md):
// a real nats-server with JetStream and two real relays in one cluster, each serving the
// built page and naming the other with --peer-url (so its /cluster.json and its CSP's
// connect-src list it); two Chromium profiles in one room, alice on relay 1's page, bob on
// relay 2's. Relay 1 is killed (SIGKILL) in the middle of a burst alice types; she types
// more while no relay is reachable (relay 2 is reached, for her only, through a TCP
// forwarder that refuses for a while); her page must say it lost the connection, move to
// relay 2 by itself, say which relay it is on, and deliver every message she typed to bob
// exactly once and in order; bob's messages must reach her there. Then she reloads while
// relay 1 is still down: her page, served by its pins, must go back to relay 2; and a
// relay listed in /cluster.json that her pinned page's CSP refuses is skipped.
//
// Environment: SALTCHAT_RELAY, SALTCHAT_WWW (the built page), SALTCHAT_NATS_SERVER,
// SALTCHAT_ARTIFACTS (logs, screenshots), CHROMIUM, SALTCHAT_NODE_MODULES.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import {
  env, freePort, killAll, launchProfile, loadPlaywright, startNats, startRelay, stopProcess,
  until,
} from '../lib/sctest.mjs';

const RELAY = env('SALTCHAT_RELAY');
const WWW = env('SALTCHAT_WWW');
const NATS = env('SALTCHAT_NATS_SERVER');
const ARTIFACTS = join(env('SALTCHAT_ARTIFACTS'), 'failover');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const { chromium } = loadPlaywright(env('SALTCHAT_NODE_MODULES'));
const T = 30000; // per wait (generous: the machine is shared)

mkdirSync(ARTIFACTS, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'saltchat-failover-'));

// A TCP forwarder to 127.0.0.1:upstreamPort on listenPort; while refuse is set, new
// connections are reset (as a relay that cannot be reached).
function startProxy(listenPort, upstreamPort) {
  const socks = new Set();
  const p = { refuse: false, accepted: 0 };
  const server = net.createServer((c) => {
    if (p.refuse) { c.resetAndDestroy(); return; }
    p.accepted++;
    const u = net.connect(upstreamPort, '127.0.0.1');
    socks.add(c);
    socks.add(u);
    const end = () => { c.destroy(); u.destroy(); socks.delete(c); socks.delete(u); };
    for (const x of [c, u]) { x.on('error', end); x.on('close', end); }
    c.pipe(u);
    u.pipe(c);
  });
  p.close = () => { for (const x of socks) x.destroy(); server.close(); };
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => resolve(p));
  });
}

const pageProblems = [];
const wsUrls = { alice: [], bob: [] };
const contexts = [];

async function newProfile(name) {
  const ctx = await launchProfile(chromium, CHROMIUM, mkdtempSync(join(tmp, `chromium-${name}-`)),
    { viewport: { width: 1100, height: 760 } });
  contexts.push(ctx);
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('pageerror', (e) => pageProblems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) pageProblems.push(`${name}: CSP: ${t}`);
    else if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED|ERR_CONNECTION_RESET|ERR_EMPTY_RESPONSE/.test(t)) {
      pageProblems.push(`${name}: console error: ${t}`);
    }
  });
  page.on('websocket', (ws) => wsUrls[name].push(ws.url()));
  return { ctx, page, name };
}

// Texts of the messages in a page's log, in order (own and others').
const texts = (page) => page.$$eval('#messages li[data-kind="message"] .text, #messages li[data-kind="own"] .text',
  (els) => els.map((e) => e.textContent));
const systemTexts = (page) => page.$$eval('#messages li[data-kind="system"]', (els) => els.map((e) => e.textContent));
const conn = (page) => page.$eval('#conn', (e) => ({ state: e.dataset.state, relay: e.dataset.relay, text: e.textContent }));

const online = (page) => page.waitForFunction(
  () => document.getElementById('conn').dataset.state === 'online', null, { timeout: T });

async function send(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

// Waits until the page's messages with prefix are exactly want (in this order, once each).
async function waitExactly(page, prefix, want, what) {
  await until(async () => (await texts(page)).filter((x) => x.startsWith(prefix)).length >= want.length,
    what, T, { detail: async () => JSON.stringify(await texts(page)) });
  const got = (await texts(page)).filter((x) => x.startsWith(prefix));
  assert.deepEqual(got, want, `${what}: exactly once each, in order`);
}

let nats, relay1, relay2, proxy;

test.after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (proxy) proxy.close();
  for (const r of [relay1, relay2]) if (r) await stopProcess(r.proc, 'SIGTERM', T).catch(() => {});
  if (nats) await stopProcess(nats.proc, 'SIGTERM', T).catch(() => {});
  killAll();
  rmSync(tmp, { recursive: true, force: true });
});

test('the page fails over between clustered v2 relays', { timeout: 300000 }, async (t) => {
  nats = await startNats(NATS, { jetstreamDir: mkdtempSync(join(tmp, 'js-')),
    logPath: join(ARTIFACTS, 'nats.log') });
  // Relay 2 is reached by alice's page only through the forwarder's port (its --peer-url
  // in relay 1), by bob's page directly.
  const [p1, p2, pf] = [await freePort(), await freePort(), await freePort()];
  const url1 = `http://127.0.0.1:${p1}`;
  const urlf = `http://127.0.0.1:${pf}`;
  const cluster = (peer) => ['--cluster', nats.url, '--peer-url', peer, '--log-level', 'info'];
  relay1 = await startRelay({ relay: RELAY, www: WWW, port: p1, name: 'relay1',
    args: cluster(urlf), logPath: join(ARTIFACTS, 'relay1.log') });
  relay2 = await startRelay({ relay: RELAY, www: WWW, port: p2, name: 'relay2',
    args: cluster(url1), logPath: join(ARTIFACTS, 'relay2.log') });
  proxy = await startProxy(pf, p2);

  await t.test('each relay lists the other in /cluster.json and its CSP', async () => {
    const r = await fetch(`${url1}/cluster.json`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { relays: [`${urlf}/`] });
    const page = await fetch(`${url1}/`);
    assert.match(page.headers.get('content-security-policy'),
      new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.1:${pf}(;|$)`));
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${p2}/cluster.json`)).json(),
      { relays: [`${url1}/`] });
  });

  const alice = await newProfile('alice');
  const bob = await newProfile('bob');
  let link;

  await t.test('alice on relay 1 and bob on relay 2 are in one room', async () => {
    await alice.page.goto(`${url1}/`);
    await alice.page.fill('#name-create', 'Alice');
    await alice.page.click('#create-form button[type=submit]');
    await alice.page.waitForSelector('#chat:not([hidden])', { timeout: T });
    await online(alice.page);
    link = await alice.page.inputValue('#invite-link');
    assert.ok(link.startsWith(`${url1}/#sc2.`), link);
    await bob.page.goto(`http://127.0.0.1:${p2}/${link.slice(link.indexOf('#'))}`);
    await bob.page.waitForSelector('#join:not([hidden])', { timeout: T });
    await bob.page.fill('#name-join', 'Bob');
    await bob.page.click('#join-form button[type=submit]');
    await bob.page.waitForSelector('#chat:not([hidden])', { timeout: T });
    await online(bob.page);
    assert.equal((await conn(alice.page)).relay, `127.0.0.1:${p1}`);
    assert.equal((await conn(bob.page)).relay, `127.0.0.1:${p2}`);
    assert.equal((await conn(alice.page)).text, 'Online');
    await send(bob.page, 'b-hello');
    await waitExactly(alice.page, 'b-', ['b-hello'], 'alice has bob\'s first message');
    await send(alice.page, 'a-hello');
    await waitExactly(bob.page, 'a-', ['a-hello'], 'bob has alice\'s first message');
  });

  await t.test('relay 1 is killed mid-burst; alice moves to relay 2 by herself', async () => {
    const want = ['a-hello'];
    proxy.refuse = true; // relay 2 unreachable for alice until she has typed offline
    // Thirty typed at once (the page submits them as fast as the room lets it), relay 1
    // killed right after: some are ACCEPTED, some in flight, some perhaps stored without
    // the ACCEPT reaching her; then four more typed before or as the page notices.
    const burst = Array.from({ length: 34 }, (_, i) => `a-burst-${String(i + 1).padStart(2, '0')}`);
    want.push(...burst);
    await alice.page.evaluate((list) => {
      const box = document.getElementById('text');
      for (const m of list) {
        box.value = m;
        document.getElementById('composer').requestSubmit();
      }
    }, burst.slice(0, 30));
    relay1.proc.kill('SIGKILL');
    for (const m of burst.slice(30)) await send(alice.page, m);
    await until(async () => (await systemTexts(alice.page)).some((x) => /Connection to the relay lost/.test(x)),
      'alice\'s page says it lost the connection', T,
      { detail: async () => JSON.stringify(await systemTexts(alice.page)) });
    await until(async () => (await conn(alice.page)).state === 'offline', 'alice offline', T,
      { detail: async () => JSON.stringify(await conn(alice.page)) });
    const stored = await alice.page.$$eval('#messages li[data-kind="own"] .status[data-status="accepted"]',
      (els) => els.length);
    t.diagnostic(`ACCEPTED by relay 1 before it died: ${stored - 1} of the burst's ${burst.length}`);
    for (let i = 1; i <= 4; i++) {
      const m = `a-offline-${String(i).padStart(2, '0')}`;
      want.push(m);
      await send(alice.page, m);
    }
    await until(async () => /waiting/.test((await conn(alice.page)).text),
      'alice\'s header counts the waiting messages', T,
      { detail: async () => JSON.stringify(await conn(alice.page)) });
    assert.notEqual((await conn(alice.page)).state, 'online');
    await alice.page.screenshot({ path: join(ARTIFACTS, 'alice-offline.png'), fullPage: true });
    proxy.refuse = false;
    // Backoff grows while both are unreachable (up to 15 s with jitter): within T.
    await until(async () => (await conn(alice.page)).state === 'online', 'alice online again', T,
      { detail: async () => JSON.stringify(await conn(alice.page)) });
    const c = await conn(alice.page);
    assert.equal(c.relay, `127.0.0.1:${pf}`, 'alice is on relay 2');
    assert.match(c.text, new RegExp(`^Online · via 127\\.0\\.0\\.1:${pf}`), 'the header names relay 2');
    assert.ok(wsUrls.alice.some((u) => u.startsWith(`ws://127.0.0.1:${pf}/room/`)), JSON.stringify(wsUrls.alice));
    await alice.page.screenshot({ path: join(ARTIFACTS, 'alice-relay2.png'), fullPage: true });
    assert.ok((await systemTexts(alice.page)).some((x) => /Reconnected/.test(x)));
    await waitExactly(bob.page, 'a-', want, 'bob has every message alice typed');
    await until(async () => !/waiting/.test((await conn(alice.page)).text), 'alice\'s outbox empty', T,
      { detail: async () => JSON.stringify(await conn(alice.page)) });
    assert.deepEqual((await texts(alice.page)).filter((x) => x.startsWith('a-')), want,
      'alice sees her own messages once each, in order');
    assert.equal((await conn(bob.page)).state, 'online', 'bob stayed on relay 2');
    await send(bob.page, 'b-after');
    await waitExactly(alice.page, 'b-', ['b-hello', 'b-after'], 'bob\'s message reaches alice on relay 2');
    await send(alice.page, 'a-after');
    want.push('a-after');
    await waitExactly(bob.page, 'a-', want, 'alice\'s next message reaches bob');
  });

  await t.test('alice reloads while relay 1 is still down: her pinned page goes back to relay 2', async () => {
    // The page comes from the service worker's pins (relay 1 cannot serve it, nor its
    // /cluster.json): the room must still know relay 2 from before.
    await alice.page.reload();
    await alice.page.waitForSelector('#chat:not([hidden])', { timeout: T });
    await until(async () => (await conn(alice.page)).state === 'online', 'alice online after the reload', T,
      { detail: async () => JSON.stringify(await conn(alice.page)) });
    assert.equal((await conn(alice.page)).relay, `127.0.0.1:${pf}`);
    await send(bob.page, 'b-reloaded');
    await waitExactly(alice.page, 'b-', ['b-hello', 'b-after', 'b-reloaded'], 'bob\'s message after the reload');
    await send(alice.page, 'a-reloaded');
    await until(async () => (await texts(bob.page)).includes('a-reloaded'), 'bob has alice\'s message after the reload', T);
  });

  await t.test('a relay the pinned page\'s CSP refuses is skipped, not waited on', async () => {
    // Relay 1 back on its port, now also naming a relay (port pz) that alice's pinned page
    // (its CSP from the first visit) may not connect to: /cluster.json lists it after the
    // forwarder, so her list is relay 1, relay 2 (kept), pz. Chromium blocks that
    // WebSocket with an error and no close; the page must go on to the next relay.
    const pz = await freePort();
    // Its old --data-dir: its replica is entries behind the stream, and it must not answer
    // alice's RESUME (she read further on relay 2) before its watch caught up, else it says
    // SEQ_AHEAD and her page takes the room for lost (relay_ws2's sync_seq).
    relay1 = await startRelay({ relay: RELAY, www: WWW, port: p1, name: 'relay1', dataDir: relay1.dataDir,
      args: ['--cluster', nats.url, '--peer-url', `http://127.0.0.1:${pz}`, '--peer-url', urlf,
             '--log-level', 'info'], logPath: join(ARTIFACTS, 'relay1-again.log') });
    await alice.page.reload();
    await alice.page.waitForSelector('#chat:not([hidden])', { timeout: T });
    await until(async () => (await conn(alice.page)).state === 'online', 'alice online on relay 1 again', T,
      { detail: async () => JSON.stringify(await conn(alice.page)) });
    assert.equal((await conn(alice.page)).relay, `127.0.0.1:${p1}`);
    const blocked = pageProblems.length;
    proxy.refuse = true;
    relay1.proc.kill('SIGKILL');
    await until(async () => (await conn(alice.page)).relay === `127.0.0.1:${pz}`,
      'alice\'s page tries the relay its CSP refuses', T,
      { detail: async () => JSON.stringify(await conn(alice.page)) });
    proxy.refuse = false;
    await until(async () => (await conn(alice.page)).state === 'online', 'alice online past the refused relay', 45000,
      { detail: async () => JSON.stringify(await conn(alice.page)) });
    assert.equal((await conn(alice.page)).relay, `127.0.0.1:${pf}`);
    const csp = pageProblems.splice(blocked);
    assert.ok(csp.length && csp.every((x) => x.includes(`ws://127.0.0.1:${pz}/`) && /CSP/.test(x)), JSON.stringify(csp));
    await send(alice.page, 'a-past-csp');
    await until(async () => (await texts(bob.page)).includes('a-past-csp'), 'bob has it', T);
  });

  await t.test('no page errors, no CSP refusals but the one above', async () => {
    assert.deepEqual(pageProblems, []);
  });
});
