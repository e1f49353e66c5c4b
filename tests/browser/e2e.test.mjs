// End-to-end test of the web client: Debian's Chromium (headless, driven by playwright-core)
// against the real relay binary on a free port, with a real native client (saltchat --batch)
// in the same room. Run by CTest (label "browser"); see docs/WEB.md.
//
// Environment: SALTCHAT_RELAY, SALTCHAT_CLI, SALTCHAT_WWW (the built page), SALTCHAT_ARTIFACTS
// (screenshots and logs), SALTCHAT_PYTHON (Debian's python3), CHROMIUM, ZBARIMG,
// SALTCHAT_NODE_MODULES (the folder whose node_modules holds playwright-core).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  env, killAll, launchProfile, loadPlaywright, run, startCli as startCliIn,
  startRelay as startRelayOn, stopProcess, withTimeout,
} from '../lib/sctest.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const RELAY = env('SALTCHAT_RELAY');
const CLI = env('SALTCHAT_CLI');
const WWW = env('SALTCHAT_WWW');
const ARTIFACTS = env('SALTCHAT_ARTIFACTS');
const PYTHON = env('SALTCHAT_PYTHON', '/usr/bin/python3');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const ZBARIMG = env('ZBARIMG', '/usr/bin/zbarimg'); // QR decoder (Debian zbar-tools)
const { chromium } = loadPlaywright(env('SALTCHAT_NODE_MODULES'));
const T = 20000; // per wait

mkdirSync(ARTIFACTS, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'saltchat-browser-'));
const relayLogs = [];

// --- the relay (its output is kept: no secret or plaintext may appear in it) -------------
async function startRelay(port = 0) {
  const relay = await startRelayOn({ relay: RELAY, www: WWW, port, args: ['--log-level', 'info'],
                                     logPath: join(ARTIFACTS, `relay-${relayLogs.length}.log`) });
  relayLogs.push(relay.log);
  return relay;
}

const stopRelay = (relay) => stopProcess(relay.proc, 'SIGTERM', T);

// --- the native client (batch mode: JSON events on stdout, one message per stdin line) --
const startCli = (link, name) => startCliIn(CLI, link, name, tmp, [], T);

// --- browsers: each profile is a fresh --user-data-dir; every page is watched ------------
const network = { urls: [], headers: [], framesSent: [], framesReceived: [] };
const pageProblems = [];
const contexts = [];

async function newProfile(name) {
  const dir = mkdtempSync(join(tmp, `chromium-${name}-`));
  const ctx = await launchProfile(chromium, CHROMIUM, dir, { viewport: { width: 1100, height: 760 } });
  contexts.push(ctx);
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write']);
  ctx.on('request', (req) => {
    network.urls.push(req.url());
    network.headers.push(JSON.stringify(req.headers()));
    if (req.postData()) network.headers.push(req.postData());
  });
  const watch = (page) => {
    page.on('pageerror', (e) => pageProblems.push(`${name}: page error: ${e.message}`));
    page.on('console', (m) => {
      const t = m.text();
      if (/Content Security Policy|Refused to/i.test(t)) pageProblems.push(`${name}: CSP: ${t}`);
      else if (m.type() === 'error' && !/WebSocket connection|ERR_CONNECTION_REFUSED/.test(t)) {
        pageProblems.push(`${name}: console error: ${t}`);
      }
    });
    page.on('websocket', (ws) => {
      network.urls.push(ws.url());
      ws.on('framesent', (f) => network.framesSent.push(Buffer.from(f.payload)));
      ws.on('framereceived', (f) => network.framesReceived.push(Buffer.from(f.payload)));
    });
  };
  ctx.pages().forEach(watch);
  ctx.on('page', watch);
  const first = ctx.pages()[0] || await ctx.newPage();
  return { ctx, page: first };
}

