// The page: screens, message list, member list. Talks to the wasm core through core.js,
// to the relay through connection.js, to IndexedDB through storage.js. Everything shown
// from the network goes through textContent (never innerHTML).
import { loadCore, CoreError } from './core.js';
import { Store } from './storage.js';
import { RoomClient } from './connection.js';

const $ = (id) => document.getElementById(id);
const SVG_NS = 'http://www.w3.org/2000/svg';

const app = {
  core: null, store: null, identity: null, fingerprint: '', verified: new Set(),
  room: null, client: null, myId: '', joinedOnce: false, welcomeIds: new Set(),
  keyed: new Set(),       // member ids whose first sending key arrived
  members: new Map(),     // id -> { id, name, identity, fingerprint }
  expanded: new Set(),    // identity hex whose safety number is shown
  pending: new Map(),     // msg_id -> status element of an own message
  state: { state: 'idle' }, countdown: 0,
};

function show(sectionId) {
  for (const id of ['start', 'join', 'link-error', 'chat']) $(id).hidden = id !== sectionId;
  $('my-fp').hidden = sectionId === 'chat' || !app.fingerprint;
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

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function timeLabel(ms) {
  const d = new Date(ms);
  const el2 = el('time', null, d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  el2.dateTime = d.toISOString();
  el2.title = d.toLocaleString();
  return el2;
}

function memberName(id) {
  const m = app.members.get(id);
  return m && m.name ? m.name : `member #${id}`;
}

// --- message log ---------------------------------------------------------------------
function appendLog(li) {
  const log = $('messages');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(li);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function systemLine(text, level = '') {
  const li = el('li', `system ${level}`.trim());
  li.dataset.kind = 'system';
  li.append(timeLabel(Date.now()), document.createTextNode(' '), el('span', 'text', text));
  appendLog(li);
}

function verifiedBadge(identityHex) {
  const v = identityHex && app.verified.has(identityHex);
  const b = el('span', `badge ${v ? 'verified' : 'unverified'}`, v ? 'verified' : 'unverified');
  b.dataset.identity = identityHex || '';
  b.title = v ? 'You compared safety numbers with this person'
    : 'Not verified: compare safety numbers in the member list';
  return b;
}

function messageLine({ sender, identity, time, text, own, id }) {
  const li = el('li', own ? 'msg own' : 'msg');
  li.dataset.kind = own ? 'own' : 'message';
  if (id) li.dataset.msgId = id;
  const meta = el('div', 'meta');
  meta.append(el('span', 'sender', sender));
  if (!own) meta.append(verifiedBadge(identity));
  meta.append(timeLabel(time));
  let status = null;
  if (own) {
    status = el('span', 'status');
    meta.append(status);
  }
  li.append(meta, el('div', 'text', text));
  appendLog(li);
  return status;
}

function setStatus(status, kind, label) {
  status.dataset.status = kind;
  status.textContent = label;
}

function refreshBadges() {
  for (const b of document.querySelectorAll('.badge[data-identity]')) {
    const hex = b.dataset.identity;
    const v = hex && app.verified.has(hex);
    b.className = `badge ${v ? 'verified' : 'unverified'}`;
    b.textContent = v ? 'verified' : 'unverified';
  }
}

// --- member list ---------------------------------------------------------------------
let membersQueued = false;
function renderMembersSoon() {
  if (membersQueued) return;
  membersQueued = true;
  queueMicrotask(() => { membersQueued = false; renderMembers(); });
}

function renderMembers() {
  if (!app.room) return;
  const list = $('members');
  const focusedKey = document.activeElement && document.activeElement.dataset.key;
  list.replaceChildren();
  const present = app.room.members();
  for (const m of present) {
    const known = app.members.get(m.id) || { id: m.id };
    known.name = m.name || known.name || '';
    known.identity = m.identity || known.identity || null;
    if (known.identity && !known.fingerprint) {
      known.fingerprint = app.core.fingerprint(hexBytes(known.identity));
    }
    app.members.set(m.id, known);
    list.append(memberRow(known));
  }
  if (!present.length) {
    list.append(el('li', 'hint', app.room.connected()
      ? 'Nobody else is here yet. Share the invite link.'
      : 'Members appear once connected.'));
  }
  if (focusedKey) {
    const again = list.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`);
    if (again) again.focus();
  }
}

function memberRow(m) {
  const li = el('li', 'member');
  li.dataset.member = m.id;
  const head = el('div');
  if (!m.identity) {
    head.append(el('span', 'name', `member #${m.id}`), document.createTextNode(' '),
      el('span', 'hint', 'authenticating…'));
    li.append(head);
    return li;
  }
  head.append(el('span', 'name', m.name || `member #${m.id}`), document.createTextNode(' '),
    verifiedBadge(m.identity));
  if (m.identity === app.identityHex) head.append(el('span', 'hint', ' (you, another tab)'));
  li.append(head, el('div', 'fp', `fingerprint ${groupDigits(m.fingerprint)}`));
  const actions = el('div', 'actions');
  const open = app.expanded.has(m.identity);
  const toggle = el('button', 'secondary', open ? 'Hide safety number' : 'Compare safety number');
  toggle.type = 'button';
  toggle.dataset.key = `toggle:${m.identity}`;
  toggle.setAttribute('aria-expanded', String(open));
  toggle.onclick = () => {
    if (app.expanded.has(m.identity)) app.expanded.delete(m.identity);
    else app.expanded.add(m.identity);
    renderMembers();
  };
  actions.append(toggle);
  li.append(actions);
  if (open) {
    const sn = app.room.safetyNumber(m.id);
    const box = el('div', 'safety');
    box.append(el('div', null, 'Safety number (compare it with them in person or by phone):'),
      el('div', 'safety-number', sn || 'not available yet'));
    const verified = app.verified.has(m.identity);
    const mark = el('button', verified ? 'secondary' : '',
      verified ? 'Remove verification' : 'Mark as verified');
    mark.type = 'button';
    mark.dataset.key = `mark:${m.identity}`;
    mark.onclick = () => setVerified(m.identity, !verified, m.name);
    box.append(mark);
    li.append(box);
  }
  return li;
}

function showMe() {
  const who = app.myId ? `member #${app.myId}` : 'not connected yet';
  $('me').textContent = `You: ${app.name} (${who}). Your fingerprint: ${groupDigits(app.fingerprint)}`;
}

function groupDigits(s) { return (s || '').replace(/(\d{5})(?=\d)/g, '$1 '); }

function hexBytes(hex) {
  const b = new Uint8Array(hex.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(hex.substr(2 * i, 2), 16);
  return b;
}

function bytesHex(b) { return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''); }

async function setVerified(identityHex, verified, name) {
  try {
    await app.store.setVerified(identityHex, verified, name);
  } catch (e) {
    systemLine(`Could not save the verification: ${e.message}`, 'bad');
    return;
  }
  if (verified) app.verified.add(identityHex);
  else app.verified.delete(identityHex);
  renderMembers();
  refreshBadges();
}

// --- session events ------------------------------------------------------------------
function onEvent(ev) {
  switch (ev.type) {
  case 'joined_room': {
    app.myId = ev.member;
    app.welcomeIds = new Set(app.room.members().map((m) => m.id));
    app.members.clear();
    app.keyed.clear();
    showMe();
    if (!app.joinedOnce) {
      systemLine(`You joined the room. ${ev.count} other member${ev.count === 1 ? '' : 's'} here.`);
    } else {
      systemLine('Reconnected.');
    }
    app.joinedOnce = true;
    break;
  }
  case 'member_joined':
    break;
  case 'member_authenticated':
    app.members.set(ev.member, { id: ev.member, name: ev.name, identity: ev.identity,
                                 fingerprint: ev.fingerprint });
    if (!app.welcomeIds.has(ev.member)) systemLine(`${ev.name || `member #${ev.member}`} joined.`);
    break;
  case 'handshake_failed':
    systemLine(`Could not authenticate ${memberName(ev.member)}: ${ev.reason}.`, 'warn');
    break;
  case 'member_left':
    systemLine(`${ev.name || memberName(ev.member)} left.`);
    app.members.delete(ev.member);
    app.keyed.delete(ev.member);
    break;
  case 'message':
    messageLine({ sender: ev.name || memberName(ev.member), identity: ev.identity,
                  time: ev.time_ms, text: ev.text, own: false });
    break;
  case 'undecryptable': {
    const li = el('li', 'undecryptable');
    li.dataset.kind = 'undecryptable';
    const meta = el('div', 'meta');
    meta.append(el('span', 'sender', memberName(ev.member)), timeLabel(Date.now()));
    li.append(meta, el('div', 'text', `A message could not be decrypted: ${ev.reason}.`));
    appendLog(li);
    break;
  }
  case 'keys_rotated':
    systemLine(`Your sending key was rotated: ${ev.reason}.`);
    break;
  case 'peer_keys':
    // The first chain of each member comes with its handshake; later ones are rotations.
    if (app.keyed.has(ev.member)) systemLine(`${memberName(ev.member)} is using a new sending key.`);
    app.keyed.add(ev.member);
    break;
  case 'sent': {
    const s = app.pending.get(ev.msg_id);
    if (s && s.dataset.status !== 'confirmed') setStatus(s, 'sent', 'sent');
    break;
  }
  case 'confirmed': {
    const s = app.pending.get(ev.msg_id);
    if (s) { setStatus(s, 'confirmed', '✓ delivered to relay'); app.pending.delete(ev.msg_id); }
    break;
  }
  case 'send_failed': {
    const s = app.pending.get(ev.msg_id);
    if (s) { setStatus(s, 'failed', `not sent: ${ev.reason}`); app.pending.delete(ev.msg_id); }
    break;
  }
  case 'relay_error':
    systemLine(`The relay reported an error: ${ev.reason || 'code ' + ev.code}.`, 'bad');
    break;
  case 'protocol_error':
    systemLine(`The relay sent invalid data (${ev.reason}); reconnecting.`, 'bad');
    break;
  case 'warning':
    systemLine(`Rejected input from ${memberName(ev.member)}: ${ev.reason}.`, 'warn');
    break;
  default:
    systemLine(`Unexpected event ${ev.type}: ${ev.reason || ''}`, 'warn');
  }
  if (['joined_room', 'member_joined', 'member_authenticated', 'member_left',
       'handshake_failed'].includes(ev.type)) renderMembersSoon();
  if (['sent', 'confirmed', 'send_failed', 'joined_room'].includes(ev.type)) renderState();
}

// --- connection state ----------------------------------------------------------------
function onState(s) {
  const prev = app.state.state;
  app.state = s;
  if (s.state === 'offline' && prev !== 'offline' && app.joinedOnce) {
    systemLine('Connection to the relay lost. Messages you write are kept and sent after reconnecting.', 'warn');
  }
  if (s.state === 'offline') {
    app.members.clear();
    app.myId = '';
    showMe();
    renderMembers();
  }
  renderState();
}

function renderState() {
  const s = app.state;
  const conn = $('conn');
  conn.dataset.state = s.state;
  const waiting = app.room ? app.room.outboxLength() : 0;
  const queued = waiting ? ` · ${waiting} message${waiting === 1 ? '' : 's'} waiting` : '';
  let text;
  switch (s.state) {
  case 'connecting': text = 'Connecting…'; break;
  case 'joining': text = 'Joining room…'; break;
  case 'online': text = 'Online'; break;
  case 'offline': {
    const secs = Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000));
    text = `Offline · reconnecting in ${secs} s`;
    break;
  }
  case 'failed': text = `Cannot connect: ${s.detail}`; break;
  default: text = 'Not connected';
  }
  conn.textContent = text + queued;
  $('retry').hidden = s.state !== 'offline';
}

// --- invite panel --------------------------------------------------------------------
function renderQr(text) {
  const box = $('qr');
  box.replaceChildren();
  const qr = app.core.qr(text);
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

// --- entering a room -----------------------------------------------------------------
function enterRoom(link, name) {
  let room;
  try {
    room = app.core.openRoom(link, name, app.identity);
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    showLinkError(e.message);
    return;
  }
  app.room = room;
  app.name = name;
  show('chat');
  showMe();
  $('invite-link').value = room.link;
  renderQr(room.link);
  $('invite').open = !!app.createdRoom;
  app.client = new RoomClient(room, { onEvent, onState });
  app.client.start();
  renderMembers();
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
  const id = app.room.send(text);
  if (!id) {
    err.textContent = 'The message could not be queued (too many unsent messages, or too large for this relay).';
    err.hidden = false;
    return;
  }
  box.value = '';
  const status = messageLine({ sender: `${app.name} (you)`, identity: app.identityHex,
                               time: Date.now(), text, own: true, id });
  if (status.dataset.status === undefined) {
    setStatus(status, 'queued', app.state.state === 'online' ? 'sending…' : 'waiting for connection');
  }
  app.pending.set(id, status);
  app.client.pump(); // encrypts and writes it now if the session is ready
  renderState();
}

function route() {
  const hash = location.hash;
  if (!hash || hash === '#') {
    $('conn').textContent = 'Not connected';
    $('conn').dataset.state = 'idle';
    show('start');
    $('name-create').focus();
    return;
  }
  const problem = app.core.checkInvite(location.href);
  if (problem) {
    showLinkError(problem);
    return;
  }
  show('join');
  $('conn').textContent = 'Not connected';
  $('name-join').focus();
}

function wire() {
  $('create-form').onsubmit = async (e) => {
    e.preventDefault();
    if (!nameOk($('name-create'))) return;
    const name = $('name-create').value.trim();
    let link;
    try {
      link = app.core.newInvite(pageBase());
    } catch (err) {
      fatal(`Cannot create a room here: ${err.message}`);
      return;
    }
    await saveName(name);
    app.createdRoom = true;
    history.replaceState(null, '', link);
    enterRoom(link, name);
  };
  $('open-form').onsubmit = (e) => {
    e.preventDefault();
    const link = $('link-input').value.trim();
    const problem = app.core.checkInvite(link);
    if (problem) {
      $('open-error').textContent = problem;
      $('open-error').hidden = false;
      $('link-input').focus();
      return;
    }
    location.assign(link); // same page: only the fragment changes and hashchange routes
  };
  $('join-form').onsubmit = async (e) => {
    e.preventDefault();
    if (!nameOk($('name-join'))) return;
    const name = $('name-join').value.trim();
    await saveName(name);
    enterRoom(location.href, name);
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
  // The fragment holds the invite: in-page links must not replace it.
  $('skip').onclick = (e) => {
    e.preventDefault();
    if (!$('chat').hidden) $('text').focus();
  };
  $('retry').onclick = () => app.client && app.client.connectNow();
  window.addEventListener('hashchange', () => {
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
  try { await app.store.setSetting('name', name); } catch { /* only a convenience */ }
}

async function main() {
  wire();
  try {
    app.core = await loadCore();
  } catch (e) {
    fatal(`The encryption module could not be loaded: ${e.message}. Reload the page; if it persists, this browser may be too old: saltchat needs WebAssembly with SIMD (Chrome or Edge 91+, Firefox 89+, Safari 16.4+).`);
    return;
  }
  try {
    app.store = await Store.open();
    const id = await app.store.identity(() => app.core.generateIdentity(),
                                        (x) => app.core.identityValid(x));
    app.identity = id.identity;
    app.identityHex = bytesHex(id.identity.pk);
    app.fingerprint = app.core.fingerprint(id.identity.pk);
    $('my-fp').textContent = `Your identity fingerprint in this browser: ${groupDigits(app.fingerprint)}`;
    app.verified = await app.store.verifiedKeys();
    const name = (await app.store.getSetting('name')) || '';
    $('name-create').value = name;
    $('name-join').value = name;
    if (id.replaced) {
      notice('The identity key stored in this browser was damaged and has been replaced: other members will see a new fingerprint.');
    }
  } catch (e) {
    fatal(`This browser's storage (IndexedDB) is not available: ${e.message}. Private windows may block it.`);
    return;
  }
  app.store.onVerifiedChange(({ identity, verified }) => {
    if (verified) app.verified.add(identity);
    else app.verified.delete(identity);
    renderMembers();
    refreshBadges();
  });
  route();
}

main();
