#!/usr/bin/env node
// Reference relay on Node's `ws` package for bench/run: the routing semantics of
// docs/PROTOCOL.md section 2 (WELCOME, JOINED, LEFT, DATA broadcast and unicast,
// SYNCED, ERROR), one envelope per WebSocket message, so sc_load drives it exactly
// like saltchat-relay.
//   node node_relay.js [--listen 127.0.0.1:0] [--max-queue BYTES]
// Prints the bound address as one line on stdout.
'use strict';
const http = require('http');
const { WebSocketServer } = require('ws');

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

function deliver(ws, data) {
  if (ws.dead) return;
  if (ws.bufferedAmount > maxQueue) {
    ws.dead = true;
    leave(ws);
    ws.close(4002, 'slow consumer');
    return;
  }
  ws.send(data, { binary: true });
}

function leave(ws) {
  const room = rooms.get(ws.room);
  if (!room || room.get(ws.id) !== ws) return;
  room.delete(ws.id);
  if (room.size === 0) rooms.delete(ws.room);
  const note = env(T.LEFT, u64(ws.id));
  for (const o of [...room.values()]) deliver(o, note);
}

function fail(ws, reason) {
  const r = Buffer.from(reason);
  const body = Buffer.allocUnsafe(2 + r.length);
  body.writeUInt16BE(1, 0);
  r.copy(body, 2);
  deliver(ws, env(T.ERROR, body));
  ws.close(1008, reason);
}

function onMessage(ws, msg, isBinary) {
  if (ws.dead) return;
  if (!isBinary) return ws.close(1003, 'text frames are not accepted');
  if (msg.length < 6) return fail(ws, 'truncated envelope');
  const n = msg.readUInt32BE(2);
  if (msg[0] !== V || n !== msg.length - 6) return fail(ws, 'bad version or length');
  const room = rooms.get(ws.room);
  const t = msg[1];
  if (t === T.SEND_ALL && n >= 1 && n <= MAX_PAYLOAD) {
    const out = Buffer.allocUnsafe(15 + n);
    out[0] = V;
    out[1] = T.DATA;
    out.writeUInt32BE(9 + n, 2);
    out.writeBigUInt64BE(BigInt(ws.id), 6);
    out[14] = 0;
    msg.copy(out, 15, 6);
    for (const o of [...room.values()]) if (o !== ws) deliver(o, out);
  } else if (t === T.SEND_TO && n >= 9 && n <= MAX_PAYLOAD + 8) {
    const target = room.get(Number(msg.readBigUInt64BE(6)));
    if (!target) {
      const r = Buffer.from('no such member');
      const body = Buffer.concat([Buffer.from([0, 2]), r]);
      return deliver(ws, env(T.ERROR, body));
    }
    const body = Buffer.concat([u64(ws.id), Buffer.from([1]), msg.subarray(14)]);
    deliver(target, env(T.DATA, body));
  } else if (t === T.SYNC && n === 8) {
    deliver(ws, env(T.SYNCED, msg.subarray(6)));
  } else {
    fail(ws, 'malformed envelope');
  }
}

const server = http.createServer((req, res) => {
  res.statusCode = req.url === '/healthz' ? 200 : 404;
  res.end();
});
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  maxPayload: MAX_PAYLOAD + 64,
  handleProtocols: (protocols) => (protocols.has('saltchat.v1') ? 'saltchat.v1' : false),
});
server.on('upgrade', (req, sock, head) => {
  const m = /^\/room\/([A-Za-z0-9_-]{1,128})$/.exec(req.url);
  if (!m) return sock.destroy();
  wss.handleUpgrade(req, sock, head, (ws) => {
    ws.id = nextId++;
    ws.room = m[1];
    ws.dead = false;
    let room = rooms.get(ws.room);
    if (!room) rooms.set(ws.room, (room = new Map()));
    const others = [...room.values()];
    const body = Buffer.allocUnsafe(16 + 8 * others.length);
    body.writeBigUInt64BE(BigInt(ws.id), 0);
    body.writeUInt32BE(MAX_PAYLOAD, 8);
    body.writeUInt32BE(others.length, 12);
    others.forEach((o, i) => body.writeBigUInt64BE(BigInt(o.id), 16 + 8 * i));
    deliver(ws, env(T.WELCOME, body));
    const note = env(T.JOINED, u64(ws.id));
    for (const o of others) deliver(o, note);
    room.set(ws.id, ws);
    ws.on('message', (msg, isBinary) => onMessage(ws, msg, isBinary));
    ws.on('close', () => leave(ws));
    ws.on('error', () => {});
  });
});
const [host, port] = [listen.slice(0, listen.lastIndexOf(':')), Number(listen.slice(listen.lastIndexOf(':') + 1))];
server.on('error', (e) => {
  process.stderr.write(`node_relay: ${e.message}\n`);
  process.exit(1);
});
server.listen({ host, port, backlog: 4096 }, () => {
  const a = server.address();
  process.stdout.write(`${a.address}:${a.port}\n`);
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(0));