const online = (page) => page.waitForSelector('#conn[data-state="online"]', { timeout: T });
const messageFrom = (page, sender, text) => page.waitForSelector(
  `#messages li[data-kind="message"]:has(.sender:text-is("${sender}")):has(.text:text-is("${text}"))`,
  { timeout: T });
const systemLine = (page, re) => page.waitForFunction(
  (src) => [...document.querySelectorAll('#messages li.system .text')]
    .some((e) => new RegExp(src).test(e.textContent)), re.source, { timeout: T });
const authenticated = (page, name) => page.waitForSelector(
  `#members li.member:has(.name:text-is("${name}")) .fp`, { timeout: T });

async function send(page, text) {
  await page.focus('#text');
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// --- the scenario ------------------------------------------------------------------------
test('web client end to end: pages, native client, relay', { timeout: 220000 }, async (t) => {
  const texts = [];
  let relay, link, alice, bob, carol, roomWsUrl;
  try {
    relay = await startRelay();

    await t.test('relay serves the page under a CSP without unsafe-eval', async () => {
      const res = await fetch(relay.base, { signal: AbortSignal.timeout(T) });
      assert.equal(res.status, 200);
      const csp = res.headers.get('content-security-policy') || '';
      const scriptSrc = (csp.split(';').find((d) => d.trim().startsWith('script-src')) || '').trim();
      assert.match(scriptSrc, /'wasm-unsafe-eval'/);
      assert.doesNotMatch(csp, /'unsafe-eval'|'unsafe-inline'/);
      const wasm = await fetch(relay.base + 'saltchat-core.wasm', { signal: AbortSignal.timeout(T) });
      assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    });

    await t.test('Alice creates a room: invite link, copy button, QR code', async () => {
      alice = await newProfile('alice');
      await alice.page.goto(relay.base);
      await alice.page.waitForSelector('#my-fp:not([hidden])', { timeout: T });
      await alice.page.fill('#name-create', 'Alice');
      await alice.page.click('#create-form button[type=submit]');
      await online(alice.page);
      link = await alice.page.inputValue('#invite-link');
      assert.match(link, new RegExp(`^${relay.base.replace(/[.]/g, '\\.')}#sc1\\.[A-Za-z0-9_-]{48}$`));
      assert.equal(alice.page.url(), link, 'the page keeps the invite in its own fragment');
      const width = Number(await alice.page.getAttribute('#qr', 'data-width'));
      assert.ok(width >= 21 && (width - 17) % 4 === 0, `QR code width ${width}`);
      assert.equal(await alice.page.locator('#qr svg path').count(), 1);
      // the QR code decodes (with zbar, an independent decoder) to exactly the invite link
      const png = join(ARTIFACTS, 'invite-qr.png');
      await alice.page.locator('#qr svg').screenshot({ path: png });
      const z = await run([ZBARIMG, '--quiet', '--raw', png], T);
      assert.equal(z.code, 0, `zbarimg exit ${z.code}: ${z.stderr}`);
      assert.equal(z.stdout.trim(), link);
      await alice.page.click('#copy');
      await alice.page.waitForSelector('#copy-status:text-is("Copied.")', { timeout: T });
      assert.equal(await alice.page.evaluate(() => navigator.clipboard.readText()), link);
      roomWsUrl = network.urls.find((u) => u.startsWith('ws://'));
      assert.ok(roomWsUrl && /\/room\/[A-Za-z0-9_-]{43}$/.test(roomWsUrl), `ws url ${roomWsUrl}`);
    });

    await t.test('Bob joins by keyboard alone; Carol joins with the native client', async () => {
      bob = await newProfile('bob');
      await bob.page.goto(link);
      await bob.page.waitForSelector('#join:not([hidden])', { timeout: T });
      // focus starts in the name field: type, Enter; focus then moves to the message box
      await bob.page.keyboard.type('Bob');
      await bob.page.keyboard.press('Enter');
      await online(bob.page);
      assert.equal(await bob.page.evaluate(() => document.activeElement.id), 'text');
      carol = startCli(link, 'Carol');
      await carol.waitFor((e) => e.type === 'joined_room', 'joined_room');
      await carol.waitFor((e) => e.type === 'member_authenticated' && e.name === 'Alice', 'Alice');
      await carol.waitFor((e) => e.type === 'member_authenticated' && e.name === 'Bob', 'Bob');
      for (const p of [alice.page, bob.page]) await authenticated(p, 'Carol');
      await authenticated(alice.page, 'Bob');
      await authenticated(bob.page, 'Alice');
    });

    await t.test('messages flow in every direction', async () => {
      const a = 'Grüße from Alice — <b>not bold</b>';
      const b = 'Bob here, typing only with the keyboard';
      const c = 'Carol from the terminal';
      texts.push(a, b, c);
      await send(alice.page, a);
      await messageFrom(bob.page, 'Alice', a);
      await carol.waitFor((e) => e.type === 'message' && e.name === 'Alice' && e.text === a, 'Alice msg');
      await send(bob.page, b);
      await messageFrom(alice.page, 'Bob', b);
      await carol.waitFor((e) => e.type === 'message' && e.name === 'Bob' && e.text === b, 'Bob msg');
      carol.proc.stdin.write(c + '\n');
      await messageFrom(alice.page, 'Carol', c);
      await messageFrom(bob.page, 'Carol', c);
      // own messages end confirmed by the relay; other members show their verification state
      for (const p of [alice.page, bob.page]) {
        await p.waitForSelector('#messages li[data-kind="own"] .status[data-status="confirmed"]', { timeout: T });
      }
      const li = await messageFrom(alice.page, 'Bob', b);
      assert.equal(await li.$eval('.badge', (e) => e.textContent), 'unverified');
      assert.match(await li.$eval('time', (e) => e.textContent), /\d/);
      // markup in a message is text, never HTML
      assert.equal(await bob.page.locator('#messages b').count(), 0);
      await shot(alice.page, 'chat-alice');
    });

    await t.test('safety numbers match; verification is shown and remembered', async () => {
      const reveal = async (page, name) => {
        const row = page.locator(`#members li.member:has(.name:text-is("${name}"))`);
        await row.locator('button:text-is("Compare safety number")').click();
        return row.locator('.safety-number').textContent();
      };
      const snA = await reveal(alice.page, 'Bob');
      // Bob does it by keyboard alone: Tab from the message box to Alice's button, Enter,
      // then Tab to "Mark as verified" (focus survives the member list being redrawn).
      const focused = () => bob.page.evaluate(() => {
        const e = document.activeElement;
        const row = e && e.closest('li.member');
        return { text: e ? e.textContent : '', who: row ? row.querySelector('.name').textContent : '' };
      });
      await bob.page.focus('#text');
      let f;
      for (let i = 0; i < 12; i++) {
        await bob.page.keyboard.press('Tab');
        f = await focused();
        if (f.who === 'Alice' && f.text === 'Compare safety number') break;
      }
      assert.deepEqual(f, { who: 'Alice', text: 'Compare safety number' });
      await bob.page.keyboard.press('Enter');
      assert.deepEqual(await focused(), { who: 'Alice', text: 'Hide safety number' });
      const snB = await bob.page.locator(
        '#members li.member:has(.name:text-is("Alice")) .safety-number').textContent();
      assert.match(snA, /^(\d{5} ){11}\d{5}$/);
      assert.equal(snA, snB, 'both sides compute the same safety number');
      await bob.page.keyboard.press('Tab');
      assert.deepEqual(await focused(), { who: 'Alice', text: 'Mark as verified' });
      await bob.page.keyboard.press('Enter');
      await bob.page.waitForSelector(
        '#members li.member:has(.name:text-is("Alice")) .badge.verified', { timeout: T });
      const row = alice.page.locator('#members li.member:has(.name:text-is("Bob"))');
      await row.locator('button:text-is("Mark as verified")').click();
      await alice.page.waitForSelector(
        '#messages li[data-kind="message"]:has(.sender:text-is("Bob")) .badge.verified', { timeout: T });
      await shot(alice.page, 'chat-alice-verified'); // docs/screenshot.png comes from this one
      // reload: the page rejoins from its fragment (new member id) and still trusts Bob's key
      await alice.page.reload();
      await alice.page.waitForSelector('#join:not([hidden])', { timeout: T });
      assert.equal(await alice.page.inputValue('#name-join'), 'Alice', 'display name remembered');
      await alice.page.keyboard.press('Enter');
      await online(alice.page);
      await authenticated(alice.page, 'Bob');
      await alice.page.waitForSelector(
        '#members li.member:has(.name:text-is("Bob")) .badge.verified', { timeout: T });
      const again = 'after the reload';
      texts.push(again);
      await send(bob.page, again);
      const li = await messageFrom(alice.page, 'Bob', again);
      assert.equal(await li.$eval('.badge', (e) => e.textContent), 'verified');
      await authenticated(alice.page, 'Carol');
      assert.equal(await alice.page.locator(
        '#members li.member:has(.name:text-is("Carol")) .badge').textContent(), 'unverified');
      const reply = 'Verified you, Bob. Carol, let us compare numbers too.';
      texts.push(reply);
      await send(alice.page, reply);
      await messageFrom(bob.page, 'Alice', reply);

    });

    await t.test('two tabs of one browser share one identity, each its own member', async () => {
      const dave = await newProfile('dave');
      const second = await dave.ctx.newPage();
      // Both tabs start at once on an empty profile, held at a barrier until both have asked
      // for the wasm module so that they reach the identity store together: the identity
      // must still be created exactly once.
      let release;
      const barrier = new Promise((r) => { release = r; });
      let waiting = 0;
      await dave.ctx.route('**/saltchat-core.wasm', async (route) => {
        if (++waiting === 2) release();
        await barrier;
        await route.continue();
      });
      await Promise.all([dave.page.goto(relay.base), second.goto(relay.base)]);
      const fp = (p) => p.waitForSelector('#my-fp:not([hidden])', { timeout: T })
        .then(() => p.textContent('#my-fp'));
      const [f1, f2] = await Promise.all([fp(dave.page), fp(second)]);
      assert.equal(waiting, 2);
      assert.equal(f1, f2, 'both tabs use the same identity key');
      await dave.ctx.unroute('**/saltchat-core.wasm');
      for (const p of [dave.page, second]) {
        await p.goto(link);
        await p.fill('#name-join', 'Dave');
        await p.press('#name-join', 'Enter');
        await online(p);
      }
      // Alice sees two Dave members with one fingerprint; a message reaches both tabs
      await alice.page.waitForFunction(() => document.querySelectorAll(
        '#members li.member .fp').length >= 4, null, { timeout: T });
      const fps = await alice.page.$$eval('#members li.member:has(.name:text-is("Dave")) .fp',
                                          (els) => els.map((e) => e.textContent));
      assert.equal(fps.length, 2);
      assert.equal(fps[0], fps[1]);
      const m = 'to both of Dave\'s tabs';
      texts.push(m);
      await send(alice.page, m);
      await messageFrom(dave.page, 'Alice', m);
      await messageFrom(second, 'Alice', m);
      const m2 = 'from Dave\'s second tab';
      texts.push(m2);
      await send(second, m2);
      await messageFrom(dave.page, 'Dave', m2); // the other tab is another member
      await messageFrom(alice.page, 'Dave', m2);
      // a verification made in one tab shows in the other at once (shared store + broadcast)
      const row = dave.page.locator('#members li.member:has(.name:text-is("Alice"))');
      await row.locator('button:text-is("Compare safety number")').click();
      await row.locator('button:text-is("Mark as verified")').click();
      await second.waitForSelector(
        '#messages li[data-kind="message"]:has(.sender:text-is("Alice")) .badge.verified', { timeout: T });
      await dave.ctx.close();
      contexts.splice(contexts.indexOf(dave.ctx), 1);
      await systemLine(alice.page, /^Dave left\.$/);
    });

    await t.test('a member leaving makes the page rotate its keys', async () => {
      carol.proc.stdin.end();
      const exited = carol.proc.exitCode !== null ? Promise.resolve(carol.proc.exitCode)
        : new Promise((r) => carol.proc.once('exit', r));
      const code = await withTimeout(exited, T, 'Carol (native client) to exit after end of input');
      assert.equal(code, 0, carol.stderr());
      for (const p of [alice.page, bob.page]) {
        await systemLine(p, /^Carol left\.$/);
        await systemLine(p, /^Your sending key was rotated: member left\.$/);
      }
      const m = 'after Carol left';
      texts.push(m);
      await send(alice.page, m);
      await messageFrom(bob.page, 'Alice', m);
    });

    await t.test('undecryptable input is shown with its reason', async () => {
      // A raw client in the room broadcasts a forged group message (no keys) and a
      // truncated one, then leaves: the pages must say so, not drop them silently.
      const inj = await run([PYTHON, join(HERE, 'inject_undecryptable.py'), roomWsUrl, String(T / 1000)],
                            T + 5000);
      assert.equal(inj.code, 0, `injector failed: ${inj.stderr}`);
      for (const p of [alice.page, bob.page]) {
        await p.waitForFunction(() => document.querySelectorAll(
          '#messages li[data-kind="undecryptable"]').length >= 2, null, { timeout: T });
        const reasons = await p.$$eval('#messages li[data-kind="undecryptable"] .text',
                                       (els) => els.map((e) => e.textContent));
        for (const r of reasons) assert.match(r, /^A message could not be decrypted: \S.+\.$/);
      }
      await shot(bob.page, 'undecryptable-bob');
    });

    await t.test('relay restart: pages reconnect and send what was typed offline', async () => {
      const port = relay.port;
      await stopRelay(relay);
      for (const p of [alice.page, bob.page]) {
        await p.waitForSelector('#conn[data-state="offline"]', { timeout: T });
      }
      const m = 'typed while the relay was down';
      texts.push(m);
      await send(bob.page, m);
      const own = bob.page.locator(`#messages li[data-kind="own"]:has(.text:text-is("${m}")) .status`);
      assert.equal(await own.getAttribute('data-status'), 'queued');
      assert.match(await bob.page.textContent('#conn'), /1 message waiting/);
      await shot(bob.page, 'offline-bob');
      // The relay stores nothing. Bob comes back first, to an empty room: his session must
      // hold the message until Alice (a member of before the drop) is back, not send it into
      // the empty room. Alice's browser stays offline until then.
      await alice.ctx.setOffline(true);
      relay = await startRelay(port);
      await online(bob.page);
      await systemLine(bob.page, /^Reconnected\.$/);
      await bob.page.waitForTimeout(1500);
      assert.equal(await own.getAttribute('data-status'), 'queued', 'held while Alice is away');
      assert.equal(await alice.page.getAttribute('#conn', 'data-state'), 'offline');
      await alice.ctx.setOffline(false);
      await online(alice.page);
      await systemLine(alice.page, /^Reconnected\.$/);
      await messageFrom(alice.page, 'Bob', m);
      await bob.page.waitForSelector(
        `#messages li[data-kind="own"]:has(.text:text-is("${m}")) .status[data-status="confirmed"]`,
        { timeout: T });
      assert.equal(await alice.page.locator(
        `#messages li[data-kind="message"]:has(.text:text-is("${m}"))`).count(), 1, 'shown once');
    });

    await t.test('bad or truncated links show a clear error and open no connection', async () => {
      const page = await bob.ctx.newPage();
      const code = link.split('#sc1.')[1];
      const flip = code[5] === 'A' ? 'B' : 'A';
      const cases = [
        [`#sc1.${code.slice(0, 40)}`, /wrong length.*cut off/],
        ['#hello', /does not start with 'sc1\.'/],
        [`#sc1.${code.slice(0, 5)}${flip}${code.slice(6)}`, /checksum|mistyped/],
        [`#sc1.${code.slice(0, 47)}*`, /characters that cannot be in it/],
      ];
      let sockets = 0;
      page.on('websocket', () => { sockets++; });
      for (const [frag, re] of cases) {
        await page.goto('about:blank');
        await page.goto(relay.base + frag);
        await page.waitForSelector('#link-error:not([hidden])', { timeout: T });
        assert.match(await page.textContent('#link-error-text'), re, frag);
      }
      await shot(page, 'bad-link');
      // the "open a link" form says the same before navigating anywhere
      await page.goto(relay.base);
      await page.fill('#link-input', `${relay.base}#sc1.${code.slice(0, 30)}`);
      await page.press('#link-input', 'Enter');
      await page.waitForSelector('#open-error:not([hidden])', { timeout: T });
      assert.match(await page.textContent('#open-error'), /wrong length/);
      // a display name over 64 bytes of UTF-8 (but under 64 UTF-16 units) is refused up front
      await page.goto(link);
      await page.fill('#name-join', '🙂'.repeat(20));
      await page.press('#name-join', 'Enter');
      assert.match(await page.$eval('#name-join', (e) => e.validationMessage), /80 bytes.*at most 64/);
      assert.equal(await page.isVisible('#join'), true);
      assert.equal(sockets, 0);
      await page.close();
    });

    await t.test('phone width: no horizontal scrolling, everything reachable', async () => {
      await bob.page.setViewportSize({ width: 375, height: 740 });
      const overflow = await bob.page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than a phone screen`);
      await shot(bob.page, 'chat-bob-phone');
    });

    await t.test('no request carried the room secret or any plaintext', async () => {
      const code = link.split('#sc1.')[1];
      const secret = Buffer.from(code, 'base64url').subarray(0, 32);
      // Playwright reports a navigation's URL with the page's fragment; the fragment is never
      // part of the HTTP request line, so what went on the wire is the URL without it.
      const wire = network.urls.map((u) => u.split('#')[0]);
      const textual = [...wire, ...network.headers, ...relayLogs.map((l) => l.text)];
      for (const s of textual) {
        assert.ok(!s.includes(code) && !s.includes(code.slice(0, 42)), `secret in: ${s.slice(0, 200)}`);
        for (const m of texts) assert.ok(!s.includes(m), `plaintext in: ${s.slice(0, 200)}`);
      }
      const frames = [...network.framesSent, ...network.framesReceived];
      assert.ok(network.framesSent.length > 20, 'frames were captured');
      for (const f of frames) {
        assert.ok(f.indexOf(secret) < 0, 'raw room secret in a WebSocket frame');
        assert.ok(f.indexOf(Buffer.from(code)) < 0, 'invite code in a WebSocket frame');
        for (const m of texts) assert.ok(f.indexOf(Buffer.from(m)) < 0, `plaintext "${m}" in a frame`);
      }
      assert.ok(network.urls.some((u) => u.includes('/room/')), 'the WebSocket requests were seen');
    });

    assert.deepEqual(pageProblems, [], 'page errors or CSP violations');
  } finally {
    for (const ctx of contexts) await withTimeout(ctx.close(), T, 'a browser to close').catch(() => {});
    killAll();
    writeFileSync(join(ARTIFACTS, 'page-problems.txt'), pageProblems.join('\n'));
    rmSync(tmp, { recursive: true, force: true });
  }
});
