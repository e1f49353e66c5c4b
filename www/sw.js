// sw.js: the service worker that pins the page's code (docs/WEB.md "Pinned code").
//
// On first use it fetches assets.json (the SHA-256 of every file of the page, written at
// build time by webclient/www_assets.cmake), fetches every file it lists, checks each
// against its hash and keeps them in Cache Storage ("saltchat-pin-<time>") with the list:
// the pins. From then on every file of the page is served from that cache, never from the
// relay, so the page works offline and a relay serving other bytes later cannot make them
// run. The page (pin.js) asks this worker to compare what the relay serves now with the
// pins; a difference is shown to the user with both hashes, who may accept the new version
// (pinned the same way, exactly the bytes that were shown) or keep the pinned one.
// Hashing is WebCrypto's SHA-256 (crypto.subtle.digest); no cryptography is written here.
// Messages (on a MessageChannel port): {type:'check'} -> {state:'pinned'|'changed'|
// 'unchecked'|'unpinned', ...}; {type:'accept', expect:{name:hash}} -> {state:'pinned'}.
'use strict';

const PREFIX = 'saltchat-pin-';
const SCOPE = new URL('./', self.location.href).href;
const RECORD = new URL('__saltchat-pin-record__', SCOPE).href; // the pins, in the cache
const MAX_FILES = 200;
// Paths that must never be taken from the network unpinned: code and what can carry it.
const CODE = /\.(html?|m?js|wasm|css|svg|webmanifest)$/i;

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function sha256(buf) { return hex(await crypto.subtle.digest('SHA-256', buf)); }

// What the relay serves for name now (no HTTP cache): {res, body, hash}, or null on 404.
async function fetchNet(name) {
  const res = await fetch(new URL(name, SCOPE).href,
    { cache: 'no-store', credentials: 'same-origin', redirect: 'error' });
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`${name}: the relay answered HTTP ${res.status}`);
  const body = await res.arrayBuffer();
  return { res, body, hash: await sha256(body) };
}

const NAME = /^(?!.*(^|\/)\.)[A-Za-z0-9._/-]{1,200}$/;

// The relay's list of files (assets.json), checked: {name: 64 hex digits}.
async function netManifest() {
  const got = await fetchNet('assets.json');
  if (!got) throw new Error('the relay serves no assets.json (list of the page\'s files)');
  let m;
  try { m = JSON.parse(new TextDecoder().decode(got.body)); } catch {
    throw new Error('the relay\'s assets.json is not valid JSON');
  }
  const files = m && m.version === 1 && m.files;
  if (!files || typeof files !== 'object') throw new Error('the relay\'s assets.json has no version 1 file list');
  const names = Object.keys(files);
  if (!names.length || names.length > MAX_FILES) throw new Error(`the relay's assets.json lists ${names.length} files`);
  for (const n of names) {
    if (!NAME.test(n) || n.includes('..') || !/^[0-9a-f]{64}$/.test(files[n])) {
      throw new Error(`the relay's assets.json has a bad entry: ${JSON.stringify(n).slice(0, 80)}`);
    }
  }
  if (!files['index.html']) throw new Error('the relay\'s assets.json does not list index.html');
  return files;
}

// The current pins: {cache, record: {pinned_at, files}}, or null before the first use.
let current = null;
async function loadPins() {
  if (current) return current;
  const names = (await caches.keys()).filter((n) => n.startsWith(PREFIX)).sort().reverse();
  for (const n of names) {
    const cache = await caches.open(n);
    const r = await cache.match(RECORD);
    if (r) { current = { name: n, cache, record: await r.json() }; return current; }
  }
  return null;
}

// Fetches every file of expect ({name: hash}), requires each to have exactly that hash,
// and makes them the pinned set (a new cache, the old ones deleted once it is complete).
async function pin(expect, how) {
  const name = PREFIX + String(Date.now()).padStart(15, '0');
  const cache = await caches.open(name);
  try {
    for (const [file, want] of Object.entries(expect)) {
      const got = await fetchNet(file);
      if (!got) throw new Error(`the relay does not serve ${file}`);
      if (got.hash !== want) {
        throw new Error(`the relay serves ${file} with SHA-256 ${got.hash}, not ${want} as expected`);
      }
      await cache.put(new URL(file, SCOPE).href,
        new Response(got.body, { status: 200, headers: got.res.headers }));
    }
    const record = { pinned_at: Date.now(), how, files: expect };
    await cache.put(RECORD, new Response(JSON.stringify(record),
      { headers: { 'content-type': 'application/json' } }));
  } catch (e) {
    await caches.delete(name);
    throw e;
  }
  for (const n of await caches.keys()) if (n.startsWith(PREFIX) && n !== name) await caches.delete(n);
  current = null;
  return loadPins();
}

