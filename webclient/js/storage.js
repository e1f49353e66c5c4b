// What the page remembers, in IndexedDB: the identity key pair, the display name and the
// identity keys the user marked verified. Several tabs share one database, so every
// write is either a single idempotent put or a get-or-create inside one readwrite
// transaction (IndexedDB runs readwrite transactions on a store one at a time): two tabs
// starting together end up with the same identity, never with two.
const DB_NAME = 'saltchat';
const DB_VERSION = 1;

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

export class Store {
  static async open() {
    if (!('indexedDB' in globalThis)) throw new Error('this browser has no IndexedDB');
    const req = indexedDB.open(DB_NAME, DB_VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      for (const name of ['keys', 'settings', 'verified']) {
        if (!db.objectStoreNames.contains(name)) db.createObjectStore(name);
      }
    };
    const db = await promisify(req);
    return new Store(db);
  }

  constructor(db) {
    this.db = db;
    this.channel = 'BroadcastChannel' in globalThis ? new BroadcastChannel('saltchat') : null;
  }

  // Returns { identity: {pk, sk}, created, replaced } . make() draws a new key pair and
  // valid(id) checks one; both run inside the transaction, synchronously (WebAssembly).
  async identity(make, valid) {
    const tx = this.db.transaction('keys', 'readwrite');
    const store = tx.objectStore('keys');
    const result = { identity: null, created: false, replaced: false };
    const req = store.get('identity');
    req.onsuccess = () => {
      const stored = req.result;
      if (stored && valid(stored)) {
        result.identity = stored;
        return;
      }
      result.identity = make();
      result.created = true;
      result.replaced = stored !== undefined;
      store.put(result.identity, 'identity');
    };
    await done(tx);
    return result;
  }

  async getSetting(key) {
    const tx = this.db.transaction('settings', 'readonly');
    return promisify(tx.objectStore('settings').get(key));
  }

  async setSetting(key, value) {
    const tx = this.db.transaction('settings', 'readwrite');
    tx.objectStore('settings').put(value, key);
    await done(tx);
  }

  // Identity keys (hex) the user marked verified: a Set.
  async verifiedKeys() {
    const tx = this.db.transaction('verified', 'readonly');
    const keys = await promisify(tx.objectStore('verified').getAllKeys());
    return new Set(keys);
  }

  async setVerified(identityHex, verified, name) {
    const tx = this.db.transaction('verified', 'readwrite');
    const store = tx.objectStore('verified');
    if (verified) store.put({ name, at: Date.now() }, identityHex);
    else store.delete(identityHex);
    await done(tx);
    if (this.channel) this.channel.postMessage({ type: 'verified', identity: identityHex, verified });
  }

  // fn({identity, verified}) when another tab changes a verification mark.
  onVerifiedChange(fn) {
    if (this.channel) {
      this.channel.onmessage = (e) => { if (e.data && e.data.type === 'verified') fn(e.data); };
    }
  }
}
