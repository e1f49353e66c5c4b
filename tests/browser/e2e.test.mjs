// End-to-end test of the web client on protocol v2: Debian's Chromium (headless, driven by
// playwright-core) against the real relay binary on a free port with a temporary
// --data-dir. Run by CTest (label "browser"); see docs/WEB.md.
//
// Environment: SALTCHAT_RELAY, SALTCHAT_WWW (the built page), SALTCHAT_ARTIFACTS
// (screenshots and logs), CHROMIUM, SALTCHAT_NODE_MODULES (the folder whose node_modules
// holds playwright-core).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  env, killAll, launchProfile, loadPlaywright, startRelay as startRelayOn, stopProcess, until,
} from '../lib/sctest.mjs';

const RELAY = env('SALTCHAT_RELAY');
const WWW = env('SALTCHAT_WWW');
const ARTIFACTS = env('SALTCHAT_ARTIFACTS');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const { chromium } = loadPlaywright(env('SALTCHAT_NODE_MODULES'));
const T = 30000; // per wait (generous: the machine is shared)

mkdirSync(ARTIFACTS, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'saltchat-browser-'));
const relayLogs = [];

async function startRelay(port = 0, dataDir = undefined) {
  const relay = await startRelayOn({ relay: RELAY, www: WWW, port, dataDir,
    args: ['--log-level', 'info'], logPath: join(ARTIFACTS, `relay-${relayLogs.length}.log`) });
  relayLogs.push(relay.log);
  return relay;
}

// --- browsers: each profile is a fresh --user-data-dir; every page is watched ------------
const network = { urls: [], framesSent: [], framesReceived: [] };
const pageProblems = [];
const contexts = [];

function watch(name, page) {
  page.on('pageerror', (e) => pageProblems.push(`${name}: page error: ${e.message}`));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) pageProblems.push(`${name}: CSP: ${t}`);
    else if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION_REFUSED|ERR_INTERNET_DISCONNECTED/.test(t)) {
      pageProblems.push(`${name}: console error: ${t}`);
    }
  });
  page.on('websocket', (ws) => {
    network.urls.push(ws.url());
    ws.on('framesent', (f) => network.framesSent.push(Buffer.from(f.payload)));
    ws.on('framereceived', (f) => network.framesReceived.push(Buffer.from(f.payload)));
  });
}

async function newProfile(name) {
  const dir = mkdtempSync(join(tmp, `chromium-${name}-`));
  const ctx = await launchProfile(chromium, CHROMIUM, dir, { viewport: { width: 1100, height: 760 } });
  contexts.push(ctx);
  ctx.on('request', (req) => network.urls.push(req.url()));
  ctx.pages().forEach((p) => watch(name, p));
  ctx.on('page', (p) => watch(name, p));
  const page = ctx.pages()[0] || await ctx.newPage();
  return { ctx, page, name };
}

// Texts of the messages in a page's log, in order (own and others').
const texts = (page) => page.$$eval('#messages li[data-kind="message"] .text, #messages li[data-kind="own"] .text',
  (els) => els.map((e) => e.textContent));

async function waitTexts(page, want, what) {
  await until(async () => {
    const got = await texts(page);
    return want.every((t) => got.includes(t));
  }, what, T, { detail: async () => JSON.stringify(await texts(page)) });
}

