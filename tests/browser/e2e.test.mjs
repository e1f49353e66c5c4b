// End-to-end test of the web client on protocol v2: Debian's Chromium (headless, driven by
// playwright-core) against the real relay binary on a free port with a temporary
// --data-dir. Run by CTest (label "browser"); see docs/WEB.md.
//
// Environment: SALTCHAT_RELAY, SALTCHAT_CLI (the native client, on v2), SALTCHAT_WWW (the built page), SALTCHAT_ARTIFACTS
// (screenshots and logs), CHROMIUM, SALTCHAT_NODE_MODULES (the folder whose node_modules
// holds playwright-core).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import {
  env, killAll, launchProfile, loadPlaywright, run, startCli, startRelay as startRelayOn,
  sleep, stopProcess, until,
} from '../lib/sctest.mjs';

const RELAY = env('SALTCHAT_RELAY');
const CLI = env('SALTCHAT_CLI');
const WWW = env('SALTCHAT_WWW');
const ARTIFACTS = env('SALTCHAT_ARTIFACTS');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const ZBARIMG = env('ZBARIMG', '/usr/bin/zbarimg'); // QR decoder (Debian zbar-tools)
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

// A TCP forwarder to the relay for one page, so that only that page's connection can be
// cut (cut(): RST on every connection) and kept down (refuse: new connections reset).
function startProxy(upstreamPort) {
  const socks = new Set();
  const p = { refuse: false };
  const server = net.createServer((c) => {
    if (p.refuse) { c.resetAndDestroy(); return; }
    const u = net.connect(upstreamPort, '127.0.0.1');
    socks.add(c);
    socks.add(u);
    const end = () => { c.destroy(); u.destroy(); socks.delete(c); socks.delete(u); };
    for (const x of [c, u]) { x.on('error', end); x.on('close', end); }
    c.pipe(u);
    u.pipe(c);
  });
  p.cut = () => { for (const x of socks) x.resetAndDestroy(); };
  p.close = () => { p.cut(); server.close(); };
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    p.port = server.address().port;
    p.base = `http://127.0.0.1:${p.port}/`;
    resolve(p);
  }));
}

// --- browsers: each profile is a fresh --user-data-dir; every page is watched ------------
const network = { urls: [], framesSent: [], framesReceived: [] };
const pageProblems = [];
const contexts = [];

function watch(name, page) {
  page.on('dialog', (d) => d.accept()); // confirm() of remove, leave, forget
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

// The keys of one object store of the page's database "saltchat-v2".
function storeKeys(page, store) {
  return page.evaluate((name) => new Promise((res, rej) => {
    const r = indexedDB.open('saltchat-v2');
    r.onerror = () => rej(r.error);
    r.onsuccess = () => {
      const q = r.result.transaction(name, 'readonly').objectStore(name).getAllKeys();
      q.onsuccess = () => { r.result.close(); res(q.result); };
      q.onerror = () => rej(q.error);
    };
  }), store);
}

let relay, proxy;

test.after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  if (proxy) proxy.close();
  if (relay) await stopProcess(relay.proc, 'SIGTERM', T).catch(() => {});
  killAll();
  rmSync(tmp, { recursive: true, force: true });
});

