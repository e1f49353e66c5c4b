// The page (protocol v2): screens, message list, member list, rooms kept in this browser.
// Talks to the wasm core through core.js, to the relay through connection.js, to IndexedDB
// through storage.js. Everything shown from the network goes through textContent (never
// innerHTML). After every processed relay message and every user action the room is saved
// (sealed in wasm) with its history, so a reload shows the conversation and catches up.
import { loadCore, CoreError } from './core.js';
import { Store } from './storage.js';
import { RoomClient } from './connection.js';
import { initVerify, verifyButton, verifyOnEvent } from './verify.js';
import { Notifier } from './notify.js';
import { History } from './history.js';

const $ = (id) => document.getElementById(id);
const SVG_NS = 'http://www.w3.org/2000/svg';

const app = {
  core: null, store: null, identity: null, me: null, name: '',
  room: null, client: null, meta: null, hist: null, release: null,
  pending: new Map(), // token -> { entry, status element } of an own message
  state: { state: 'idle' }, live: false, away: null, saving: null, saveAgain: false,
};

function show(sectionId) {
  for (const id of ['start', 'join', 'link-error', 'chat']) $(id).hidden = id !== sectionId;
  if (sectionId !== 'start') $('rooms').hidden = true;
  $('my-fp').hidden = sectionId === 'chat' || !app.me;
}

function notice(msg) {
  $('fatal').textContent = msg;
  $('fatal').hidden = false;
}

function fatal(msg) {
  notice(msg);
  $('conn').textContent = 'Stopped';
  $('conn').dataset.state = 'failed';
}

// The page's own URL without fragment, ending in '/': the relay base for new invites.
function pageBase() {
  const u = new URL(location.href);
  u.hash = '';
  u.search = '';
  u.pathname = u.pathname.replace(/[^/]*$/, '');
  return u.href;
}

// The relay base of a link (everything before '#', query dropped).
function linkBase(link) {
  const u = new URL(link);
  u.hash = '';
  u.search = '';
  return u.href;
}

function isLoopback(host) {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) ||
    h === '::1';
}

