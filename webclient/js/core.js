// The JS side of the WebAssembly boundary (webclient/wc_api.h is the other side).
// Everything here only copies bytes and strings in and out of the module's memory: keys,
// encryption, invite parsing and QR encoding all happen in C. No WebCrypto, no libsodium.js.
import createSaltchatCore from './saltchat-core.js';

const utf8 = new TextEncoder();

export class CoreError extends Error {}

export async function loadCore() {
  const M = await createSaltchatCore();
  if (M._wc_init() !== 0) throw new CoreError('this browser offers no secure randomness');
  return new Core(M);
}

class Core {
  constructor(M) {
    this.M = M;
    this.pkBytes = M._wc_identity_pkbytes();
    this.skBytes = M._wc_identity_skbytes();
    this.maxUrl = M._wc_invite_max_url();
    this.maxText = M._wc_room_max_text();
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

  // --- identity keys ---
  generateIdentity() {
    return this.withBuffer(this.pkBytes + this.skBytes, (p) => {
      if (this.M._wc_identity_generate(p, p + this.pkBytes) !== 0) {
        throw new CoreError('could not generate an identity key');
      }
      const h = this.heap();
      return { pk: h.slice(p, p + this.pkBytes),
               sk: h.slice(p + this.pkBytes, p + this.pkBytes + this.skBytes) };
    });
  }

  identityValid(id) {
    if (!(id && id.pk instanceof Uint8Array && id.sk instanceof Uint8Array)) return false;
    if (id.pk.length !== this.pkBytes || id.sk.length !== this.skBytes) return false;
    return this.withBytes(id.pk, (pk) =>
      this.withBytes(id.sk, (sk) => this.M._wc_identity_check(pk, sk) === 0, true));
  }

  fingerprint(pk) {
    return this.withBytes(pk, (p) => this.withBuffer(31, (out) => {
      this.M._wc_identity_fingerprint(p, out);
      return this.str(out);
    }));
  }

  // --- invites ---
  newInvite(base) {
    return this.withString(base, (b) => this.withBuffer(this.maxUrl, (out) => {
      const n = this.M._wc_invite_new(b, out, this.maxUrl);
      if (n < 0) throw new CoreError(this.str(this.M._wc_invite_strerror(n)));
      return this.str(out);
    }, true));
  }

  // Returns null if link is a valid invite, else the message explaining what is wrong.
  checkInvite(link) {
    const rc = this.withString(link, (p) => this.M._wc_invite_check(p), true);
    return rc === 0 ? null : this.str(this.M._wc_invite_strerror(rc));
  }

  // { width, modules: Uint8Array(width*width), 1 = dark } or null if text is too long.
  qr(text) {
    const p = this.withString(text, (t) => this.M._wc_qr_encode(t), true);
    if (!p) return null;
    try {
      const h = this.heap();
      const width = h[p] | (h[p + 1] << 8);
      return { width, modules: h.slice(p + 4, p + 4 + width * width) };
    } finally {
      this.heap().fill(0, p, p + 4);
      this.M._wc_free_buf(p);
    }
  }

  // Throws CoreError with a user-facing message if the link or the name is bad.
  openRoom(link, name, identity) {
    return this.withBuffer(4, (errp) => {
      const r = this.withString(link, (l) => this.withString(name, (n) =>
        this.withBytes(identity.pk, (pk) => this.withBytes(identity.sk, (sk) =>
          this.M._wc_room_open(l, n, pk, sk, errp), true)), false), true);
      if (!r) {
        const err = this.M.HEAP32 ? this.M.HEAP32[errp >> 2]
          : new DataView(this.heap().buffer).getInt32(errp, true);
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
    this.wsUrl = core.str(this.M._wc_room_ws_url(ptr));
    this.roomId = core.str(this.M._wc_room_id(ptr));
    this.link = core.str(this.M._wc_room_link(ptr));
  }

  close() {
    if (this.r) this.M._wc_room_close(this.r);
    this.r = 0;
  }

  // Returns false if the relay sent something malformed (reconnect).
  receive(bytes) {
    return this.core.withBytes(bytes, (p, n) =>
      this.M._wc_room_receive(this.r, p, n, Date.now()) === 0);
  }

  // Queues text; returns its msg_id (16 hex digits) or null if it was refused.
  send(text) {
    return this.core.withBytes(utf8.encode(text), (p, n) => this.core.withBuffer(17, (id) =>
      this.M._wc_room_send(this.r, p, n, Date.now(), id) === 0 ? this.core.str(id) : null),
    true);
  }

  tick() { this.M._wc_room_tick(this.r, Date.now()); }
  deadline() { return this.M._wc_room_deadline(this.r); }
  disconnected() { this.M._wc_room_disconnected(this.r, Date.now()); }

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

  memberId() { return this.core.str(this.M._wc_room_member_id(this.r)); }
  outboxLength() { return this.M._wc_room_outbox_len(this.r); }
  connected() { return this.M._wc_room_connected(this.r) === 1; }
  members() { return JSON.parse(this.core.str(this.M._wc_room_members(this.r))); }

  safetyNumber(memberId) {
    return this.core.withString(memberId, (p) => this.core.str(
      this.M._wc_room_safety_number(this.r, p)));
  }
}