test('web client on protocol v2', { timeout: 600000 }, async (t) => {
  relay = await startRelay();
  const base = relay.base;
  proxy = await startProxy(relay.port); // alice's way to the relay
  const alice = await newProfile('alice');
  const bob = await newProfile('bob');
  let link, newLink;
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
    link = await createRoom(alice, proxy.base, 'Alice');
    // The QR code, read by an independent decoder, is exactly the link; copy works.
    const png = join(ARTIFACTS, 'invite-qr.png');
    await alice.page.locator('#qr svg').screenshot({ path: png });
    const z = await run([ZBARIMG, '--quiet', '--raw', png], T);
    assert.equal(z.code, 0, `zbarimg exit ${z.code}: ${z.stderr}`);
    assert.equal(z.stdout.trim(), link);
    await alice.ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
    await alice.page.click('#copy');
    await alice.page.waitForSelector('#copy-status:text-is("Copied.")', { timeout: T });
    assert.equal(await alice.page.evaluate(() => navigator.clipboard.readText()), link);
    const wsUrl = network.urls.find((u) => u.startsWith('ws://'));
    assert.ok(wsUrl && /\/room\/[A-Za-z0-9_-]{22}$/.test(wsUrl), `ws url ${wsUrl}`);
    await joinRoom(bob, link.replace(proxy.base, base), 'Bob'); // bob goes direct
    // The history entry the link was opened in does not keep the fragment either.
    const hist = await bob.page.evaluate(() => location.href);
    assert.ok(!hist.includes('#sc2.'), hist);
    // A valid link to a plain-http relay that is not this computer is refused, saying why.
    const remote = link.replace(/^http:\/\/127\.0\.0\.1:\d+\//, 'http://relay.example/');
    const p3 = await alice.ctx.newPage();
    await p3.goto(proxy.base);
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
    await alice.page.screenshot({ path: join(ARTIFACTS, 'chat-alice.png') });
    await until(async () => (await alice.page.$$('#messages li[data-kind="own"] .status[data-status="accepted"]')).length === 1,
      'alice\'s message stored by the relay', T);
  });

  // Counts of each text in a page's log: every message exactly once, in the order sent.
  const checkExactlyOnce = async (page, want, who) => {
    const got = await texts(page);
    for (const w of want) {
      assert.equal(got.filter((g) => g === w).length, 1, `${who}: "${w}" shown ${got.filter((g) => g === w).length} times: ${JSON.stringify(got)}`);
    }
    const order = got.filter((g) => want.includes(g));
    assert.deepEqual(order, want, `${who}: order`);
  };

  await t.test('relay killed and restarted: messages written meanwhile arrive once, in order', async () => {
    const port = relay.port;
    relay.proc.kill('SIGKILL');
    await alice.page.waitForFunction(() => document.getElementById('conn').dataset.state === 'offline',
      null, { timeout: T });
    await bob.page.waitForFunction(() => document.getElementById('conn').dataset.state === 'offline',
      null, { timeout: T });
    // The user is told.
    assert.match(await alice.page.textContent('#messages'), /Connection to the relay lost/);
    for (let i = 1; i <= 5; i++) { await send(bob.page, `bob offline ${i}`); sent.push(`bob offline ${i}`); }
    await send(alice.page, 'alice offline 1');
    sent.push('alice offline 1');
    relay = await startRelay(port, relay.dataDir);
    await waitTexts(alice.page, sent, 'alice sees every message after the restart');
    await waitTexts(bob.page, sent, 'bob sees every message after the restart');
    // Bob's five are in his order; alice's one comes before or after them (both orders are
    // valid: the relay orders them), so check each sender's own order and exactly-once.
    const bobs = sent.filter((x) => x.startsWith('bob offline'));
    await checkExactlyOnce(alice.page, bobs, 'alice');
    await checkExactlyOnce(bob.page, bobs, 'bob');
    await checkExactlyOnce(bob.page, ['alice offline 1'], 'bob');
    await until(async () => (await alice.page.textContent('#conn')) === 'Online', 'alice online, outbox empty', T,
      { detail: () => alice.page.textContent('#conn') });
    // Others' messages are shown in the relay's order, the same on both pages: what alice
    // received from bob is in bob's typing order, and bob's page put alice's message once.
  });

  await t.test('one page offline while the other sends: all arrive once, in order', async () => {
    proxy.refuse = true;
    proxy.cut();
    await alice.page.waitForFunction(() => document.getElementById('conn').dataset.state === 'offline',
      null, { timeout: T });
    const batch = Array.from({ length: 6 }, (_, i) => `while alice offline ${i + 1}`);
    for (const b of batch) { await send(bob.page, b); sent.push(b); }
    await until(async () => (await bob.page.$$('#messages li[data-kind="own"] .status:not([data-status="accepted"])')).length === 0,
      'bob\'s messages stored by the relay', T);
    proxy.refuse = false;
    await waitTexts(alice.page, batch, 'alice catches up after coming back online');
    await checkExactlyOnce(alice.page, batch, 'alice');
    assert.match(await alice.page.textContent('#messages'), /Reconnected/);
  });

  await t.test('reload after 20 messages: history kept, messages from meanwhile shown as while away', async () => {
    for (let i = 1; i <= 20; i++) await send(alice.page, `numbered ${i}`);
    const numbered = Array.from({ length: 20 }, (_, i) => `numbered ${i + 1}`);
    await waitTexts(bob.page, numbered, 'bob sees the 20');
    const before = await texts(bob.page);
    await bob.page.reload();
    await bob.page.waitForSelector('#chat:not([hidden])', { timeout: T });
    await bob.page.waitForFunction(() => document.getElementById('conn').dataset.state === 'online',
      null, { timeout: T });
    assert.deepEqual(await texts(bob.page), before, 'the reloaded page shows the same conversation');
    // Bob goes away (tab closed); alice writes 3; bob comes back from the room list.
    const roomUrl = bob.page.url();
    assert.match(roomUrl, /#room=[A-Za-z0-9_-]{22}$/);
    await bob.page.close();
    const away = ['while away 1', 'while away 2', 'while away 3'];
    await until(async () => (await alice.page.$$eval('#members li.member', (l) => l.length)) === 2,
      'alice still has 2 members', T);
    for (const a of away) await send(alice.page, a);
    await until(async () => (await alice.page.$$('#messages li[data-kind="own"] .status:not([data-status="accepted"])')).length === 0,
      'all of alice\'s messages stored by the relay', T);
    bob.page = await bob.ctx.newPage();
    await bob.page.goto(base);
    await bob.page.waitForSelector('#rooms:not([hidden]) #room-list li', { timeout: T });
    assert.match(await bob.page.textContent('#room-list'), /Alice/);
    await bob.page.click('#room-list li button:not(.secondary)');
    await bob.page.waitForSelector('#chat:not([hidden])', { timeout: T });
    await waitTexts(bob.page, away, 'bob catches up');
    await bob.page.waitForFunction(() => document.getElementById('conn').dataset.state === 'online',
      null, { timeout: T });
    assert.deepEqual(await texts(bob.page), [...before, ...away]);
    const marker = await bob.page.textContent('#messages li[data-kind="away"]');
    assert.match(marker, /3 new messages while you were away/);
    // A second tab of the same browser does not run the room a second time.
    const tab2 = await bob.ctx.newPage();
    await tab2.goto(roomUrl);
    await tab2.waitForSelector('#link-error:not([hidden])', { timeout: T });
    assert.match(await tab2.textContent('#link-error-text'), /already open in another tab/);
    await tab2.close();
  });

  await t.test('IndexedDB holds no plaintext message, name or key', async () => {
    const code = link.split('#')[1];
    const knowns = [...sent, 'numbered 7', 'while away 2', 'Alice', 'Bob', code, code.slice(4, 30)];
    for (const p of [alice, bob]) {
      const values = await dumpIndexedDb(p.page);
      assert.ok(values.length > 5, `${p.name}: IndexedDB read (${values.length} values)`);
      assert.ok(values.includes('CryptoKey extractable=false'), `${p.name}: the wrapping key is a non-extractable CryptoKey`);
      const blob = values.join('\n');
      for (const k of knowns) assert.ok(!blob.includes(k), `${p.name}: IndexedDB contains "${k}"`);
      // The conversation is stored one record per line (history store), all of it searched above.
      const hist = await storeKeys(p.page, 'history');
      assert.ok(hist.length >= sent.length, `${p.name}: ${hist.length} history records for ${sent.length} messages`);
    }
  });

  await t.test('a room stored in the old form (whole history in its meta) is converted', async () => {
    // Bob's room is rewritten as the page stored it before the history store: its meta
    // carries the history and the history store holds nothing; the page must show the same
    // conversation and store it one record per line again.
    const before = await texts(bob.page);
    const roomUrl = bob.page.url();
    await bob.page.goto(base);
    await bob.page.waitForSelector('#rooms:not([hidden]) #room-list li', { timeout: T });
    const n = await bob.page.evaluate(async () => {
      const { loadCore } = await import(new URL('core.js', location.href).href);
      const { Store } = await import(new URL('storage.js', location.href).href);
      const core = await loadCore();
      const store = await Store.open();
      await store.unlock(core);
      const [id] = await store.roomIds();
      const rec = await store.loadRoom(id);
      const meta = core.openJson(rec.meta);
      const lines = (await store.historyOf(id)).map(([, v]) => core.openJson(v).e);
      meta.history = lines;
      delete meta.first;
      delete meta.next;
      await store.forgetRoom(id);
      await store.saveRoom(id, rec.state, core.sealJson(meta));
      store.db.close();
      return lines.length;
    });
    assert.ok(n >= before.length, `${n} lines converted`);
    assert.deepEqual(await storeKeys(bob.page, 'history'), []);
    await bob.page.goto(roomUrl);
    await bob.page.waitForSelector('#chat:not([hidden])', { timeout: T });
    await bob.page.waitForFunction(() => document.getElementById('conn').dataset.state === 'online',
      null, { timeout: T });
    assert.deepEqual(await texts(bob.page), before, 'the converted room shows the same conversation');
    await until(async () => (await storeKeys(bob.page, 'history')).length >= n,
      'the converted history written one record per line', T);
  });

  await t.test('removal: the removed page is told, its old link is refused, the new one works', async () => {
    const oldLink = link;
    await alice.page.click(`#members li.member button[data-remove]`);
    // confirm() is accepted by the dialog handler below.
    await bob.page.waitForSelector('#messages li[data-kind="alert"]', { timeout: T });
    assert.match(await bob.page.textContent('#messages'), /Alice removed you from this room/);
    await until(async () => (await members(alice.page)).length === 1, 'alice alone', T);
    newLink = await alice.page.inputValue('#invite-link');
    assert.notEqual(newLink, oldLink);
    assert.match(await alice.page.textContent('#messages'), /new invite link/);
    const carol = await newProfile('carol');
    await carol.page.goto(oldLink);
    await carol.page.fill('#name-join', 'Carol');
    await carol.page.click('#join-form button[type=submit]');
    await carol.page.waitForSelector('#messages li[data-kind="alert"]', { timeout: T });
    assert.match(await carol.page.textContent('#messages'), /Could not join this room/);
    const dave = await newProfile('dave');
    await joinRoom(dave, newLink, 'Dave');
    await send(alice.page, 'welcome dave');
    await waitTexts(dave.page, ['welcome dave'], 'dave reads with the new link');
    const bobTexts = await texts(bob.page);
    assert.ok(!bobTexts.includes('welcome dave'), 'the removed page reads nothing after its removal');
    // Leaving: dave's page says so, alice's sees him go and gets another new link.
    await dave.page.click('#leave');
    await until(async () => /You left the room/.test(await dave.page.textContent('#messages')),
      'dave told he left', T);
    await until(async () => /Dave left the room/.test(await alice.page.textContent('#messages')),
      'alice sees dave leave', T);
    await until(async () => (await alice.page.inputValue('#invite-link')) !== newLink,
      'the link rotated after dave left', T);
    newLink = await alice.page.inputValue('#invite-link');
    // Forgetting the room deletes it from the browser.
    await bob.page.click('#forget');
    await bob.page.waitForSelector('#start:not([hidden])', { timeout: T });
    const ids = await bob.page.evaluate(() => new Promise((res, rej) => {
      const r = indexedDB.open('saltchat-v2');
      r.onerror = () => rej(r.error);
      r.onsuccess = () => {
        const q = r.result.transaction('rooms', 'readonly').objectStore('rooms').getAllKeys();
        q.onsuccess = () => res(q.result);
        q.onerror = () => rej(q.error);
      };
    }));
    assert.deepEqual(ids, [], 'bob\'s browser keeps no room after "Forget this room"');
    assert.deepEqual(await storeKeys(bob.page, 'history'), [], 'nor any line of its history');
  });

  await t.test('the native client (saltchat --batch) and the pages talk', async () => {
    const cliDir = mkdtempSync(join(tmp, 'cli-'));
    const cli = startCli(CLI, newLink, 'Cleo', cliDir, ['--data', join(cliDir, 'data')], T);
    await cli.waitFor((e) => e.type === 'live', 'the CLI is live in the room');
    await until(async () => (await members(alice.page)).includes('Cleo'), 'alice sees Cleo', T,
      { detail: async () => JSON.stringify(await members(alice.page)) });
    await send(alice.page, 'hello cleo from the page');
    sent.push('hello cleo from the page');
    const m = await cli.waitFor((e) => e.type === 'message' && e.text === 'hello cleo from the page',
      'the CLI reads the page\'s message');
    assert.equal(m.name, 'Alice');
    cli.proc.stdin.write('hello pages from cleo\n');
    sent.push('hello pages from cleo');
    await waitTexts(alice.page, ['hello pages from cleo'], 'alice reads the CLI');
    const line = alice.page.locator('#messages li[data-kind="message"]', { hasText: 'hello pages from cleo' });
    assert.match(await line.locator('.sender').textContent(), /^Cleo$/);
    cli.proc.stdin.write('/quit\n');
    await cli.waitFor((e) => e.type === 'exit', 'the CLI exits');
    assert.equal(cli.events.find((e) => e.type === 'exit').code, 0);
  });

  await t.test('verify: the page and the CLI show the same numbers; wrong numbers refused; the mark is kept and another key under the name is an alert', async () => {
    const cliDir = mkdtempSync(join(tmp, 'cli-vera-'));
    const vera = startCli(CLI, newLink, 'Vera', cliDir, ['--data', join(cliDir, 'data')], T);
    await vera.waitFor((e) => e.type === 'live', 'the CLI Vera is live');
    const vroom = vera.events.find((e) => e.type === 'room');
    await until(async () => (await members(alice.page)).includes('Vera'), 'alice sees Vera', T,
      { detail: async () => JSON.stringify(await members(alice.page)) });
    vera.proc.stdin.write('/verify Alice\n');
    const v = await vera.waitFor((e) => e.type === 'verify', 'the CLI\'s /verify Alice');
    const btn = `#members li.member[data-identity="${vroom.identity}"] button[data-verify]`;
    assert.equal(await alice.page.getAttribute(btn, 'data-verified'), 'no');
    await alice.page.click(btn);
    await alice.page.waitForSelector('#verify-panel[open]', { timeout: T });
    const num = (k) => alice.page.getAttribute(`#verify-panel [data-${k}]`, `data-${k}`);
    assert.equal(await num('fp'), vroom.fingerprint, 'the page shows the CLI\'s own fingerprint');
    assert.equal(await num('mine'), v.fingerprint, 'the CLI shows the page\'s own fingerprint');
    assert.equal(await num('sn'), v.safety_number, 'one safety number on both sides');
    assert.ok((await alice.page.textContent('#me')).includes(v.fingerprint), 'the page\'s own fingerprint line');
    // not a number, then alice's own fingerprint: refused, saying why; nothing marked
    await alice.page.fill('#verify-input', '12345 678');
    await alice.page.click('#verify-mark');
    await alice.page.waitForSelector('#verify-error:not([hidden])', { timeout: T });
    assert.match(await alice.page.textContent('#verify-error'), /30 digits/);
    await alice.page.fill('#verify-input', v.fingerprint);
    await alice.page.click('#verify-mark');
    await until(async () => /does not match/.test(await alice.page.textContent('#verify-error')),
      'the wrong number explained', T);
    assert.equal(await alice.page.getAttribute(btn, 'data-verified'), 'no');
    // the safety number without spaces: verified
    await alice.page.fill('#verify-input', v.safety_number.replace(/ /g, ''));
    await alice.page.click('#verify-mark');
    await until(async () => (await alice.page.getAttribute(btn, 'data-verified')) === 'yes',
      'Vera marked verified', T);
    assert.match(await alice.page.textContent('#verify-status'), /You verified Vera \(safety number compared\)/);
    await alice.page.screenshot({ path: join(ARTIFACTS, 'verify-panel.png') });
    // the room code: the same at the CLI, at the same epoch
    vera.proc.stdin.write('/room-code\n');
    const rc = await vera.waitFor((e) => e.type === 'room_code', 'the CLI\'s room code');
    assert.equal(await alice.page.textContent('#verify-panel .verify-line:has([data-code]) .verify-label'),
      `Epoch ${rc.epoch}`, 'the page\'s room code is of the CLI\'s epoch');
    assert.equal(await num('code'), rc.room_code, 'the page and the CLI show the same room code');
    await alice.page.click('#verify-close');
    // kept (sealed with the room) across a reload
    await alice.page.reload();
    await alice.page.waitForSelector('#chat:not([hidden])', { timeout: T });
    await alice.page.waitForFunction(() => document.getElementById('conn').dataset.state === 'online',
      null, { timeout: T });
    await until(async () => (await alice.page.getAttribute(btn, 'data-verified')) === 'yes',
      'Vera still verified after the reload', T);
    // another key under the name Vera: an alert naming both fingerprints
    const cliDir2 = mkdtempSync(join(tmp, 'cli-vera2-'));
    const vera2 = startCli(CLI, newLink, 'Vera', cliDir2, ['--data', join(cliDir2, 'data')], T);
    await vera2.waitFor((e) => e.type === 'live', 'the second Vera is live');
    const v2 = vera2.events.find((e) => e.type === 'room');
    await until(async () => (await alice.page.textContent('#messages')).includes(`you verified Vera, but Vera is now in the room with another key (fingerprint ${v2.fingerprint}`),
      'alice warned that a verified name came back with another key', T,
      { detail: () => alice.page.textContent('#messages') });
    const btn2 = `#members li.member[data-identity="${v2.identity}"] button[data-verify]`;
    assert.equal(await alice.page.getAttribute(btn2, 'data-verified'), 'no');
    for (const c of [vera, vera2]) {
      c.proc.stdin.write('/quit\n');
      await c.waitFor((e) => e.type === 'exit', 'the CLI exits');
    }
  });

  await t.test('the relay restarted on an empty data dir: the page says the room is lost and stops', async () => {
    const port = relay.port;
    await stopProcess(relay.proc, 'SIGTERM', T);
    relay = await startRelay(port, mkdtempSync(join(tmp, 'empty-data-')));
    await until(async () => /This relay no longer has the room/.test(await alice.page.textContent('#messages')),
      'alice told the room is lost', T, { detail: () => alice.page.textContent('#conn') });
    await until(async () => (await alice.page.textContent('#conn')).startsWith('Room lost'),
      'the header says the room is lost', T, { detail: () => alice.page.textContent('#conn') });
    // The conversation stays on the page, and the page does not reconnect (the first
    // backoff would be 0.5 to 1 s; watch for 3 s).
    assert.ok((await texts(alice.page)).includes('welcome dave'));
    const wsCount = () => network.urls.filter((u) => u.startsWith(`ws://127.0.0.1:${proxy.port}/`)).length;
    const n = wsCount();
    assert.ok(n > 0, 'alice\'s connections are seen');
    await sleep(3000);
    assert.equal(wsCount(), n, 'a LOST room is not reconnected');
  });

  await t.test('a tab holding the storage\'s older version open: the upgrade says so', async () => {
    // Not watched: the browser asks the plain-text document below for /favicon.ico (404).
    const ctx = await launchProfile(chromium, CHROMIUM, mkdtempSync(join(tmp, 'chromium-erin-')));
    contexts.push(ctx);
    const erin = { ctx, page: ctx.pages()[0] || await ctx.newPage() };
    // A document of the origin (not the page) opens version 1, as an older page would.
    await erin.page.goto(`${base}healthz`);
    await erin.page.evaluate(() => new Promise((res, rej) => {
      const r = indexedDB.open('saltchat-v2', 1);
      r.onupgradeneeded = () => { for (const n of ['keys', 'settings', 'rooms']) r.result.createObjectStore(n); };
      r.onsuccess = () => { globalThis.oldDb = r.result; res(); };
      r.onerror = () => rej(r.error);
    }));
    const tab = await erin.ctx.newPage();
    await tab.goto(base);
    await tab.waitForSelector('#fatal:not([hidden])', { timeout: T });
    assert.match(await tab.textContent('#fatal'), /close the other saltchat tabs and reload/);
    await erin.page.evaluate(() => globalThis.oldDb.close());
    await tab.reload();
    await tab.waitForSelector('#start:not([hidden])', { timeout: T });
    await tab.close();
  });

  await t.test('no secret or plaintext on the wire or in the relay log; no page errors', async () => {
    const code = link.split('#')[1];
    for (const u of network.urls) assert.ok(!u.includes(code), `URL carries the invite: ${u}`);
    const frames = Buffer.concat([...network.framesSent, ...network.framesReceived]);
    for (const k of [...sent, code]) assert.ok(!frames.includes(Buffer.from(k)), `a frame carries "${k}"`);
    for (const log of relayLogs) for (const k of [...sent, code]) assert.ok(!log.text.includes(k), `the relay log carries "${k}"`);
    assert.deepEqual(pageProblems, []);
  });
});
