// pin.js: the page's side of code pinning (docs/WEB.md "Pinned code"). Registers the
// service worker (sw.js), which serves the page's files from the copy pinned on first use,
// then asks it to compare what the relay serves now with the pins. A difference is shown
// as a blocking dialog with every changed file's pinned and new SHA-256; the new code does
// not run unless the user accepts it ("Accept the new version" pins exactly the bytes
// shown, then reloads). The state is in <html data-pin="..."> (pinned, changed, unchecked,
// unpinned, unsupported) and in words in #pin.
const $ = (id) => document.getElementById(id);

function setState(state, text) {
  document.documentElement.dataset.pin = state;
  const p = $('pin');
  if (p) { p.textContent = text; p.hidden = false; }
}

// One request to the active worker; resolves with its answer.
function ask(worker, msg, ms = 120000) {
  return new Promise((resolve, reject) => {
    const ch = new MessageChannel();
    const timer = setTimeout(() => reject(new Error('the service worker did not answer')), ms);
    ch.port1.onmessage = (e) => { clearTimeout(timer); resolve(e.data); };
    worker.postMessage(msg, [ch.port2]);
  });
}

// The page behind the dialog takes no input while it is shown.
function block(on) {
  for (const e of document.querySelectorAll('body > header, body > main')) e.inert = on;
}

function group(h) { return h ? h.match(/.{1,8}/g).join(' ') : '(none)'; }

function pinnedText(r) {
  const when = new Date(r.pinned_at).toLocaleString();
  const how = r.how === 'accepted' ? 'when you accepted an update' : 'on first use';
  return `Code pinned ${how} (${when}): ${r.count} files, fingerprint ${r.fingerprint.slice(0, 16)}.`;
}

function showChanged(worker, r) {
  const box = $('pin-warning');
  const rows = $('pin-changes');
  rows.replaceChildren();
  for (const c of r.changed) {
    const tr = document.createElement('tr');
    for (const v of [c.name, group(c.old), group(c.new)]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    rows.append(tr);
  }
  $('pin-fingerprints').textContent = `Fingerprint of the pinned version: ${group(r.fingerprint)}. Of the version served now: ${group(r.now_fingerprint)}.`;
  $('pin-inconsistent').hidden = !r.inconsistent;
  $('pin-error').hidden = true;
  block(true);
  box.hidden = false;
  $('pin-keep').focus();
  $('pin-accept').onclick = async () => {
    $('pin-accept').disabled = true;
    try {
      const a = await ask(worker, { type: 'accept', expect: r.now });
      if (a.state !== 'pinned') throw new Error(a.error || a.state);
      location.reload();
    } catch (e) {
      $('pin-error').textContent = `Not accepted: ${e.message}. The pinned version stays.`;
      $('pin-error').hidden = false;
      $('pin-accept').disabled = false;
    }
  };
  $('pin-keep').onclick = () => {
    box.hidden = true;
    block(false);
    setState('kept', `${pinnedText(r)} The relay serves a different version; you kept the pinned one.`);
  };
}

async function main() {
  if (!('serviceWorker' in navigator)) {
    setState('unsupported', 'This browser cannot pin the page\'s code (no service workers): every visit runs what the relay serves.');
    return;
  }
  const sw = navigator.serviceWorker;
  try {
    await sw.register('sw.js', { scope: './', updateViaCache: 'none' });
  } catch (e) {
    setState('unpinned', `The page's code could not be pinned: ${e.message}.`);
    return;
  }
  const reg = await sw.ready;
  if (!sw.controller) {
    await Promise.race([new Promise((r) => sw.addEventListener('controllerchange', r, { once: true })),
      new Promise((r) => setTimeout(r, 5000))]);
  }
  if (!sw.controller) {
    // A hard reload (Shift+Reload) bypasses the worker: this load is the relay's code.
    setState('bypassed', 'This load bypassed the pinned code (hard reload?): reload normally to use it.');
    return;
  }
  const worker = reg.active || sw.controller;
  let r;
  try {
    r = await ask(worker, { type: 'check' });
  } catch (e) {
    setState('unchecked', `Could not check the page's code: ${e.message}.`);
    return;
  }
  switch (r.state) {
  case 'pinned':
    setState('pinned', pinnedText(r));
    break;
  case 'changed':
    setState('changed', `${pinnedText(r)} The relay serves a different version.`);
    showChanged(worker, r);
    break;
  case 'unchecked':
    setState('unchecked', `${pinnedText(r)} Not compared with the relay now (${r.error}).`);
    break;
  default:
    setState('unpinned', `The page's code could not be pinned: ${r.error || r.state}.`);
  }
}

main();
