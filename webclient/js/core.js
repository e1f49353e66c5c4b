// The JS side of the WebAssembly boundary (webclient/wc_api.h is the other side), protocol
// v2. Everything here only copies bytes and strings in and out of the module's memory: keys,
// MLS, invite parsing, sealing for storage and QR encoding all happen in C. The one key JS
// touches is the 32-byte storage key, only to wrap/unwrap it with WebCrypto (storage.js);
// it is wiped as soon as the module has it.
import createSaltchatCore from './saltchat-core.js';

const utf8 = new TextEncoder();

export class CoreError extends Error {}

// sc2_room_state values (shared/v2/sc2_room.h).
export const STATE = ['offline', 'challenge', 'joining', 'resuming', 'live', 'broken',
  'dead', 'lost'];

export async function loadCore() {
  const M = await createSaltchatCore();
  if (M._wc_init() !== 0) throw new CoreError('this browser offers no secure randomness');
  return new Core(M);
}

class Core {
  constructor(M) {
    this.M = M;
    this.maxUrl = M._wc_link_max_url();
    this.maxText = M._wc_room_max_text();
    this.keyBytes = M._wc_store_key_bytes();
  }

  // --- memory helpers: every allocation is freed (and wiped if it held a secret) ---
  heap() { return this.M.HEAPU8; }

  withBytes(bytes, fn, secret = false) {
    const p = this.M._malloc(Math.max(1, bytes.length));
    if (!p) throw new CoreError('out of memory');
    this.heap().set(bytes, p);
    try { return fn(p, bytes.length); } finally {
      if (secret) this.heap().fill(0, p, p + bytes.length);
      this.M._free(p);
    }
  }

  withString(s, fn, secret = false) {
    return this.withBytes(utf8.encode(s + '\0'), (p) => fn(p), secret);
  }

  withBuffer(n, fn) {
    const p = this.M._malloc(n);
    if (!p) throw new CoreError('out of memory');
    try { return fn(p); } finally { this.heap().fill(0, p, p + n); this.M._free(p); }
  }

  str(p) { return p ? this.M.UTF8ToString(p) : null; }

  // Copies out and frees a "caller frees" buffer (null stays null).
  takeBuf(p) {
    if (!p) return null;
    const n = this.M._wc_last_len();
    try { return this.heap().slice(p, p + n); } finally { this.M._wc_free_buf(p); }
  }

  // --- storage key and sealing ---
  newStorageKey() {
    return this.withBuffer(this.keyBytes, (p) => {
      this.M._wc_store_key_new(p);
      return this.heap().slice(p, p + this.keyBytes);
    });
  }

  // Hands the key to the module and wipes the caller's copy.
  setStorageKey(key) {
    this.withBytes(key, (p) => this.M._wc_store_key_set(p), true);
    key.fill(0);
  }

  seal(bytes) {
    const out = this.withBytes(bytes, (p, n) => this.takeBuf(this.M._wc_seal(p, n)), true);
    if (!out) throw new CoreError('could not seal data for storage');
    return out;
  }

  // null if the blob does not open (forged, damaged, another key).
  open(blob) { return this.withBytes(blob, (p, n) => this.takeBuf(this.M._wc_open(p, n))); }

  sealJson(v) { return this.seal(utf8.encode(JSON.stringify(v))); }
  openJson(blob) {
    const b = this.open(blob);
    if (!b) return null;
    try { return JSON.parse(new TextDecoder().decode(b)); } catch { return null; } finally {
      b.fill(0);
    }
  }

  // --- identity: a sealed blob; the seed never leaves the module unsealed ---
  newIdentity() {
    const b = this.takeBuf(this.M._wc_identity_new());
    if (!b) throw new CoreError('could not create an identity key');
    return b;
  }

  // { identity: hex, fingerprint } or null if the blob does not open.
  identityPublic(blob) {
    return this.withBytes(blob, (p, n) => this.withBuffer(65 + 36, (out) => {
      if (this.M._wc_identity_public(p, n, out, out + 65) !== 0) return null;
      return { identity: this.str(out), fingerprint: this.str(out + 65) };
    }));
  }

  // --- verification (PROTOCOL.md 8.11): public numbers, computed in C ---
  // The fingerprint (6 groups of 5 digits) of a 64-hex-digit identity key, or null.
  fingerprint(identityHex) {
    return this.withString(identityHex, (p) => this.withBuffer(36, (out) =>
      (this.M._wc_verify_fingerprint(p, out) === 0 ? this.str(out) : null)));
  }

  // The safety number (12 groups) of two fingerprints, the same in either order, or null.
  safetyNumber(fpA, fpB) {
    return this.withString(fpA, (a) => this.withString(fpB, (b) => this.withBuffer(72, (out) =>
      (this.M._wc_verify_safety_number(a, b, out) === 0 ? this.str(out) : null))));
  }

