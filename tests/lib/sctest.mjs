// sctest.mjs: the one JavaScript helper module of the Node tests (tests/browser/e2e.test.mjs):
// processes on free loopback ports (relay,
// nats-server, the native client in batch mode), Chromium's launch flags and profiles, and
// bounded waits that say what they waited for when they give up. The Python side is
// tests/lib/sctest/.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';

// An environment variable, or the default d; fails the test if neither is set.
export const env = (k, d) => process.env[k] || d || assert.fail(`set ${k}`);

export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// The one wording of a timeout: "timed out after N s waiting for WHAT[; DETAIL]".
export function timeoutMessage(ms, what, detail) {
  const msg = `timed out after ${ms / 1000} s waiting for ${what}`;
  return detail ? `${msg}; ${typeof detail === 'function' ? detail() : detail}` : msg;
}

// Polls pred() (may be async; a throw counts as "not yet") every step ms until it returns
// a true value, which is returned; fails naming what (and detail, a value or a function,
// which may be async) after ms.
export async function until(pred, what, ms = 20000, { step = 100, detail } = {}) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await pred();
      if (v) return v;
    } catch { /* not yet */ }
    if (Date.now() > end) {
      let d = detail;
      if (typeof d === 'function') {
        try { d = await d(); } catch (e) { d = `(no detail: ${e.message})`; }
      }
      throw new Error(timeoutMessage(ms, what, d));
    }
    await sleep(step);
  }
}

// Resolves as promise does, or rejects naming what after ms.
export function withTimeout(promise, ms, what, detail) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(timeoutMessage(ms, what, detail))), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// --- processes -------------------------------------------------------------------------
const children = new Set();

// Every process started here that still runs is killed (SIGKILL); call in a finally.
export function killAll() {
  for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
}

// Spawns argv and resolves { proc, m, log } once a line it prints on one of the streams
// in `match` ('stdout', 'stderr') matches re; log.text holds all of its output (also
// appended to logPath when given). Fails naming the process if it exits first or after ms.
export function startProcess(name, argv, re, { ms = 15000, logPath, stdin = 'pipe',
                                              match = ['stdout', 'stderr'] } = {}) {
  const proc = spawn(argv[0], argv.slice(1), { stdio: [stdin, 'pipe', 'pipe'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  const file = logPath ? createWriteStream(logPath) : null;
  const log = { text: '' };
  for (const s of ['stdout', 'stderr']) proc[s].on('data', (d) => { log.text += d; if (file) file.write(d); });
  const started = new Promise((resolve, reject) => {
    for (const s of match) {
      let seen = '';
      const look = (d) => {
        seen += d;
        const m = seen.match(re);
        if (m) { proc[s].off('data', look); resolve(m); }
      };
      proc[s].on('data', look);
    }
    proc.once('exit', (code) => reject(new Error(`${name} exited ${code} before printing ${re}: ${log.text}`)));
    proc.once('error', reject);
  });
  return withTimeout(started, ms, `${name} to print ${re}`, () => `output: ${log.text}`)
    .then((m) => ({ proc, m, log }));
}

// Sends sig and resolves with the exit code once the process has exited; fails after ms.
export function stopProcess(proc, sig = 'SIGTERM', ms = 10000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  const exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  proc.kill(sig);
  return withTimeout(exited, ms, `process ${proc.pid} to exit after ${sig}`);
}

// Runs argv to completion; resolves { code, stdout, stderr }; fails naming it after ms.
export function run(argv, ms = 30000) {
  const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code) => { children.delete(proc); resolve({ code, stdout, stderr }); });
  });
  return withTimeout(done, ms, `${argv[0]} to finish`, () => `stderr: ${stderr}`);
}

// A loopback port free right now (for relays that must know each other's before starting).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

// Whether a relay binary knows --data-dir (a baseline build from before protocol v2 does not).
const knowsDataDir = new Map();
function relayKnowsDataDir(relay) {
  if (!knowsDataDir.has(relay)) {
    const r = spawnSync(relay, ['--help'], { encoding: 'utf8', timeout: 10000 });
    knowsDataDir.set(relay, (r.stdout || '').includes('--data-dir'));
  }
  return knowsDataDir.get(relay);
}

