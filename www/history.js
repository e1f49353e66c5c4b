// history.js: a room's conversation as the page keeps it: one sealed IndexedDB record per
// entry (store "history", key [room id, entry number]), so a save writes only the entries
// that are new or changed (an own message's status) instead of the whole history.
// Each record is sealed in the wasm module (wc_seal) as {r: room id, n: number, e: entry}; a
// record whose r or n does not match its key is not shown (moved or swapped records), and
// numbers missing between the room's first and next (kept in its sealed meta) are counted.
// The oldest entries beyond max are deleted. Rooms stored before (the whole history inside
// the sealed meta) are converted on load and written in the new form by the next save.
export const HISTORY_MAX = 5000;

export class History {
  constructor(core, roomId, max = HISTORY_MAX) {
    this.core = core;
    this.roomId = roomId;
    this.max = max;
    this.items = []; // [{n, e}], oldest first
    this.numbers = new Map(); // entry object -> n
    this.first = 0;
    this.next = 0;
    this.dirty = new Set();
    this.dropped = new Set();
    this.missing = 0; // records absent or not matching, found on load
    this.migrated = false; // loaded from the old form: every entry to be written
  }

  // The history of a stored room: meta is its opened meta (the old form's meta.history is
  // taken out of it and converted).
  static async load(core, store, roomId, meta) {
    const h = new History(core, roomId);
    if (Array.isArray(meta.history)) {
      for (const e of meta.history) h.push(e);
      delete meta.history;
      h.migrated = true;
      return h;
    }
    const first = Number.isSafeInteger(meta.first) ? meta.first : 0;
    const next = Number.isSafeInteger(meta.next) ? meta.next : 0;
    h.first = first;
    h.next = next;
    for (const [n, sealed] of await store.historyOf(roomId)) {
      const v = sealed instanceof Uint8Array ? core.openJson(sealed) : null;
      if (!v || v.r !== roomId || v.n !== n || n < first || n >= next || !v.e) continue;
      h.items.push({ n, e: v.e });
      h.numbers.set(v.e, n);
    }
    h.missing = next - first - h.items.length;
    return h;
  }

  entries() { return this.items.map((i) => i.e); }

  push(e) {
    const n = this.next++;
    this.items.push({ n, e });
    this.numbers.set(e, n);
    this.dirty.add(n);
    while (this.items.length > this.max) {
      const old = this.items.shift();
      this.numbers.delete(old.e);
      this.dirty.delete(old.n);
      this.dropped.add(old.n);
      this.first = this.items[0].n;
    }
  }

  // e (an entry pushed before) changed: written again by the next save.
  touch(e) {
    const n = this.numbers.get(e);
    if (n !== undefined) this.dirty.add(n);
  }

  // What the next save writes: {puts: [[n, sealed]], dels: [n], first, next}; the caller
  // gives it back with restore() if the save failed.
  take() {
    const byN = new Map(this.items.map((i) => [i.n, i.e]));
    const puts = [...this.dirty].filter((n) => byN.has(n))
      .map((n) => [n, this.core.sealJson({ r: this.roomId, n, e: byN.get(n) })]);
    const w = { puts, dels: [...this.dropped], first: this.first, next: this.next };
    this.dirty.clear();
    this.dropped.clear();
    return w;
  }

  restore(w) {
    for (const [n] of w.puts) this.dirty.add(n);
    for (const n of w.dels) this.dropped.add(n);
  }
}