  // What the user typed against their fingerprint and our safety number:
  // { match: 'fingerprint' | 'safety number' } or { error: a message saying what is wrong }.
  checkVerify(typed, fp, sn) {
    const rc = this.withString(typed, (t) => this.withString(fp, (f) => this.withString(sn,
      (s) => this.M._wc_verify_check(t, f, s))));
    if (rc === 1) return { match: 'fingerprint' };
    if (rc === 2) return { match: 'safety number' };
    return { error: this.str(this.M._wc_verify_strerror(rc)) };
  }

  // --- links ---
  // Returns null if link is a valid v2 invite, else the message explaining what is wrong.
  checkLink(link) {
    const rc = this.withString(link, (p) => this.M._wc_link_check(p), true);
    return rc === 0 ? null : this.str(this.M._wc_link_strerror(rc));
  }

  // { width, modules: Uint8Array(width*width), 1 = dark } or null if text is too long.
  qr(text) {
    const m = this.withString(text, (t) => this.takeBuf(this.M._wc_qr_encode(t)), true);
    if (!m) return null;
    const width = m[0] | (m[1] << 8);
    return { width, modules: m.slice(4, 4 + width * width) };
  }

  // --- rooms: mode 'create' | 'join' | 'restore'. Throws CoreError with a user-facing
  // message (bad link, bad name, damaged storage). ---
  openRoom(mode, identityBlob, name, arg) {
    return this.withBuffer(4, (errp) => {
      const r = this.withBytes(identityBlob, (ip, il) => this.withString(name, (np) => {
        if (mode === 'create') return this.M._wc_room_create(ip, il, np, Date.now(), errp);
        if (mode === 'join') {
          return this.withString(arg, (lp) => this.M._wc_room_join(ip, il, np, lp, errp), true);
        }
        return this.withBytes(arg, (bp, bl) => this.M._wc_room_restore(ip, il, np, bp, bl, errp));
      }));
      if (!r) {
        const err = new DataView(this.heap().buffer).getInt32(errp, true);
        throw new CoreError(this.str(this.M._wc_room_error(err)));
      }
      return new Room(this, r);
    });
  }
}

export class Room {
  constructor(core, ptr) {
    this.core = core;
    this.M = core.M;
    this.r = ptr;
    this.roomId = core.str(this.M._wc_room_id(ptr));
    this.myIdentity = core.str(this.M._wc_room_my_identity(ptr));
  }

  close() {
    if (this.r) this.M._wc_room_close(this.r);
    this.r = 0;
  }

  // The sealed export (null before a first join is accepted).
  save() { return this.core.takeBuf(this.M._wc_room_save(this.r)); }

  link(base) { return this.core.withString(base, (b) => this.core.str(this.M._wc_room_link(this.r, b))); }

  connected() { this.M._wc_room_connected(this.r, Date.now()); }
  disconnected() { this.M._wc_room_disconnected(this.r, Date.now()); }

  // Returns false if the connection must be closed (check state()).
  receive(bytes) {
    return this.core.withBytes(bytes, (p, n) =>
      this.M._wc_room_receive(this.r, p, n, Date.now()) === 0);
  }

  // Queue actions; each returns its token (a number) or -1 if refused.
  send(text) {
    return this.core.withBytes(utf8.encode(text), (p, n) =>
      this.M._wc_room_send(this.r, p, n, Date.now()), true);
  }
  remove(identityHex) {
    return this.core.withString(identityHex, (p) => this.M._wc_room_remove(this.r, p, Date.now()));
  }
  leave() { return this.M._wc_room_leave(this.r, Date.now()); }

  // Moves every pending outgoing WebSocket message out of the module (copies).
  takeOutput() {
    const out = [];
    for (;;) {
      const p = this.M._wc_room_output(this.r);
      if (!p) break;
      const n = this.M._wc_room_output_len(this.r);
      out.push(this.core.heap().slice(p, p + n));
      this.M._wc_room_output_pop(this.r);
    }
    return out;
  }

  takeEvents() {
    const evs = [];
    for (;;) {
      const p = this.M._wc_room_next_event(this.r);
      if (!p) break;
      evs.push(JSON.parse(this.core.str(p)));
    }
    return evs;
  }

  state() { return STATE[this.M._wc_room_state(this.r)] || 'unknown'; }
  seq() { return this.M._wc_room_seq(this.r); }
  epoch() { return this.M._wc_room_epoch(this.r); }
  outboxLength() { return this.M._wc_room_outbox_len(this.r); }
  members() { return JSON.parse(this.core.str(this.M._wc_room_members(this.r))); }
  // This epoch's room code (4 groups of 5 digits), or null before the room has a group.
  roomCode() {
    return this.core.withBuffer(24, (out) =>
      (this.M._wc_room_code(this.r, out) === 0 ? this.core.str(out) : null));
  }
}