// null if base may be used, else why not: plain http only to this machine.
function insecure(base) {
  const u = new URL(base);
  if (u.protocol === 'https:' || u.protocol === 'wss:') return null;
  if (isLoopback(u.hostname)) return null;
  return `saltchat needs https:// for a relay that is not on this computer (${u.host}): over plain http anyone on the network could replace this page and read your messages. Ask for an https:// invite link.`;
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function timeLabel(ms) {
  const d = new Date(ms);
  const t = el('time', null, d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  t.dateTime = d.toISOString();
  t.title = d.toLocaleString();
  return t;
}

// --- message log: every line is also a history entry, saved with the room ------------
function appendLog(li) {
  const log = $('messages');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(li);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function record(entry) {
  if (app.hist) app.hist.push(entry);
}

function drawSystem(e) {
  const li = el('li', `system ${e.level || ''}`.trim());
  li.dataset.kind = e.alert ? 'alert' : 'system';
  if (e.alert) li.setAttribute('role', 'alert');
  li.append(timeLabel(e.time), document.createTextNode(' '), el('span', 'text', e.text));
  appendLog(li);
  return li;
}

function systemLine(text, level = '', alert = false) {
  const e = { kind: 'system', time: Date.now(), text, level, alert };
  record(e);
  return drawSystem(e);
}

function alertLine(text) { return systemLine(text, 'bad', true); }

const STATUS_LABEL = { queued: 'waiting for connection', sending: 'sending…', sent: 'sent',
  accepted: '✓ stored by the relay', failed: 'not sent' };

function setStatus(p, kind, detail = '') {
  p.entry.status = kind;
  if (app.hist) app.hist.touch(p.entry);
  p.status.dataset.status = kind;
  p.status.textContent = detail ? `${STATUS_LABEL[kind]}: ${detail}` : STATUS_LABEL[kind];
}

function drawMessage(e) {
  const own = e.kind === 'own';
  const li = el('li', own ? 'msg own' : 'msg');
  li.dataset.kind = own ? 'own' : 'message';
  if (e.seq) li.dataset.seq = String(e.seq);
  const meta = el('div', 'meta');
  meta.append(el('span', 'sender', own ? `${e.name} (you)` : e.name), timeLabel(e.time));
  let status = null;
  if (own) {
    status = el('span', 'status');
    meta.append(status);
  }
  li.append(meta, el('div', 'text', e.text));
  appendLog(li);
  if (own) {
    const p = { entry: e, status };
    setStatus(p, e.status || 'queued', e.detail || '');
    if (e.status !== 'accepted' && e.status !== 'failed') app.pending.set(e.token, p);
  }
  return li;
}

function drawEntry(e) { return e.kind === 'system' ? drawSystem(e) : drawMessage(e); }

// --- member list ---------------------------------------------------------------------
function renderMembers() {
  if (!app.room) return;
  const list = $('members');
  list.replaceChildren();
  const st = app.room.state();
  const members = st === 'dead' ? [] : app.room.members();
  for (const m of members) {
    const li = el('li', 'member');
    li.dataset.identity = m.identity;
    const self = m.identity === app.room.myIdentity;
    li.append(el('span', 'name', self ? `${m.name} (you)` : m.name));
    if (!self) {
      const b = el('button', 'secondary', 'Remove');
      b.type = 'button';
      b.dataset.remove = m.identity;
      b.setAttribute('aria-label', `Remove ${m.name} from the room`);
      b.onclick = () => removeMember(m);
      li.append(document.createTextNode(' '), verifyButton(m), document.createTextNode(' '), b);
    }
    list.append(li);
  }
  if (members.length <= 1 && st !== 'dead') {
    list.append(el('li', 'hint', 'Nobody else is in the room yet. Share the invite link.'));
  }
  $('leave').disabled = st === 'dead' || st === 'lost';
  $('me').textContent = `You: ${app.name}. Your key fingerprint: ${app.me.fingerprint}`;
}

function removeMember(m) {
  if (!confirm(`Remove ${m.name} from the room? The room gets a new invite link; the old one stops working.`)) return;
  const t = app.client.act((r) => r.remove(m.identity));
  if (t < 0) systemLine(`Could not remove ${m.name} (not a member any more, or this room is closed).`, 'warn');
  else systemLine(`Removing ${m.name}…`);
  saveSoon();
}

function leaveRoom() {
  if (!confirm('Leave this room? You will not be able to read it any more unless someone invites you again.')) return;
  const t = app.client.act((r) => r.leave());
  if (t < 0) systemLine('Could not leave (this room is already closed).', 'warn');
  else systemLine('Leaving the room…');
  saveSoon();
}

// --- the invite panel ----------------------------------------------------------------
function showInvite() {
  const link = app.room.link(app.meta.base);
  $('invite-link').value = link || '';
  renderQr(link || '');
}

function renderQr(text) {
  const box = $('qr');
  box.replaceChildren();
  const qr = text ? app.core.qr(text) : null;
  if (!qr) return;
  const quiet = 4;
  const size = qr.width + 2 * quiet;
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('aria-hidden', 'true');
  let d = '';
  for (let y = 0; y < qr.width; y++) {
    for (let x = 0; x < qr.width; x++) {
      if (qr.modules[y * qr.width + x]) d += `M${x + quiet} ${y + quiet}h1v1h-1z`;
    }
  }
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.append(path);
  box.append(svg);
  box.dataset.width = String(qr.width);
}

async function copyLink() {
  const input = $('invite-link');
  const status = $('copy-status');
  try {
    await navigator.clipboard.writeText(input.value);
    status.textContent = 'Copied.';
  } catch {
    input.focus();
    input.select();
    status.textContent = document.execCommand && document.execCommand('copy')
      ? 'Copied.' : 'Select the link and copy it (Ctrl+C).';
  }
}

// --- room events -----------------------------------------------------------------------
function who(name) { return name || 'a member'; }

function onEvent(ev) {
  switch (ev.type) {
  case 'created': systemLine('Room created. Share the invite link to let others in.'); break;
  case 'joined': systemLine('You joined the room.'); break;
  case 'live':
    if (app.away) {
      const n = app.away.count;
      if (n) app.away.li.querySelector('.text').textContent =
        `${n} new message${n === 1 ? '' : 's'} while you were away`;
      else if (app.away.li) app.away.li.remove();
      app.away = null;
    }
    app.live = true;
    break;
  case 'message': {
    if (app.away && !app.away.li) {
      const e = { kind: 'system', time: Date.now(), text: 'New messages while you were away' };
      app.away.li = drawSystem(e);
      app.away.li.dataset.kind = 'away';
    }
    if (app.away) app.away.count++;
    const e = { kind: 'message', name: who(ev.name), identity: ev.identity, time: ev.time_ms,
                text: ev.text, seq: ev.seq };
    record(e);
    drawMessage(e);
    unread(e);
    break;
  }
  case 'sent': {
    const p = app.pending.get(ev.token);
    if (p && p.entry.status !== 'accepted') setStatus(p, 'sent');
    break;
  }
  case 'accepted': {
    const p = app.pending.get(ev.token);
    if (p) { p.entry.seq = ev.seq; setStatus(p, 'accepted'); app.pending.delete(ev.token); }
    break;
  }
  case 'rejected': {
    const p = app.pending.get(ev.token);
    if (p) { setStatus(p, 'failed', ev.reason || `code ${ev.code}`); app.pending.delete(ev.token); }
    else systemLine(`The relay refused an action: ${ev.reason || `code ${ev.code}`}.`, 'warn');
    break;
  }
  case 'epoch': case 'rebased': case 'duplicate': break;
  case 'member_joined':
    systemLine(ev.resync ? `${who(ev.name)} rejoined the room.` : `${who(ev.name)} joined the room.`);
    break;
  case 'member_removed':
    systemLine(ev.self ? `${who(ev.name)} left the room.`
      : `${who(ev.by_name)} removed ${who(ev.name)} from the room.`);
    break;
  case 'member_leaving': systemLine(`${who(ev.name)} is leaving the room.`); break;
  case 'removed':
    app.meta.closed = 'removed';
    alertLine(`${who(ev.by_name)} removed you from this room. You can no longer read or send messages here; the invite link you had no longer works.`);
    break;
  case 'left':
    app.meta.closed = 'left';
    systemLine('You left the room. Its messages stay on this device until you forget the room.');
    break;
  case 'link_rotated':
    showInvite();
    systemLine('A member was removed, so the room has a new invite link and the old one no longer works. Share the new one from "Invite others".');
    break;
  case 'history_lost':
    alertLine(`Messages ${ev.seq} to ${ev.seq2} cannot be shown on this device: ${ev.reason}.`);
    break;
  case 'unreadable':
    alertLine(`A message (number ${ev.seq}) could not be read: ${ev.reason}.`);
    break;
  case 'gap':
    systemLine(`The relay skipped messages (expected number ${ev.seq}, got ${ev.seq2}); reconnecting to fetch them.`, 'warn');
    break;
  case 'fork':
    alertLine(`Warning: the relay showed you a different history than it showed ${ev.name ? ev.name : 'this device earlier'}. Someone may be tampering with this room: be careful with recent messages and check with the others in another way.`);
    break;
  case 'link_mismatch':
    alertLine('Warning: the relay announced a different new invite link than the one the members agreed on. The relay may be misbehaving; the link shown under "Invite others" is the right one.');
    break;
  case 'key_changed':
    alertLine(`Warning: ${who(ev.name)} joined with a different key than before. It may be a new device, or someone else using that name: check with them in another way.`);
    break;
  case 'stale_gi':
    alertLine('Warning: the relay offered an out-of-date copy of the room. It may be misbehaving or restored from an old backup.');
    break;
  case 'join_failed':
    app.meta.closed = 'join_failed';
    alertLine(`Could not join this room: ${ev.reason}. The link may have been replaced after a removal: ask a member for the current one.`);
    break;
  case 'relay_error':
    systemLine(`The relay reported a problem: ${ev.reason || `code ${ev.code}`}.`, 'warn');
    break;
  case 'protocol_error':
    systemLine(`The relay sent invalid data (${ev.reason}); reconnecting.`, 'bad');
    break;
  case 'room_lost':
    app.meta.closed = 'lost';
    alertLine(`This relay no longer has the room (${ev.reason}). The conversation on this device is kept; ask a member where the room is now.`);
    break;
  case 'glue_error':
    systemLine(`Internal error: ${ev.reason}`, 'bad');
    break;
  default:
    systemLine(`Unexpected event ${ev.type}: ${ev.reason || ''}`, 'warn');
  }
  verifyOnEvent(ev);
  if (['live', 'joined', 'created', 'epoch', 'member_joined', 'member_removed', 'removed',
       'left', 'room_lost'].includes(ev.type)) renderMembers();
  renderState();
}

// --- unread messages (notify.js): counted while the tab is hidden, kept with the room ----
function unread(e) {
  if (!app.notify || !app.notify.message(app.meta.title || 'a room', app.room.roomId, e.name, e.text)) return;
  app.meta.unread = (app.meta.unread || 0) + 1;
}

function seen() {
  if (!app.meta || !app.meta.unread) return;
  app.meta.unread = 0;
  saveSoon();
}

// --- connection state ----------------------------------------------------------------
function onState(s) {
  const prev = app.state.state;
  app.state = s;
  if (s.state === 'offline' && prev !== 'offline' && app.live) {
    systemLine('Connection to the relay lost. Reconnecting; messages you write are kept and sent once back.', 'warn');
  }
  if (s.state === 'offline') app.wasOffline = true;
  if (s.state === 'online' && app.wasOffline) {
    app.wasOffline = false;
    systemLine('Reconnected.');
  }
  if (s.state !== 'online') app.live = false;
  renderState();
}

function renderState() {
  const s = app.state;
  const conn = $('conn');
  conn.dataset.state = s.state;
  conn.dataset.relay = s.relay || '';
  conn.title = s.relay ? `Relay: ${s.relay}` : '';
  const waiting = app.room ? app.room.outboxLength() : 0;
  const queued = waiting ? ` · ${waiting} message${waiting === 1 ? '' : 's'} waiting` : '';
  let text;
  switch (s.state) {
  case 'connecting': text = 'Connecting…'; break;
  case 'joining': text = 'Catching up…'; break;
  case 'online': text = s.failover ? `Online · via ${s.relay}` : 'Online'; break;
  case 'offline': {
    const secs = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000));
    text = `Offline · reconnecting in ${secs} s`;
    break;
  }
  case 'finished': text = { lost: 'Room lost on this relay', dead: 'Not in this room' }[s.detail] || 'Closed'; break;
  case 'failed': text = `Cannot connect: ${s.detail}`; break;
  default: text = 'Not connected';
  }
  conn.textContent = text + queued;
  $('retry').hidden = s.state !== 'offline';
}

// --- saving --------------------------------------------------------------------------
// One save at a time; a save asked for while one runs is done once after it.
function saveSoon() {
  if (!app.room) return;
  if (app.saving) { app.saveAgain = true; return; }
  const room = app.room;
  const state = room.save(); // null before a first join is accepted
  if (!state && !app.meta.saved) return;
  app.meta.title = room.members().map((m) => m.name).join(', ') || app.meta.title;
  const hist = app.hist.take();
  app.meta.first = hist.first;
  app.meta.next = hist.next;
  const meta = app.core.sealJson(app.meta);
  app.meta.saved = true;
  app.saving = app.store.saveRoom(room.roomId, state, meta, hist).catch((e) => {
    app.hist.restore(hist);
    systemLine(`Could not save the room in this browser: ${e.message}`, 'bad');
  }).finally(() => {
    app.saving = null;
    if (app.saveAgain) { app.saveAgain = false; saveSoon(); }
  });
}

// --- entering a room -----------------------------------------------------------------
// room: a Room from core.js; meta: {base, name, ...}; hist: its History (history.js), null
// for a new room; restored: from storage.
async function enterRoom(room, meta, restored, hist = null) {
  const release = await app.store.ownRoom(room.roomId);
  if (!release) {
    room.close();
    showLinkError('This room is already open in another tab of this browser. Use that tab, or close it and reload this one.');
    return;
  }
  app.release = release;
  app.room = room;
  app.meta = meta;
  app.hist = hist || new History(app.core, room.roomId);
  app.name = meta.name;
  history.replaceState(null, '', `#room=${room.roomId}`);
  show('chat');
  $('messages').replaceChildren();
  for (const e of app.hist.entries()) drawEntry(e);
  if (app.hist.missing > 0) {
    const n = app.hist.missing;
    drawSystem({ kind: 'system', time: Date.now(), level: 'bad', alert: true,
      text: `${n} stored line${n === 1 ? ' is' : 's are'} missing from this room's history in this browser (deleted or damaged).` });
  }
  if (restored) app.away = { count: 0, li: null };
  showInvite();
  $('invite').open = !restored && !!meta.creator;
  // The cluster's other relays are kept with the room (meta.relays) for when this page
  // is served by its pins while its relay is down (connection.js).
  const onRelays = (list) => {
    if (JSON.stringify(list) === JSON.stringify(meta.relays)) return;
    meta.relays = list;
    saveSoon();
  };
  app.client = new RoomClient(room, meta.base, { onEvent, onState, onBatch: saveSoon,
    relays: meta.relays, onRelays });
  if (!meta.closed) app.client.start();
  else onState({ state: 'finished', detail: room.state() });
  renderMembers();
  if (!document.hidden) seen();
  renderOtherRooms();
  setInterval(renderState, 1000);
  $('text').focus();
}

function showLinkError(message) {
  $('link-error-text').textContent = message;
  show('link-error');
  $('conn').textContent = 'Not connected';
  $('conn').dataset.state = 'idle';
}

function sendFromComposer() {
  const box = $('text');
  const text = box.value;
  const err = $('send-error');
  err.hidden = true;
  if (!text.trim()) return;
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > app.core.maxText) {
    err.textContent = `Message too long: ${bytes} bytes, at most ${app.core.maxText}.`;
    err.hidden = false;
    return;
  }
  const token = app.room.send(text);
  if (token < 0) {
    err.textContent = app.meta.closed ? 'You are no longer in this room.'
      : 'The message could not be queued (too many unsent messages).';
    err.hidden = false;
    return;
  }
  box.value = '';
  const e = { kind: 'own', name: app.name, time: Date.now(), text, token,
              status: app.state.state === 'online' ? 'sending' : 'queued' };
  record(e);
  drawMessage(e);
  app.client.pump(); // submits it now if the room is live
  saveSoon();
  renderState();
}