async function createRoom(p, base, name) {
  await p.page.goto(base);
  await p.page.fill('#name-create', name);
  await p.page.click('#create-form button[type=submit]');
  await p.page.waitForSelector('#chat:not([hidden])', { timeout: T });
  await p.page.waitForFunction(() => document.getElementById('conn').dataset.state === 'online',
    null, { timeout: T });
  const link = await p.page.inputValue('#invite-link');
  assert.match(link, /^http:\/\/127\.0\.0\.1:\d+\/#sc2\.[A-Za-z0-9_-]{70}$/);
  return link;
}

async function joinRoom(p, link, name) {
  await p.page.goto(link);
  await p.page.waitForSelector('#join:not([hidden])', { timeout: T });
  // The secret is gone from the address bar as soon as the page read it.
  assert.ok(!p.page.url().includes('#sc2.'), `the link stayed in the address bar: ${p.page.url()}`);
  await p.page.fill('#name-join', name);
  await p.page.click('#join-form button[type=submit]');
  await p.page.waitForSelector('#chat:not([hidden])', { timeout: T });
  await p.page.waitForFunction(() => document.getElementById('conn').dataset.state === 'online',
    null, { timeout: T });
}

async function send(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

async function members(page) {
  return page.$$eval('#members li.member .name', (els) => els.map((e) => e.textContent));
}

// Every value in the page's IndexedDB, flattened to strings and byte arrays (hex).
async function dumpIndexedDb(page) {
  return page.evaluate(async () => {
    const out = [];
    const flat = (v, depth = 0) => {
      if (depth > 8 || v == null) return;
      if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
        const b = new Uint8Array(v.buffer ? v.buffer : v, v.byteOffset || 0, v.byteLength);
        out.push(Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''));
        out.push(new TextDecoder('latin1').decode(b));
      } else if (typeof v === 'string') out.push(v);
      else if (typeof v === 'number' || typeof v === 'boolean') out.push(String(v));
      else if (v instanceof CryptoKey) out.push(`CryptoKey extractable=${v.extractable}`);
      else if (typeof v === 'object') for (const k of Object.keys(v)) { out.push(k); flat(v[k], depth + 1); }
    };
    for (const info of await indexedDB.databases()) {
      const db = await new Promise((res, rej) => {
        const r = indexedDB.open(info.name);
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      for (const store of db.objectStoreNames) {
        const tx = db.transaction(store, 'readonly');
        const os = tx.objectStore(store);
        const [keys, vals] = await Promise.all([os.getAllKeys(), os.getAll()].map((req) =>
          new Promise((res, rej) => { req.onsuccess = () => res(req.result); req.onerror = () => rej(req.error); })));
        keys.forEach((k) => flat(k));
        vals.forEach((v) => flat(v));
      }
      db.close();
    }
    return out;
  });
}

let relay;

test.after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (relay) await stopProcess(relay.proc, 'SIGTERM', T).catch(() => {});
  killAll();
  rmSync(tmp, { recursive: true, force: true });
});

test('web client on protocol v2', { timeout: 600000 }, async (t) => {
  relay = await startRelay();
  const base = relay.base;
  const alice = await newProfile('alice');
  const bob = await newProfile('bob');
  let link;
  const sent = []; // every text, in the order the room must show it

  await t.test('page served with CSP; bad links explained', async () => {
    const resp = await alice.page.goto(base);
    assert.match(resp.headers()['content-security-policy'] || '', /script-src 'self'/);
    await alice.page.goto(`${base}#sc1.AAAA`);
    await alice.page.waitForSelector('#link-error:not([hidden])', { timeout: T });
    assert.match(await alice.page.textContent('#link-error-text'), /older saltchat/);
    assert.ok(!alice.page.url().includes('#sc1'), 'the v1 link stayed in the address bar');
    await alice.page.goto(`${base}#sc2.abc`);
    await alice.page.waitForSelector('#link-error:not([hidden])', { timeout: T });
    assert.match(await alice.page.textContent('#link-error-text'), /wrong length/);
  });

  await t.test('create, join by link, chat both ways', async () => {
    link = await createRoom(alice, base, 'Alice');
    await joinRoom(bob, link, 'Bob');
    // The history entry the link was opened in does not keep the fragment either.
    const hist = await bob.page.evaluate(() => location.href);
    assert.ok(!hist.includes('#sc2.'), hist);
    // A valid link to a plain-http relay that is not this computer is refused, saying why.
    const remote = link.replace(/^http:\/\/127\.0\.0\.1:\d+\//, 'http://relay.example/');
    const p3 = await alice.ctx.newPage();
    await p3.goto(base);
    await p3.waitForSelector('#start:not([hidden])', { timeout: T });
    await p3.fill('#link-input', remote);
    await p3.click('#open-form button[type=submit]');
    await p3.waitForSelector('#open-error:not([hidden])', { timeout: T });
    assert.match(await p3.textContent('#open-error'), /needs https:\/\/ for a relay that is not on this computer/);
    await p3.close();
    await until(async () => (await members(alice.page)).length === 2, 'alice sees 2 members', T,
      { detail: async () => JSON.stringify(await members(alice.page)) });
    await send(alice.page, 'hello from alice');
    sent.push('hello from alice');
    await send(bob.page, 'hi alice, bob here');
    sent.push('hi alice, bob here');
    await waitTexts(bob.page, sent, 'bob sees both messages');
    await waitTexts(alice.page, sent, 'alice sees both messages');
    await until(async () => (await alice.page.$$('#messages li[data-kind="own"] .status[data-status="accepted"]')).length === 1,
      'alice\'s message stored by the relay', T);
  });
});
