// Reference relay on Bun's WebSocket server (uWebSockets inside) for bench/run: the
// routing semantics of docs/PROTOCOL.md section 2 (WELCOME, JOINED, LEFT, DATA
// broadcast and unicast, SYNCED, ERROR), one envelope per WebSocket message, so
// sc_load drives it exactly like saltchat-relay and the other peers. A room is a
// uWS topic: SEND_ALL is ws.publish (every subscriber but the sender), SEND_TO a
// ws.send to the target.
//   bun bun_relay.js [--listen 127.0.0.1:0] [--max-queue BYTES]
// Prints the bound address as one line on stdout.
'use strict';

const V = 1;
const T = { SEND_ALL: 0x01, SEND_TO: 0x02, SYNC: 0x03, WELCOME: 0x81, JOINED: 0x82,
  LEFT: 0x83, DATA: 0x84, SYNCED: 0x85, ERROR: 0x86 };
const MAX_PAYLOAD = 64 * 1024;

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const listen = arg('--listen', '127.0.0.1:0');
const maxQueue = Number(arg('--max-queue', String(1 << 20)));

function env(type, body) {
  const b = Buffer.allocUnsafe(6 + body.length);
  b[0] = V;
  b[1] = type;
  b.writeUInt32BE(body.length, 2);
  body.copy(b, 6);
  return b;
}
function u64(id) {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(id));
  return b;
}

const rooms = new Map(); // room id -> Map(member id -> ws)
let nextId = 1;

function topic(room) {
  return 'r/' + room;
}

function leave(ws) {
  const d = ws.data;
  const room = rooms.get(d.room);
  if (!room || room.get(d.id) !== ws) return;
  room.delete(d.id);
  if (room.size === 0) rooms.delete(d.room);
  const note = env(T.LEFT, u64(d.id));
  for (const o of room.values()) o.send(note, false);
}

function fail(ws, reason) {
  const r = Buffer.from(reason);
  const body = Buffer.allocUnsafe(2 + r.length);
  body.writeUInt16BE(1, 0);
  r.copy(body, 2);
  ws.send(env(T.ERROR, body), false);
  ws.close(1008, reason);
}

function onMessage(ws, msg) {
  const d = ws.data;
  if (typeof msg === 'string') return ws.close(1003, 'text frames are not accepted');
  if (msg.length < 6) return fail(ws, 'truncated envelope');
  const n = msg.readUInt32BE(2);
  if (msg[0] !== V || n !== msg.length - 6) return fail(ws, 'bad version or length');
  const t = msg[1];
  if (t === T.SEND_ALL && n >= 1 && n <= MAX_PAYLOAD) {
    const out = Buffer.allocUnsafe(15 + n);
    out[0] = V;
    out[1] = T.DATA;
    out.writeUInt32BE(9 + n, 2);
    out.writeBigUInt64BE(BigInt(d.id), 6);
    out[14] = 0;
    msg.copy(out, 15, 6);
    ws.publish(d.topic, out, false);
  } else if (t === T.SEND_TO && n >= 9 && n <= MAX_PAYLOAD + 8) {
    const room = rooms.get(d.room);
    const target = room && room.get(Number(msg.readBigUInt64BE(6)));
    if (!target) {
      const body = Buffer.concat([Buffer.from([0, 2]), Buffer.from('no such member')]);
      return ws.send(env(T.ERROR, body), false);
    }
    const body = Buffer.concat([u64(d.id), Buffer.from([1]), msg.subarray(14)]);
    target.send(env(T.DATA, body), false);
  } else if (t === T.SYNC && n === 8) {
    ws.send(env(T.SYNCED, msg.subarray(6)), false);
  } else {
    fail(ws, 'malformed envelope');
  }
}

const colon = listen.lastIndexOf(':');
let server;
try {
  server = Bun.serve({
    hostname: listen.slice(0, colon),
    port: Number(listen.slice(colon + 1)),
    fetch(req, srv) {
      const path = new URL(req.url).pathname;
      if (path === '/healthz') return new Response('ok');
      const m = /^\/room\/([A-Za-z0-9_-]{1,128})$/.exec(path);
      if (!m) return new Response('not found', { status: 404 });
      const offered = (req.headers.get('sec-websocket-protocol') || '').split(',').map((s) => s.trim());
      if (!offered.includes('saltchat.v1')) return new Response('no subprotocol', { status: 400 });
      const id = nextId++;
      if (srv.upgrade(req, { headers: { 'Sec-WebSocket-Protocol': 'saltchat.v1' },
        data: { id, room: m[1], topic: topic(m[1]) } })) return undefined;
      return new Response('upgrade failed', { status: 400 });
    },
    websocket: {
      perMessageDeflate: false,
      maxPayloadLength: MAX_PAYLOAD + 64,
      // uWS' own slow-consumer cut: a member more than --max-queue behind is closed
      // (uWS closes it with its own code, not 4002; the benchmark's flat-out window keeps
      // every member well below the bound)
      backpressureLimit: maxQueue,
      closeOnBackpressureLimit: true,
      idleTimeout: 0,
      sendPings: false,
      open(ws) {
        const d = ws.data;
        let room = rooms.get(d.room);
        if (!room) rooms.set(d.room, (room = new Map()));
        const others = [...room.values()];
        const body = Buffer.allocUnsafe(16 + 8 * others.length);
        body.writeBigUInt64BE(BigInt(d.id), 0);
        body.writeUInt32BE(MAX_PAYLOAD, 8);
        body.writeUInt32BE(others.length, 12);
        others.forEach((o, i) => body.writeBigUInt64BE(BigInt(o.data.id), 16 + 8 * i));
        ws.send(env(T.WELCOME, body), false);
        const note = env(T.JOINED, u64(d.id));
        for (const o of others) o.send(note, false);
        room.set(d.id, ws);
        ws.subscribe(d.topic);
      },
      message: onMessage,
      close(ws) {
        leave(ws);
      },
    },
  });
} catch (e) {
  process.stderr.write(`bun_relay: ${e.message}\n`);
  process.exit(1);
}
process.stdout.write(`${server.hostname}:${server.port}\n`);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(0));
