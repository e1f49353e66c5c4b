// The Verify panel (docs/PROTOCOL.md 8.11, docs/WEB.md "Verifying members"): a member's
// fingerprint, our safety number with them and the room code, all computed in C
// (sc2_verify via core.js); marking a member verified after the user typed the number they
// compared; the alert when a verified name shows up with another key. The marks live in the
// room's meta ({name, identity} pairs), which app.js seals and saves with the room.
// app.js calls initVerify once, verifyButton per member line and verifyOnEvent per event.

let api = null; // { core, room(), meta(), save(), alert(text), system(text), refresh() }
const fps = new Map(); // identity hex -> fingerprint (each costs 5,200 hashes)
const alerted = new Set(); // identities a broken verification was reported for
let panel = null;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function fingerprint(identity) {
  if (!fps.has(identity)) fps.set(identity, api.core.fingerprint(identity));
  return fps.get(identity);
}

function marks() {
  const meta = api.meta();
  if (!meta) return [];
  if (!Array.isArray(meta.verified)) meta.verified = [];
  return meta.verified;
}

function isVerified(identity) { return marks().some((v) => v.identity === identity); }

// The verified key of name if name is verified with another key and identity is not.
function brokenFor(name, identity) {
  if (!name || !identity || isVerified(identity)) return null;
  const v = marks().find((m) => m.name === name);
  return v ? v.identity : null;
}

function checkBroken(name, identity) {
  const was = brokenFor(name, identity);
  if (!was || alerted.has(identity)) return;
  alerted.add(identity);
  api.alert(`Warning: you verified ${name}, but ${name} is now in the room with another key ` +
    `(fingerprint ${fingerprint(identity)}; the one you verified is ${fingerprint(was)}). ` +
    'This is not the key you compared: check with them in another way before trusting it.');
}

export function initVerify(a) { api = a; }

// The member line's Verify button (the member is an {name, identity} of room.members()).
export function verifyButton(m) {
  const verified = isVerified(m.identity);
  const b = el('button', verified ? 'secondary verify verified' : 'secondary verify',
    verified ? '✓ Verified' : 'Verify');
  b.type = 'button';
  b.dataset.verify = m.identity;
  b.dataset.verified = verified ? 'yes' : 'no';
  b.setAttribute('aria-label', verified ? `${m.name} is verified: show the numbers`
    : `Verify ${m.name}: compare numbers`);
  b.onclick = () => openPanel(m);
  return b;
}

// Every room event: a verified name with another key is an alert.
export function verifyOnEvent(ev) {
  if ((ev.type === 'member_joined' || ev.type === 'key_changed') && ev.identity) {
    checkBroken(ev.name, ev.identity);
  } else if ((ev.type === 'live' || ev.type === 'joined') && api.room() && marks().length) {
    for (const m of api.room().members()) checkBroken(m.name, m.identity);
  }
}

function line(label, value, key) {
  const p = el('p', 'verify-line');
  p.append(el('span', 'verify-label', label));
  const v = el('code', 'verify-number', value || '—');
  v.dataset[key] = value || '';
  if (value && value.length > 40) { // the safety number: two rows of six groups
    const half = (value.length - 1) / 2; // 35: the space between the two rows
    v.replaceChildren(el('span', 'verify-row', value.slice(0, half)),
      el('span', 'verify-row', value.slice(half + 1)));
  }
  p.append(v);
  return p;
}

function openPanel(m) {
  const room = api.room();
  if (!room) return;
  if (!panel) {
    panel = el('dialog', 'verify-panel');
    panel.id = 'verify-panel';
    panel.setAttribute('aria-labelledby', 'verify-title');
    document.body.append(panel);
  }
  const mine = fingerprint(room.myIdentity);
  const theirs = fingerprint(m.identity);
  const sn = theirs && mine ? api.core.safetyNumber(mine, theirs) : null;
  const code = room.roomCode();
  panel.replaceChildren();
  panel.dataset.identity = m.identity;
  const title = el('h2', null, `Verify ${m.name}`);
  title.id = 'verify-title';
  const status = el('p', 'verify-status');
  status.id = 'verify-status';
  status.setAttribute('role', 'status');
  if (isVerified(m.identity)) status.textContent = `✓ You verified ${m.name}.`;
  panel.append(title, status,
    el('p', 'hint', `Compare the safety number with ${m.name} over another channel you trust ` +
      '(in person, a call). Both of you see the same number. If it is the same, type it (or ' +
      `${m.name}'s fingerprint) below.`),
    line('Safety number', sn, 'sn'),
    line(`${m.name}'s fingerprint`, theirs, 'fp'),
    line('Your fingerprint', mine, 'mine'));
  const form = el('form', 'verify-form');
  const input = el('input');
  input.id = 'verify-input';
  input.autocomplete = 'off';
  input.inputMode = 'numeric';
  input.setAttribute('aria-label', 'The number you compared');
  input.placeholder = '60 or 30 digits, spaces optional';
  const mark = el('button', null, 'Mark verified');
  mark.type = 'submit';
  mark.id = 'verify-mark';
  const err = el('p', 'error');
  err.id = 'verify-error';
  err.hidden = true;
  form.append(input, document.createTextNode(' '), mark);
  form.onsubmit = (e) => {
    e.preventDefault();
    err.hidden = true;
    const r = api.core.checkVerify(input.value, theirs || '', sn || '');
    if (r.error) {
      err.textContent = `Not verified: ${r.error}. Spaces are optional; compare again.`;
      err.hidden = false;
      return;
    }
    if (!isVerified(m.identity)) marks().push({ name: m.name, identity: m.identity });
    alerted.delete(m.identity);
    api.save();
    api.system(`You verified ${m.name} (${r.match} compared).`);
    status.textContent = `✓ You verified ${m.name} (${r.match} compared).`;
    input.value = '';
    api.refresh();
    renderUnverify(m, actions, status);
  };
  const actions = el('p', 'verify-actions');
  renderUnverify(m, actions, status);
  panel.append(form, err,
    el('h3', null, 'Room code'),
    line(`Epoch ${room.epoch()}`, code, 'code'),
    el('p', 'hint', 'Everyone in the room at the same epoch sees the same room code. Read it ' +
      'out with the others now: a different code means someone is shown another group.'),
    actions);
  if (!panel.open) panel.showModal();
  input.focus();
}

function renderUnverify(m, actions, status) {
  actions.replaceChildren();
  if (isVerified(m.identity)) {
    const u = el('button', 'secondary', 'Remove verification');
    u.type = 'button';
    u.id = 'verify-remove';
    u.onclick = () => {
      const meta = api.meta();
      meta.verified = marks().filter((v) => v.identity !== m.identity);
      api.save();
      api.system(`${m.name} is no longer marked verified.`);
      status.textContent = '';
      api.refresh();
      renderUnverify(m, actions, status);
    };
    actions.append(u, document.createTextNode(' '));
  }
  const close = el('button', 'secondary', 'Close');
  close.type = 'button';
  close.id = 'verify-close';
  close.onclick = () => panel.close();
  actions.append(close);
}
