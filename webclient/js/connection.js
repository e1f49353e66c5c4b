// Owns the WebSocket for one room (protocol v2, subprotocol saltchat.v2): connects, tells
// the wasm room (sc2_room) when the connection opens and closes, feeds it every received
// message, writes what it produces, and reconnects with exponential backoff and jitter.
// Messages the user typed stay in sc2_room's outbox until the relay accepted them, so a
// reconnect loses none (sc2_room resubmits them once LIVE again). A room that is LOST (the
// relay will never serve it) or DEAD (removed, left, join failed) is not reconnected.
//
// Failover (docs/CLUSTER.md): the relay URLs tried in turn are the link's relay, the
// page's own origin, and the other relays of its cluster that the page's relay lists at
// /cluster.json (its --peer-url flags; the same relay puts them in the page's CSP
// connect-src). Every failed attempt or dropped connection moves to the next one. The
// list is also given to the page (onRelays) to keep with the room, and the kept one given
// back (relays) when the room is opened again: a page served by its pins (www/sw.js)
// while its own relay is down cannot read /cluster.json, yet must reach the others.
const SUBPROTOCOL = 'saltchat.v2';
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const CLUSTER_LIST_TIMEOUT_MS = 3000;
const CLUSTER_LIST_MAX = 16; // relays taken from /cluster.json or from the kept list
// A connection not open by then is given up (a relay whose packets vanish would otherwise
// hold the page for the browser's TCP timeout), and the next relay tried.
const CONNECT_TIMEOUT_MS = 10000;
// Chromium fires only 'error', never 'close', on a WebSocket the page's CSP blocks (a
// relay listed by /cluster.json but not in the pinned page's connect-src): a socket still
// not closed this long after its error counts as closed.
const ERROR_CLOSE_WAIT_MS = 1000;

// The WebSocket URL of room roomId on the relay at base (an http(s) or ws(s) URL).
export function roomUrlAt(base, roomId) {
  const u = new URL(base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`not a relay: ${base}`);
  u.hash = '';
  u.search = '';
  u.pathname = u.pathname.replace(/\/?$/, '/') + 'room/' + roomId;
  return u.href;
}

// The other relays of the page's cluster ([] when there are none or it cannot be read).
async function clusterRelays() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), CLUSTER_LIST_TIMEOUT_MS);
  try {
    const r = await fetch(new URL('cluster.json', globalThis.location.href),
                          { signal: ctl.signal, cache: 'no-store' });
    if (!r.ok) return [];
    const j = await r.json();
    return Array.isArray(j.relays)
      ? j.relays.filter((x) => typeof x === 'string').slice(0, CLUSTER_LIST_MAX) : [];
  } catch {
    return [];
  } finally {
    clearTimeout(timer);
  }
}

export class RoomClient {
  // onEvent(ev) for each room event; onState({state, retryAt, attempt, detail});
  // onBatch() after each received message was processed (the page saves the room then).
  // base: the relay's http(s) base from the link. relays: the other relays' bases kept
  // from before (tried after the link's and the page's own); onRelays(list) when the
  // page's relay listed its cluster (the bases, to keep with the room).
  constructor(room, base, { onEvent, onState, onBatch, relays = [], onRelays }) {
    this.room = room;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onBatch = onBatch || (() => {});
    this.onRelays = onRelays || (() => {});
    this.kept = Array.isArray(relays)
      ? relays.filter((x) => typeof x === 'string').slice(0, CLUSTER_LIST_MAX) : [];
    this.ws = null;
    this.attempt = 0;
    this.retryTimer = 0;
    this.stopped = false;
    this.urls = [roomUrlAt(base, room.roomId)];
    this.urlIdx = 0;
    this.onOnline = () => { if (!this.ws) this.connectNow(); };
    globalThis.addEventListener('online', this.onOnline);
  }

  // Connects at once to the link's relay; learns the failover list meanwhile.
  start() {
    this.addRelay(globalThis.location.origin);
    this.kept.forEach((base) => this.addRelay(base));
    this.connectNow();
    clusterRelays().then((list) => {
      list.forEach((base) => this.addRelay(base));
      if (list.length && !this.stopped) this.onRelays(list);
    });
  }