// SHA-256 of the sorted "name hash" lines: one number to compare the pinned set by.
async function fingerprint(files) {
  const text = Object.keys(files).sort().map((n) => `${n} ${files[n]}\n`).join('');
  return sha256(new TextEncoder().encode(text));
}

async function describe(p, extra = {}) {
  return { pinned_at: p.record.pinned_at, how: p.record.how, count: Object.keys(p.record.files).length,
    fingerprint: await fingerprint(p.record.files), ...extra };
}

// Compares what the relay serves now with the pins.
async function check() {
  let p = await loadPins();
  if (!p) {
    try {
      p = await pin(await netManifest(), 'first use');
    } catch (e) {
      return { state: 'unpinned', error: e.message };
    }
    return describe(p, { state: 'pinned' });
  }
  const now = {};
  const changed = [];
  let listed;
  try {
    listed = await netManifest();
    const names = [...new Set([...Object.keys(p.record.files), ...Object.keys(listed)])].sort();
    if (names.length > MAX_FILES) throw new Error(`too many files (${names.length})`);
    for (const n of names) {
      const got = await fetchNet(n);
      const old = p.record.files[n] || null;
      const cur = got ? got.hash : null;
      if (cur) now[n] = cur;
      if (old !== cur) changed.push({ name: n, old, new: cur });
    }
  } catch (e) {
    return describe(p, { state: 'unchecked', error: e.message });
  }
  if (!changed.length) return describe(p, { state: 'pinned' });
  // The relay's own list disagreeing with what it serves is worth saying too.
  const inconsistent = Object.keys(now).some((n) => listed[n] !== now[n]) ||
    Object.keys(listed).some((n) => !now[n]);
  return describe(p, { state: 'changed', changed, now, inconsistent,
    now_fingerprint: await fingerprint(now) });
}

async function accept(expect) {
  if (!expect || typeof expect !== 'object' || !expect['index.html']) {
    throw new Error('nothing to accept (check again)');
  }
  const p = await pin(expect, 'accepted');
  return describe(p, { state: 'pinned' });
}

self.addEventListener('install', (event) => {
  // First use pins at once (a failure is reported by the next check, which retries).
  event.waitUntil((async () => {
    try { if (!(await loadPins())) await pin(await netManifest(), 'first use'); } catch { /* see check */ }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => { event.waitUntil(self.clients.claim()); });

self.addEventListener('message', (event) => {
  const port = event.ports && event.ports[0];
  const msg = event.data || {};
  if (!port) return;
  const work = (async () => {
    try {
      if (msg.type === 'check') port.postMessage(await check());
      else if (msg.type === 'accept') port.postMessage(await accept(msg.expect));
      else port.postMessage({ state: 'error', error: `unknown request ${msg.type}` });
    } catch (e) {
      port.postMessage({ state: 'error', error: e.message });
    }
  })();
  event.waitUntil(work);
});

function refuse(name) {
  return new Response(`saltchat: ${name} is not part of the pinned code of this page.\n`,
    { status: 409, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

async function serve(req, name) {
  const p = await loadPins();
  if (!p) return fetch(req);
  if (Object.prototype.hasOwnProperty.call(p.record.files, name)) {
    const r = await p.cache.match(new URL(name, SCOPE).href);
    return r || refuse(name);
  }
  if (req.mode === 'navigate' || CODE.test(name)) return refuse(name);
  return fetch(req);
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET' || !req.url.startsWith(SCOPE)) return;
  const url = new URL(req.url);
  let name = url.pathname.slice(new URL(SCOPE).pathname.length);
  if (name === '') name = 'index.html';
  // Not the page's files: the relay's own endpoints and the list used by checks.
  if (['assets.json', 'cluster.json', 'healthz', 'metrics'].includes(name) || name.startsWith('room/')) return;
  event.respondWith(serve(req, name));
});