// saltchat-relay on 127.0.0.1:port (0: a free one; it prints the bound address).
// Resolves { proc, host, port, base, log, dataDir } (log.text: its stdout and stderr).
// Each relay gets a fresh temporary --data-dir (v2 room logs) unless args has one or
// dataDir names one (the same directory again: a restart keeps its rooms).
export async function startRelay({ relay, www, port = 0, args = [], logPath, name = 'relay',
                                   dataDir }) {
  const extra = [];
  if (!args.includes('--data-dir') && relayKnowsDataDir(relay)) {
    dataDir = dataDir || mkdtempSync(join(tmpdir(), 'sctest-relay-'));
    extra.push('--data-dir', dataDir);
  }
  const { proc, m, log } = await startProcess(name,
    [relay, '--listen', `127.0.0.1:${port}`, '--www', www, ...extra, ...args],
    /^(\d+\.\d+\.\d+\.\d+):(\d+)$/m, { logPath, stdin: 'ignore', match: ['stdout'] });
  const addr = { host: m[1], port: Number(m[2]) };
  return { proc, log, dataDir, ...addr, base: `http://${addr.host}:${addr.port}/` };
}

// nats-server on a free loopback port; resolves { proc, port, url }. With jetstreamDir:
// JetStream on (-js, its store in that directory), as protocol v2 rooms in a cluster need.
export async function startNats(binary, { jetstreamDir, ...opts } = {}) {
  const js = jetstreamDir ? ['-js', '-sd', jetstreamDir] : [];
  const { proc, m } = await startProcess('nats-server',
    [binary, '-a', '127.0.0.1', '-p', '-1', ...js],
    /client connections on 127\.0\.0\.1:(\d+)/, { match: ['stderr'], ...opts });
  return { proc, port: Number(m[1]), url: `nats://127.0.0.1:${m[1]}` };
}

// The value of a metric (name with its labels as written) of the relay on port.
export async function metric(port, name) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = text.match(new RegExp(`^${esc} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

// The native client in batch mode (JSON events on stdout, one message per stdin line).
// Returns { proc, events, stderr(), waitFor(pred, what, ms) }: waitFor resolves with the
// first event matching pred as soon as it is printed, or fails naming what with the last
// events and the client's stderr.
export function startCli(cli, link, name, configDir, extra = [], ms = 20000) {
  const proc = spawn(cli, ['join', link, '--batch', '--name', name, '--config',
                           join(configDir, `cli-${name}`), ...extra], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  const c = { proc, events: [], err: '', waiters: new Set(), bad: [] };
  let buf = '';
  proc.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try { c.events.push(JSON.parse(line)); } catch (e) { c.bad.push(line); }
    }
    for (const w of [...c.waiters]) w();
  });
  proc.stderr.on('data', (d) => { c.err += d; });
  proc.once('exit', () => { for (const w of [...c.waiters]) w(); });
  c.stderr = () => c.err;
  c.waitFor = (pred, what, timeout = ms) => {
    let check;
    const found = new Promise((resolve, reject) => {
      check = () => {
        const ev = c.events.find(pred);
        if (ev) resolve(ev);
        else if (proc.exitCode !== null) reject(new Error(`CLI ${name} exited ${proc.exitCode} before ${what}; events: ${JSON.stringify(c.events.slice(-6))} stderr: ${c.err}`));
      };
      c.waiters.add(check);
      check();
    });
    return withTimeout(found, timeout, `CLI ${name}: ${what}`,
      () => `events: ${JSON.stringify(c.events.slice(-6))} stderr: ${c.err}`)
      .finally(() => c.waiters.delete(check));
  };
  return c;
}

// --- Chromium ----------------------------------------------------------------------------
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

// playwright-core from the node_modules under dir (tests/browser's npm ci in the build tree).
export function loadPlaywright(dir) {
  return createRequire(join(dir, 'x.js'))('playwright-core');
}

// A fresh persistent Chromium profile in userDataDir, with the flags above.
export function launchProfile(chromium, executablePath, userDataDir, opts = {}) {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath, headless: true, args: CHROMIUM_ARGS, ...opts,
  });
}
