// Pinned code (www/sw.js, www/pin.js; docs/WEB.md "Pinned code"): Debian's Chromium against
// the real relay, restarted on the same port with a --www copy that differs between visits.
// First visit pins; offline the page still loads; one changed app.js (which would set a
// marker global) is refused with both hashes shown and its marker stays unset until the
// user accepts, which re-pins; one changed byte of the .wasm, and then of app.js, is refused
// the same way and the page keeps using the pinned files. Run by CTest (label "browser"); environment as
// e2e.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  env, killAll, launchProfile, loadPlaywright, startRelay, stopProcess,
} from '../lib/sctest.mjs';

const RELAY = env('SALTCHAT_RELAY');
const WWW = env('SALTCHAT_WWW');
const ARTIFACTS = env('SALTCHAT_ARTIFACTS');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const { chromium } = loadPlaywright(env('SALTCHAT_NODE_MODULES'));
const T = 30000;

mkdirSync(ARTIFACTS, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'saltchat-pin-'));
const sha = (buf) => createHash('sha256').update(buf).digest('hex');
const grouped = (h) => h.match(/.{1,8}/g).join(' ');

// A copy of the built page under tmp/name, edited by edit(dir); with relist, assets.json is
// rewritten for the edited files (an honest update), else left as it was (a lying relay).
function wwwCopy(from, name, edit, relist) {
  const dir = join(tmp, name);
  cpSync(from, dir, { recursive: true });
  edit(dir);
  if (relist) {
    const files = {};
    for (const f of readdirSync(dir).sort()) if (f !== 'assets.json') files[f] = sha(readFileSync(join(dir, f)));
    writeFileSync(join(dir, 'assets.json'), JSON.stringify({ version: 1, files }));
  }
  return dir;
}

let relay;
let ctx;
const problems = [];

test.after(async () => {
  if (ctx) await ctx.close().catch(() => {});
  if (relay) await stopProcess(relay.proc, 'SIGTERM', T).catch(() => {});
  killAll();
  rmSync(tmp, { recursive: true, force: true });
});

async function serve(www, port = 0) {
  if (relay) await stopProcess(relay.proc, 'SIGTERM', T);
  relay = await startRelay({ relay: RELAY, www, port, args: ['--log-level', 'info'],
    logPath: join(ARTIFACTS, `pin-relay-${port}.log`) });
  return relay;
}

const pinState = (page) => page.evaluate(() => document.documentElement.dataset.pin || '');

async function visit(page, base, want) {
  await page.goto(base);
  await page.waitForFunction((w) => document.documentElement.dataset.pin === w, want, { timeout: T })
    .catch(async (e) => { throw new Error(`pin state ${await pinState(page)} (${await page.textContent('#pin')}), wanted ${want}: ${e.message}`); });
}

