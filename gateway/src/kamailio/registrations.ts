import { EventEmitter } from 'node:events';
import type { RegistrationEvent } from './events.js';

// Who is registered now, as far as the service can tell from Kamailio's
// registration events (route REGISTRATION_EVENT and websocket:closed in
// kamailio.cfg): each REGISTER says how many contacts the user has left and
// when the last of them expires. Kamailio 5.6's usrloc raises no event when a
// contact merely expires, so a timer here stands in for it, a little after the
// registrar's own expiry.

/** Past the registrar's expiry before we call a user gone: a refresh in flight is not a loss. */
const GRACE_MS = 5000;

export interface RegistrationsEvents {
  /** A user went from none to some registered contacts, or from some to none. */
  changed: (username: string, registered: boolean) => void;
}

interface Entry {
  contacts: number;
  timer?: NodeJS.Timeout;
}

export class Registrations extends EventEmitter {
  private readonly users = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {
    super();
  }

  override on<E extends keyof RegistrationsEvents>(
    event: E,
    listener: RegistrationsEvents[E],
  ): this {
    return super.on(event, listener);
  }

  isRegistered(username: string): boolean {
    return (this.users.get(username)?.contacts ?? 0) > 0;
  }

  apply(e: RegistrationEvent): void {
    const before = this.isRegistered(e.user);
    const entry = this.users.get(e.user) ?? { contacts: 0 };
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (e.event === 'ws-closed') {
      // One contact went with its connection; the others (another tab, a desk phone) stay.
      entry.contacts = Math.max(0, entry.contacts - 1);
    } else {
      entry.contacts = e.contacts;
      if (e.contacts > 0 && e.expires > 0) {
        // usrloc gives absolute unix seconds; a small number would be seconds from now
        const expiresMs = e.expires > 1e9 ? e.expires * 1000 - this.now() : e.expires * 1000;
        entry.timer = setTimeout(() => this.expire(e.user), Math.max(0, expiresMs) + GRACE_MS);
        entry.timer.unref();
      }
    }
    this.users.set(e.user, entry);
    const after = entry.contacts > 0;
    if (before !== after) this.emit('changed', e.user, after);
  }

  private expire(user: string): void {
    const entry = this.users.get(user);
    if (!entry || entry.contacts === 0) return;
    entry.contacts = 0;
    entry.timer = undefined;
    this.emit('changed', user, false);
  }

  stop(): void {
    for (const e of this.users.values()) if (e.timer) clearTimeout(e.timer);
    this.users.clear();
  }
}