// --- the start screen: rooms kept in this browser --------------------------------------
async function renderRoomList() {
  const list = $('room-list');
  list.replaceChildren();
  const ids = await app.store.roomIds();
  for (const id of ids) {
    const rec = await app.store.loadRoom(id);
    const meta = rec && rec.meta ? app.core.openJson(rec.meta) : null;
    const li = el('li', 'room');
    li.dataset.room = id;
    li.append(el('span', 'name', meta ? (meta.title || meta.name) : 'a room this browser cannot read any more'));
    if (meta && meta.unread) li.append(document.createTextNode(' '), el('span', 'unread', `${meta.unread} unread`));
    if (meta) {
      const open = el('button', '', 'Open');
      open.type = 'button';
      open.onclick = () => { location.hash = `room=${id}`; };
      li.append(document.createTextNode(' '), open);
    }
    const forget = el('button', 'secondary', 'Forget this room');
    forget.type = 'button';
    forget.onclick = async () => {
      if (!confirm('Delete this room and its messages from this browser?')) return;
      await app.store.forgetRoom(id);
      renderRoomList();
    };
    li.append(document.createTextNode(' '), forget);
    list.append(li);
  }
  $('rooms').hidden = ids.length === 0;
}

// Beside an open room: the other rooms of this browser with their unread counts (what their
// tabs received while hidden), read again whenever this tab is shown.
async function renderOtherRooms() {
  const list = $('other-room-list');
  const items = [];
  for (const id of await app.store.roomIds()) {
    if (app.room && id === app.room.roomId) continue;
    const rec = await app.store.loadRoom(id);
    const meta = rec && rec.meta ? app.core.openJson(rec.meta) : null;
    if (!meta) continue;
    const li = el('li', 'room');
    li.dataset.room = id;
    const a = el('a', 'name', meta.title || meta.name);
    a.href = `#room=${id}`;
    li.append(a);
    if (meta.unread) li.append(document.createTextNode(' '), el('span', 'unread', `${meta.unread} unread`));
    items.push(li);
  }
  list.replaceChildren(...items);
  $('other-rooms').hidden = items.length === 0;
}

