// notify.js: notifications and unread counts. Off until the user turns them on (the
// browser then asks for permission); with permission, a message from someone else that
// arrives while the tab is hidden shows a notification with the room and the sender, and
// the message text only if the user turned that on separately. The tab title counts the
// messages that arrived while it was hidden. The two choices are kept in IndexedDB
// (settings/notify, sealed in the wasm module like every other setting).
const BASE_TITLE = 'saltchat';

export class Notifier {
  // core: core.js's module (sealJson/openJson); store: storage.js's Store.
  static async open(core, store) {
    const n = new Notifier(core, store);
    try {
      const sealed = await store.get('settings', 'notify');
      const v = sealed ? core.openJson(sealed) : null;
      if (v && typeof v === 'object') { n.on = v.on === true; n.text = v.text === true; }
    } catch { /* unreadable: stays off */ }
    return n;
  }

  constructor(core, store) {
    this.core = core;
    this.store = store;
    this.on = false;
    this.text = false;
    this.unread = 0;
    this.lastAlert = 0;
    this.onVisible = null; // called when the tab is shown again
    document.addEventListener('visibilitychange', () => {
      if (this.hidden()) return;
      this.unread = 0;
      document.title = BASE_TITLE;
      if (this.onVisible) this.onVisible();
    });
  }

  supported() { return 'Notification' in globalThis; }
  allowed() { return this.on && this.supported() && Notification.permission === 'granted'; }
  hidden() { return document.visibilityState === 'hidden'; }

  async save() {
    try {
      await this.store.put('settings', 'notify', this.core.sealJson({ on: this.on, text: this.text }));
    } catch { /* a convenience: the choice is asked again next time */ }
  }

  // The button #notify, the checkbox #notify-text and the hint #notify-status.
  bind(button, textBox, status) {
    const render = () => {
      const perm = this.supported() ? Notification.permission : 'unsupported';
      button.textContent = this.allowed() ? 'Turn off notifications' : 'Turn on notifications';
      button.disabled = perm === 'unsupported';
      textBox.checked = this.text;
      textBox.closest('label').hidden = !this.allowed();
      status.textContent = perm === 'unsupported' ? 'This browser cannot show notifications.'
        : perm === 'denied' ? 'Notifications are blocked for this site in the browser\'s settings.'
        : this.allowed() ? (this.text ? 'Notifications show the room, the sender and the text.'
          : 'Notifications show the room and the sender, not the text.')
        : '';
    };
    button.onclick = async () => {
      if (this.allowed()) {
        this.on = false;
      } else {
        const perm = Notification.permission === 'default'
          ? await Notification.requestPermission() : Notification.permission;
        this.on = perm === 'granted';
      }
      render();
      await this.save();
    };
    textBox.onchange = async () => {
      this.text = textBox.checked;
      render();
      await this.save();
    };
    render();
  }

  // A message from someone else in room (its title) arrived. Returns whether it is unread
  // (the tab is hidden): then the title counts it and, if allowed, a notification shows.
  message(room, roomId, sender, text) {
    if (!this.hidden()) return false;
    this.unread++;
    document.title = `(${this.unread}) ${BASE_TITLE}`;
    if (this.allowed()) {
      try {
        // One notification per room, replaced by the next; a burst (catching up after a
        // reconnect) alerts once, then updates it silently.
        const alert = Date.now() - this.lastAlert > 3000;
        if (alert) this.lastAlert = Date.now();
        const n = new Notification(`${sender} in ${room}`, {
          body: this.text ? text : `New message from ${sender}`,
          tag: `saltchat-${roomId}`, renotify: alert,
        });
        n.onclick = () => { window.focus(); n.close(); };
      } catch { /* some browsers only notify from a service worker: the title still counts */ }
    }
    return true;
  }
}
