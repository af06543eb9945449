// The signed-in phone, handed from the account store to the stores that
// follow its events (calls, contacts, diagnostics, agent) without the account
// store importing them: they register here when created and are attached to
// the phone on sign-in (at once if one is already signed in) and detached on
// sign-out. This keeps the store imports one-way (architecture.test.ts).
import { defineStore } from 'pinia';
import { shallowRef } from 'vue';
import type { PhoneLike } from './core';

export interface SessionListener {
  /** A phone was signed in; returns what to undo on sign-out (e.g. `phone.on` unsubscribers). */
  attach(phone: PhoneLike): (() => void)[] | void;
  /** The phone was signed out (already stopped). */
  detach?(): void;
}

export const useSessionStore = defineStore('session', () => {
  const phone = shallowRef<PhoneLike | undefined>();
  const listeners = new Set<SessionListener>();
  const undo = new Map<SessionListener, (() => void)[]>();

  function run(l: SessionListener, p: PhoneLike): void {
    undo.set(l, l.attach(p) ?? []);
  }

  /** Follows every phone signed in from now on (and the current one). */
  function listen(l: SessionListener): () => void {
    listeners.add(l);
    if (phone.value) run(l, phone.value);
    return () => {
      for (const u of undo.get(l) ?? []) u();
      undo.delete(l);
      listeners.delete(l);
    };
  }

  function attach(p: PhoneLike): void {
    phone.value = p;
    for (const l of listeners) run(l, p);
  }

  function detach(): void {
    phone.value = undefined;
    for (const l of listeners) {
      for (const u of undo.get(l) ?? []) u();
      undo.delete(l);
      l.detach?.();
    }
  }

  return { phone, listen, attach, detach };
});