async function openStored(id) {
  const rec = await app.store.loadRoom(id);
  const meta = rec && rec.meta ? app.core.openJson(rec.meta) : null;
  if (!meta || !rec.state) {
    showLinkError('This room is not stored in this browser (it was forgotten, or it was never joined here).');
    return;
  }
  let room;
  try {
    room = app.core.openRoom('restore', app.identity, meta.name, rec.state);
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    showLinkError(e.message);
    return;
  }
  const hist = await History.load(app.core, app.store, id, meta);
  await enterRoom(room, meta, true, hist);
  if (hist.migrated) saveSoon(); // written in the new form (one record per entry)
}

async function forgetCurrent() {
  if (!confirm('Delete this room and its messages from this browser?')) return;
  const id = app.room.roomId;
  app.client.stop();
  app.room.close();
  app.room = null;
  await app.store.forgetRoom(id);
  if (app.release) app.release();
  location.replace(pageBase());
}

async function route() {
  const hash = location.hash;
  if (!hash || hash === '#') {
    $('conn').textContent = 'Not connected';
    $('conn').dataset.state = 'idle';
    show('start');
    await renderRoomList();
    $('name-create').focus();
    return;
  }
  if (hash.startsWith('#room=')) {
    await openStored(hash.slice(6));
    return;
  }
  // An invite link: read it, then take the secret out of the address bar and out of this
  // history entry (replaceState rewrites the current entry; no entry keeps the fragment).
  const link = location.href;
  history.replaceState(null, '', pageBase());
  const problem = app.core.checkLink(link);
  if (problem) { showLinkError(problem); return; }
  const why = insecure(linkBase(link));
  if (why) { showLinkError(why); return; }
  let room;
  try {
    room = app.core.openRoom('join', app.identity, app.name || 'x', link);
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    showLinkError(e.message);
    return;
  }
  const id = room.roomId;
  room.close();
  if ((await app.store.roomIds()).includes(id)) { await openStored(id); return; }
  app.pendingLink = link;
  show('join');
  $('conn').textContent = 'Not connected';
  $('name-join').focus();
}

