// What the page remembers, in IndexedDB (database "saltchat-v2"), all of it sealed in the
// wasm module (secretbox) under one 32-byte storage key:
//   keys/wrap       a non-extractable WebCrypto AES-GCM key (a CryptoKey: IndexedDB stores
//                   it by structured clone, script can use it but never read its bytes)
//   keys/storage    {iv, ct}: the storage key encrypted with keys/wrap
//   keys/identity   the identity seed, sealed (wc_identity_new)
//   settings/name   the last display name, sealed
//   rooms/<room id> {state, meta}: the room's sc2_room_export, sealed in wasm
//                   (wc_room_save), and {base, name, first, next, ...} sealed (wc_seal)
//   history/[<room id>, n]  entry n of the room's conversation, sealed (www/history.js);
//                   before version 2 the whole history was inside the sealed meta
// No message, name or key is stored in the clear. Several tabs: the keys are created once,
// under the Web Lock "saltchat-keys" (WebCrypto is async, so one IndexedDB transaction
// cannot cover it); a room is owned by one tab at a time, under the Web Lock
// "saltchat-room-<id>" held as long as the tab has the room open (ownRoom).
const DB_NAME = 'saltchat-v2';
const DB_VERSION = 2; // 2: the "history" store (one record per entry)
const STORES = ['keys', 'settings', 'rooms', 'history'];

function promisify(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error || new Error('storage transaction aborted'));
  });
}

// Every key [id, n] of one room (n a number; numbers sort before strings and arrays).
function roomRange(id) { return IDBKeyRange.bound([id, -Infinity], [id, ''], false, true); }

export class Store {
  static async open() {
    if (!('indexedDB' in globalThis)) throw new Error('this browser has no IndexedDB');
    if (!globalThis.crypto || !crypto.subtle) throw new Error('this page is not a secure context (WebCrypto is missing)');
    if (!navigator.locks) throw new Error('this browser has no Web Locks');
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      for (const name of STORES) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name);
    };
    // A tab still running an older page keeps the old version open: say so instead of
    // waiting for it without a word. This page closes its own connection when a newer one
    // needs the upgrade (its next save then fails and says so).
    const opened = new Promise((resolve, reject) => {
      req.onblocked = () => reject(new Error('another saltchat tab uses an older version of this browser\'s storage: close the other saltchat tabs and reload'));
      promisify(req).then(resolve, reject);
    });
    const db = await opened;
    db.onversionchange = () => db.close();
    return new Store(db);
  }

  constructor(db) { this.db = db; }

  async get(store, key) {
    return promisify(this.db.transaction(store, 'readonly').objectStore(store).get(key));
  }

  async put(store, key, value) {
    const tx = this.db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value, key);
    await done(tx);
  }

  async del(store, key) {
    const tx = this.db.transaction(store, 'readwrite');
    tx.objectStore(store).delete(key);
    await done(tx);
  }

  // Loads (or creates, once for all tabs) the storage key into the module and the sealed
  // identity. Returns { identity (sealed blob), created, replaced }.
  async unlock(core) {
    return navigator.locks.request('saltchat-keys', async () => {
      let wrap = await this.get('keys', 'wrap');
      const wrapped = await this.get('keys', 'storage');
      let key = null;
      let replaced = false;
      if (wrap && wrapped) {
        try {
          key = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: wrapped.iv },
                                                            wrap, wrapped.ct));
        } catch {
          replaced = true; // damaged: start again (old rooms become unreadable; said so)
        }
      }
      if (!key) {
        wrap = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false,
                                               ['encrypt', 'decrypt']);
        key = core.newStorageKey();
        const iv = crypto.getRandomValues(new Uint8Array(12));
        const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, wrap, key));
        const tx = this.db.transaction(['keys', 'rooms', 'history'], 'readwrite');
        tx.objectStore('keys').put(wrap, 'wrap');
        tx.objectStore('keys').put({ iv, ct }, 'storage');
        tx.objectStore('keys').delete('identity');
        tx.objectStore('rooms').clear();
        tx.objectStore('history').clear();
        await done(tx);
      }
      core.setStorageKey(key); // wipes key
      let identity = await this.get('keys', 'identity');
      let created = false;
      if (!(identity instanceof Uint8Array) || !core.identityPublic(identity)) {
        replaced = replaced || identity !== undefined;
        identity = core.newIdentity();
        created = true;
        await this.put('keys', 'identity', identity);
      }
      return { identity, created, replaced };
    });
  }

  // Holds the Web Lock of room id until the returned release function is called (or the
  // page goes away). Waits up to waitMs for it (a reloaded page's previous document may
  // still hold it for a moment); resolves to null if another tab keeps it.
  async ownRoom(id, waitMs = 3000) {
    return new Promise((resolve) => {
      navigator.locks.request(`saltchat-room-${id}`, { signal: AbortSignal.timeout(waitMs) },
        () => new Promise((release) => resolve(release)))
        .catch(() => resolve(null));
    });
  }

  async roomIds() {
    return promisify(this.db.transaction('rooms', 'readonly').objectStore('rooms').getAllKeys());
  }

  async loadRoom(id) { return this.get('rooms', id); }

  // state: sealed export or null (kept as it was); meta: sealed blob; history: what
  // History.take() returned ({puts: [[n, sealed]], dels: [n]}), written in the same
  // transaction.
  async saveRoom(id, state, meta, history = { puts: [], dels: [] }) {
    const tx = this.db.transaction(['rooms', 'history'], 'readwrite');
    const store = tx.objectStore('rooms');
    const req = store.get(id);
    req.onsuccess = () => {
      const old = req.result || {};
      store.put({ state: state || old.state || null, meta }, id);
    };
    const hist = tx.objectStore('history');
    for (const [n, sealed] of history.puts) hist.put(sealed, [id, n]);
    for (const n of history.dels) hist.delete([id, n]);
    await done(tx);
  }

  // Every history record of room id: [[n, sealed]], in order.
  async historyOf(id) {
    const os = this.db.transaction('history', 'readonly').objectStore('history');
    const range = roomRange(id);
    const [keys, vals] = await Promise.all([promisify(os.getAllKeys(range)), promisify(os.getAll(range))]);
    return keys.map((k, i) => [k[1], vals[i]]);
  }

  async forgetRoom(id) {
    const tx = this.db.transaction(['rooms', 'history'], 'readwrite');
    tx.objectStore('rooms').delete(id);
    tx.objectStore('history').delete(roomRange(id));
    await done(tx);
  }
}
