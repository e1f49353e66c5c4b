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
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k, d) => process.env[k] || d || assert.fail(`set ${k}`);
const RELAY = env('SALTCHAT_RELAY');
const CLI = env('SALTCHAT_CLI');
const WWW = env('SALTCHAT_WWW');
const NATS = env('NATS_SERVER', '/usr/sbin/nats-server');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const { chromium } = createRequire(join(env('SALTCHAT_NODE_MODULES'), 'x.js'))('playwright-core');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];
const T = 20000;

const tmp = mkdtempSync(join(tmpdir(), 'saltchat-cluster-browser-'));
const cleanups = [];
const logs = {};

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function freePort() {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Spawns a process; resolves when a line of its output (stdout or stderr) matches re.
function start(name, argv, re) {
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.push(() => proc.exitCode === null && proc.kill('SIGKILL'));
  logs[name] = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${logs[name]}`)), 10000);
    const onData = (d) => {
      logs[name] += d;
      const m = logs[name].match(re);
      if (m) { clearTimeout(timer); resolve({ proc, m }); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`${name} exited ${code}: ${logs[name]}`)));
  });
}

async function metric(port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}

async function until(pred, what, ms = T) {
  const end = Date.now() + ms;
  for (;;) {
    try { if (await pred()) return; } catch { /* not yet */ }
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function startCli(link, name, extra) {
  const proc = spawn(CLI, ['join', link, '--batch', '--name', name, '--config', join(tmp, `cli-${name}`),
                           ...extra], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.push(() => proc.exitCode === null && proc.kill('SIGKILL'));
  const cli = { proc, events: [], stderr: '' };
  let buf = '';
  proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      cli.events.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  proc.stderr.on('data', (d) => { cli.stderr += d; });
  cli.waitFor = (pred, what) => until(() => cli.events.find(pred), `${name}: ${what}; events ${
    JSON.stringify(cli.events.slice(-4))}`);
  return cli;
}

test('the page fails over to another relay of its cluster', { timeout: 100000 }, async () => {
  let ctx;
  try {
    const nats = await start('nats', [NATS, '-a', '127.0.0.1', '-p', '-1'],
                             /client connections on 127\.0\.0\.1:(\d+)/);
    const natsUrl = `nats://127.0.0.1:${nats.m[1]}`;
    const [pa, pb] = [await freePort(), await freePort()];
    const relay = async (name, port, peer) => (await start(name, [RELAY, '--listen', `127.0.0.1:${port}`,
      '--www', WWW, '--cluster', natsUrl, '--peer-url', `http://127.0.0.1:${peer}`,
      '--log-level', 'info'], /^127\.0\.0\.1:\d+$/m)).proc;
    const relayA = await relay('relay-a', pa, pb);
    await relay('relay-b', pb, pa);
    for (const p of [pa, pb]) {
      await until(async () => await metric(p, 'saltchat_relay_cluster_established') === 1 &&
                               await metric(p, 'saltchat_relay_cluster_peers') === 1, `relay :${p}`);
    }

    ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmp, 'chromium-')), {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
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
    if (ctx) await ctx.close().catch(() => {});
    for (const c of cleanups) c();
    await sleep(200);
    rmSync(tmp, { recursive: true, force: true });
  }
});