function wire() {
  $('create-form').onsubmit = async (e) => {
    e.preventDefault();
    if (!nameOk($('name-create'))) return;
    const name = $('name-create').value.trim();
    const base = pageBase();
    const why = insecure(base);
    if (why) { fatal(why); return; }
    let room;
    try {
      room = app.core.openRoom('create', app.identity, name);
    } catch (err) {
      fatal(`Cannot create a room: ${err.message}`);
      return;
    }
    await saveName(name);
    await enterRoom(room, { base, name, creator: true }, false);
    saveSoon();
  };
  $('open-form').onsubmit = (e) => {
    e.preventDefault();
    const link = $('link-input').value.trim();
    const problem = app.core.checkLink(link);
    if (problem) {
      $('open-error').textContent = problem;
      $('open-error').hidden = false;
      $('link-input').focus();
      return;
    }
    const why = insecure(linkBase(link));
    if (why) {
      $('open-error').textContent = why;
      $('open-error').hidden = false;
      return;
    }
    $('link-input').value = '';
    app.pendingLink = link;
    show('join');
    $('name-join').focus();
  };
  $('join-form').onsubmit = async (e) => {
    e.preventDefault();
    if (!nameOk($('name-join'))) return;
    const name = $('name-join').value.trim();
    const link = app.pendingLink;
    app.pendingLink = null;
    let room;
    try {
      room = app.core.openRoom('join', app.identity, name, link);
    } catch (err) {
      if (!(err instanceof CoreError)) throw err;
      showLinkError(err.message);
      return;
    }
    await saveName(name);
    await enterRoom(room, { base: linkBase(link), name }, false);
  };
  $('composer').onsubmit = (e) => { e.preventDefault(); sendFromComposer(); };
  $('text').onkeydown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendFromComposer();
    }
  };
  for (const id of ['name-create', 'name-join']) $(id).oninput = () => $(id).setCustomValidity('');
  $('copy').onclick = copyLink;
  $('leave').onclick = leaveRoom;
  $('forget').onclick = forgetCurrent;
  $('skip').onclick = (e) => {
    e.preventDefault();
    if (!$('chat').hidden) $('text').focus();
  };
  $('retry').onclick = () => app.client && app.client.connectNow();
  window.addEventListener('hashchange', () => {
    if (!app.ready) return; // main() routes once the module and the keys are loaded
    if (app.room) location.reload();
    else route();
  });
}