  addRelay(base) {
    let url;
    try {
      url = roomUrlAt(base, this.room.roomId);
    } catch {
      return;
    }
    if (!this.urls.includes(url)) this.urls.push(url);
  }

  url() { return this.urls[this.urlIdx]; }

  // The relay in use or being tried, for the header: {relay: host:port, failover: whether
  // it is not the link's relay (the first one)}.
  where() { return { relay: new URL(this.url()).host, failover: this.urlIdx !== 0 }; }

  stop() {
    this.stopped = true;
    globalThis.removeEventListener('online', this.onOnline);
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
  }

  // Runs a user action on the room (send, remove, leave) and writes what it produced;
  // returns the action's token or -1.
  act(fn) {
    const token = fn(this.room);
    this.pump();
    return token;
  }

  // Whether reconnecting can help (not after ROOM_LOST, removal, leave, failed join).
  finished() { const s = this.room.state(); return s === 'lost' || s === 'dead'; }

  // Connect at once (also the "retry now" button).
  connectNow() {
    if (this.stopped || this.finished()) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = 0;
    if (this.ws) return;
    let ws;
    try {
      ws = new WebSocket(this.url(), SUBPROTOCOL);
    } catch (e) {
      // This URL cannot be used at all; with others to try, it is one failed attempt.
      this.onState({ state: 'failed', detail: String(e.message || e) });
      if (this.urls.length > 1) this.retry(1006, '');
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.onState({ state: 'connecting', attempt: this.attempt, url: this.url(), ...this.where() });
    const timer = setTimeout(() => {
      if (ws === this.ws && ws.readyState === WebSocket.CONNECTING) ws.close();
    }, CONNECT_TIMEOUT_MS);
    ws.onerror = () => {
      setTimeout(() => {
        if (ws === this.ws && ws.readyState !== WebSocket.OPEN) this.dropped(ws, 1006, '');
      }, ERROR_CLOSE_WAIT_MS);
    };
    ws.onopen = () => {
      clearTimeout(timer);
      if (ws !== this.ws) return;
      this.room.connected();
      this.onState({ state: 'joining', ...this.where() });
      this.pump();
    };
    ws.onmessage = (e) => {
      if (ws !== this.ws) return;
      if (!(e.data instanceof ArrayBuffer)) {
        this.onEvent({ type: 'protocol_error', reason: 'the relay sent a text frame' });
        ws.close(3000);
        return;
      }
      const ok = this.room.receive(new Uint8Array(e.data));
      this.pump();
      this.onBatch();
      if (!ok) ws.close(3000);
    };
    ws.onclose = (e) => {
      clearTimeout(timer);
      if (ws === this.ws) this.dropped(ws, e.code, e.reason);
    };
  }

  // The connection ws (the current one) is gone: tells the room, then reconnects.
  dropped(ws, code, reason) {
    this.ws = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    if (ws.readyState !== WebSocket.CLOSED) ws.close();
    this.room.disconnected();
    this.pump();
    this.onBatch();
    if (this.stopped) return;
    if (this.finished()) {
      this.onState({ state: 'finished', detail: this.room.state() });
      return;
    }
    this.retry(code, reason);
  }

  // Schedules the next attempt, on the next relay, after the backoff.
  retry(code, reason) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt = Math.min(this.attempt + 1, 10);
    this.urlIdx = (this.urlIdx + 1) % this.urls.length; // fail over to the next relay
    this.onState({ state: 'offline', retryAt: Date.now() + delay, code, detail: reason || '' });
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
  }

  // Writes pending output and delivers events.
  pump() {
    for (const bytes of this.room.takeOutput()) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes);
    }
    for (const ev of this.room.takeEvents()) {
      if (ev.type === 'live') {
        this.attempt = 0;
        this.onState({ state: 'online', ...this.where() });
      }
      this.onEvent(ev);
    }
  }
}
