#!/usr/bin/env node
// history-bytes.mjs: bytes the page hands to IndexedDB per received message, with the
// history stored one sealed record per entry (www/history.js, now) against the whole
// history re-sealed inside the room's meta on every save (before). Uses the page's own
// History class; sealing is modelled by its exact size (wc_seal: nonce 24 + tag 16 +
// plaintext), so no browser is needed. The sealed room state (sc2_room_export), written on
// every save by both schemes, is left out: the difference is the history.
//   node webclient/bench/history-bytes.mjs [TEXT_BYTES]
import { History } from '../../www/history.js';

const SEAL_OVERHEAD = 24 + 16;
const enc = new TextEncoder();
const sealedSize = (v) => SEAL_OVERHEAD + enc.encode(JSON.stringify(v)).length;
const core = { sealJson: (v) => new Uint8Array(sealedSize(v)) };
const textBytes = Number(process.argv[2] || 60);
const roomId = 'AbCdEfGhIjKlMnOpQrStUv';

function entry(i) {
  return { kind: 'message', name: `Member ${i % 7}`, identity: 'ab'.repeat(32),
    time: 1764800000000 + i * 1000, text: 'x'.repeat(textBytes), seq: i + 1 };
}

function meta() {
  return { base: 'https://relay.example/', name: 'Alice', title: 'Alice, Bob, Carol', saved: true };
}

console.log(`history bytes written per received message (text ${textBytes} B, sealed records)`);
console.log('entries  before (whole history)  now (one record)  ratio');
for (const n of [100, 1500, 5000]) {
  const h = new History(core, roomId);
  for (let i = 0; i < n; i++) h.push(entry(i));
  h.take(); // what is already stored
  // One more message arrives and the room is saved.
  h.push(entry(n));
  const w = h.take();
  const m = { ...meta(), first: w.first, next: w.next };
  const now = sealedSize(m) + w.puts.reduce((a, [, b]) => a + b.length, 0);
  const before = sealedSize({ ...meta(), history: h.entries() });
  console.log(`${String(n).padStart(7)}  ${String(before).padStart(24)}  ${String(now).padStart(16)}  ${(before / now).toFixed(0).padStart(5)}x`);
}