// The protocol allows 64 bytes of UTF-8; maxlength counts UTF-16 units, so check bytes here.
function nameOk(input) {
  const bytes = new TextEncoder().encode(input.value.trim()).length;
  input.setCustomValidity(bytes > 64 ? `This name is ${bytes} bytes long; at most 64 bytes of UTF-8 fit.` : '');
  return input.reportValidity();
}

async function saveName(name) {
  app.name = name;
  try { await app.store.put('settings', 'name', app.core.sealJson(name)); } catch { /* a convenience */ }
}

async function main() {
  wire();
  if (!globalThis.isSecureContext) {
    fatal('saltchat needs https:// here (plain http is only allowed on this computer: localhost or 127.0.0.1). Over plain http anyone on the network could replace this page and read your messages.');
    return;
  }
  try {
    app.core = await loadCore();
    initVerify({ core: app.core, room: () => app.room, meta: () => app.meta, save: saveSoon,
      alert: alertLine, system: systemLine, refresh: renderMembers });
  } catch (e) {
    fatal(`The encryption module could not be loaded: ${e.message}. Reload the page; if it persists, this browser may be too old: saltchat needs WebAssembly with SIMD (Chrome or Edge 91+, Firefox 89+, Safari 16.4+).`);
    return;
  }
  try {
    app.store = await Store.open();
    const id = await app.store.unlock(app.core);
    app.identity = id.identity;
    app.me = app.core.identityPublic(id.identity);
    $('my-fp').textContent = `Your key fingerprint in this browser: ${app.me.fingerprint}`;
    const stored = await app.store.get('settings', 'name');
    const name = stored ? app.core.openJson(stored) : '';
    app.name = typeof name === 'string' ? name : '';
    $('name-create').value = app.name;
    $('name-join').value = app.name;
    app.notify = await Notifier.open(app.core, app.store);
    app.notify.onVisible = () => { seen(); if (app.room) renderOtherRooms(); };
    app.notify.bind($('notify'), $('notify-text'), $('notify-status'));
    if (id.replaced) {
      notice('The keys stored in this browser were damaged and have been replaced: rooms saved before cannot be opened any more.');
    }
  } catch (e) {
    fatal(`This browser's storage (IndexedDB) is not available: ${e.message}. Private windows may block it.`);
    return;
  }
  app.ready = true;
  await route();
}

main();