test('pinned code: first use pins, a changed app.js or .wasm is refused until accepted', { timeout: 300000 }, async (t) => {
  const original = wwwCopy(WWW, 'www-1', () => {}, false);
  const listed = JSON.parse(readFileSync(join(WWW, 'assets.json'), 'utf8')).files;
  // assets.json lists every file the build put in build/www (nothing hard-coded).
  const built = readdirSync(WWW).filter((f) => f !== 'assets.json').sort();
  assert.deepEqual(Object.keys(listed).sort(), built);
  for (const f of built) assert.equal(listed[f], sha(readFileSync(join(WWW, f))), f);
  for (const f of ['index.html', 'app.js', 'sw.js', 'pin.js', 'manifest.webmanifest', 'saltchat-core.wasm']) {
    assert.ok(listed[f], `assets.json lists ${f}`);
  }

  const { port, base } = await serve(original);
  ctx = await launchProfile(chromium, CHROMIUM, mkdtempSync(join(tmp, 'chromium-')),
    { viewport: { width: 1100, height: 760 } });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });

  await t.test('first visit: installable, the service worker pins every file', async () => {
    await visit(page, base, 'pinned');
    assert.match(await page.textContent('#pin'), new RegExp(`pinned on first use .*: ${built.length} files`));
    const man = await page.evaluate(async () => {
      const href = document.querySelector('link[rel=manifest]').href;
      return (await fetch(href)).json();
    });
    assert.equal(man.start_url, './');
    assert.equal(man.display, 'standalone');
    assert.ok(man.icons.length > 0);
    assert.ok(await page.evaluate(() => !!navigator.serviceWorker.controller), 'the page is controlled by sw.js');
    await visit(page, base, 'pinned'); // the second visit compares and finds nothing new
  });

  await t.test('offline: the page loads from the pinned copy', async () => {
    await stopProcess(relay.proc, 'SIGTERM', T);
    relay = null;
    await visit(page, base, 'unchecked');
    await page.waitForSelector('#start:not([hidden])', { timeout: T });
    assert.equal(await page.evaluate(() => document.getElementById('fatal').hidden), true,
      'the module loaded offline');
  });

  const marker = '\nglobalThis.saltchatTampered = "app.js";\n';
  const changedJs = wwwCopy(original, 'www-2', (d) => {
    writeFileSync(join(d, 'app.js'), readFileSync(join(d, 'app.js'), 'utf8') + marker);
  }, true);

  await t.test('one changed app.js: blocking warning with both hashes, the new code does not run', async () => {
    await serve(changedJs, port);
    await visit(page, base, 'changed');
    await page.waitForSelector('#pin-warning:not([hidden])', { timeout: T });
    const rows = await page.$$eval('#pin-changes tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.deepEqual(rows, [['app.js', grouped(listed['app.js']), grouped(sha(readFileSync(join(changedJs, 'app.js'))))]]);
    assert.equal(await page.evaluate(() => globalThis.saltchatTampered), undefined, 'the changed app.js ran');
    // The new version's fingerprint is what an operator computes from its assets.json.
    const fp = sha(Object.entries(JSON.parse(readFileSync(join(changedJs, 'assets.json'), 'utf8')).files)
      .sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, h]) => `${n} ${h}\n`).join(''));
    assert.match(await page.textContent('#pin-fingerprints'), new RegExp(`served now: ${grouped(fp)}\\.`));
    assert.equal(await page.evaluate(() => document.querySelector('main').inert), true, 'the page behind is blocked');
    await page.screenshot({ path: join(ARTIFACTS, 'pin-warning.png') });
    // Keeping the pinned version: the dialog closes, the page stays the pinned one.
    await page.click('#pin-keep');
    assert.equal(await pinState(page), 'kept');
    assert.equal(await page.evaluate(() => document.querySelector('main').inert), false);
    // Next visit asks again; accepting pins the new version, which then runs.
    await visit(page, base, 'changed');
    await Promise.all([page.waitForEvent('load', { timeout: T }), page.click('#pin-accept')]);
    await page.waitForFunction(() => document.documentElement.dataset.pin === 'pinned', null, { timeout: T });
    assert.equal(await page.evaluate(() => globalThis.saltchatTampered), 'app.js', 'the accepted app.js runs');
    assert.match(await page.textContent('#pin'), /pinned when you accepted an update/);
    await visit(page, base, 'pinned');
  });

  await t.test('one changed byte of the .wasm (its list not updated): refused, the pinned module used', async () => {
    const pinnedWasm = sha(readFileSync(join(changedJs, 'saltchat-core.wasm')));
    const changedWasm = wwwCopy(changedJs, 'www-3', (d) => {
      const f = join(d, 'saltchat-core.wasm');
      const b = readFileSync(f);
      b[b.length - 1] ^= 1;
      writeFileSync(f, b);
    }, false);
    await serve(changedWasm, port);
    await visit(page, base, 'changed');
    const rows = await page.$$eval('#pin-changes tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.deepEqual(rows, [['saltchat-core.wasm', grouped(pinnedWasm),
      grouped(sha(readFileSync(join(changedWasm, 'saltchat-core.wasm'))))]]);
    assert.equal(await page.isVisible('#pin-inconsistent'), true, 'the stale list is pointed out');
    // What the page gets for the module is the pinned bytes, not the relay's.
    const got = await page.evaluate(async () => {
      const b = await crypto.subtle.digest('SHA-256', await (await fetch('saltchat-core.wasm')).arrayBuffer());
      return Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, '0')).join('');
    });
    assert.equal(got, pinnedWasm);
    assert.equal(await page.evaluate(() => document.getElementById('fatal').hidden), true);
    // Exactly one byte of app.js changed (in its first comment; the list not updated).
    const oneByte = wwwCopy(changedJs, 'www-4', (d) => {
      const f = join(d, 'app.js');
      const b = readFileSync(f);
      const i = b.indexOf('// ') + 3; // a letter of the first comment: its case flipped
      assert.ok(i >= 3 && /[A-Za-z]/.test(String.fromCharCode(b[i])), 'app.js starts with a comment');
      b[i] ^= 0x20;
      writeFileSync(f, b);
    }, false);
    await serve(oneByte, port);
    await visit(page, base, 'changed');
    const rows1 = await page.$$eval('#pin-changes tr', (trs) => trs.map((tr) => tr.cells[0].textContent));
    assert.deepEqual(rows1, ['app.js']);
    // The relay back on the pinned files: no warning.
    await serve(changedJs, port);
    await visit(page, base, 'pinned');
    assert.equal(await page.isVisible('#pin-warning'), false);
    assert.deepEqual(problems, []);
  });
});
