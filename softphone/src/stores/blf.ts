// Presence and BLF for every user: watches colleagues (the other users of the
// gateway's directory that it hands out, keys the user added, and contacts
// who are watched) through the core's `dialog` (RFC 4235: idle, ringing,
// busy) and `presence` (PIDF: open, closed, away) subscriptions, and publishes
// the user's own presence (an agent who is not ready shows as away). Not part
// of the first load: App.vue starts it right after the first render.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type {
  AgentPresence,
  DialogEvent,
  LineState,
  OwnPresence,
  PresenceEvent,
  PresenceStatus,
  PresenceSubscription,
} from '../phone';
import { i18n, registerMessages } from '../i18n';
import en from '../i18n/blf.en';
import zhCN from '../i18n/blf.zh-CN';
import { useAccountStore } from './account';
import { useAgentStore } from './agent';
import { peerKey, useContactsStore } from './contacts';
import { useSessionStore } from './session';
import { useUiStore } from './ui';
import type { PhoneLike } from './core';

export type { LineState };

/** What a BLF key shows: the line first (ringing, busy), then presence. */
export type BlfStatus = 'idle' | 'ringing' | 'busy' | 'away' | 'offline' | 'unknown';

export interface BlfKey {
  /** sip:user@domain (peerKey). */
  key: string;
  name: string;
  source: 'colleague' | 'contact' | 'custom';
}

interface Presence {
  status: PresenceStatus;
  away: boolean;
  note?: string;
  /** Their contact-center state, when they are an agent (published by the gateway). */
  agent?: AgentPresence;
}

const CUSTOM_KEY = 'softphone.blf';

function loadCustom(): { uri: string; name: string }[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(CUSTOM_KEY) ?? '[]');
    return Array.isArray(v)
      ? v.filter(
          (x): x is { uri: string; name: string } =>
            typeof x === 'object' &&
            x !== null &&
            typeof (x as { uri?: unknown }).uri === 'string' &&
            typeof (x as { name?: unknown }).name === 'string',
        )
      : [];
  } catch {
    return [];
  }
}

/**
 * The line state and presence combined into what a key shows: the line
 * first, then the contact-center state of an agent (a queue call or its
 * wrap-up is busy, paused is away), then what their phone publishes.
 */
export function blfStatus(line: LineState | undefined, p: Presence | undefined): BlfStatus {
  if (line === 'ringing' || line === 'busy') return line;
  const agent = p?.agent?.state;
  if (agent === 'on-call' || agent === 'wrap-up') return 'busy';
  if (agent === 'offered') return 'ringing';
  if (agent === 'not-ready') return 'away';
  if (p?.status === 'closed') return 'offline';
  if (p?.status === 'open' && p.away) return 'away';
  if (line === 'idle' || p?.status === 'open') return 'idle';
  return 'unknown';
}

/** What the user publishes: available, or away while not ready as an agent. */
export function ownPresence(agentState: string | undefined, reason: string | null): OwnPresence {
  if (agentState === 'not-ready') return { status: 'open', away: true, note: reason ?? 'Away' };
  return { status: 'open' };
}

registerMessages({ en, 'zh-CN': zhCN });

export const useBlfStore = defineStore('blf', () => {
  const lines = ref<Record<string, LineState>>({});
  const presence = ref<Record<string, Presence>>({});
  const custom = ref(loadCustom());
  const registered = ref(false);
  const dialogSubs = new Map<string, PresenceSubscription>();
  const presenceSubs = new Map<string, PresenceSubscription>();
  let phone: PhoneLike | undefined;

  const t = (key: string, params?: Record<string, unknown>) =>
    params ? i18n.global.t(key, params) : i18n.global.t(key);
  const account = useAccountStore();
  const contacts = useContactsStore();
  const agent = useAgentStore();

  const domain = () => account.identity?.domain || account.effectiveDomain || 'localhost';
  const keyOf = (target: string) => peerKey(target, domain());
  const self = computed(() => (account.identity ? keyOf(account.identity.uri) : ''));

  /** Everyone watched, once each (a colleague who is also a contact shows the contact's name). */
  const keys = computed<BlfKey[]>(() => {
    const out = new Map<string, BlfKey>();
    const add = (uri: string, name: string, source: BlfKey['source']) => {
      const key = keyOf(uri);
      if (!key || key === self.value) return;
      const had = out.get(key);
      if (!had || source !== 'colleague') out.set(key, { key, name: name || key, source });
    };
    for (const d of account.demoAccounts) add(d.username, d.displayName || d.username, 'colleague');
    for (const c of custom.value) add(c.uri, c.name, 'custom');
    for (const c of contacts.contacts) if (c.watchPresence) add(c.uri, c.name, 'contact');
    return [...out.values()].sort((a, b) => a.name.localeCompare(b.name));
  });

  function statusOf(target: string): BlfStatus {
    const k = keyOf(target);
    return blfStatus(lines.value[k], presence.value[k]);
  }

  function noteOf(target: string): string | undefined {
    return presence.value[keyOf(target)]?.note;
  }

  /** An agent's contact-center state in words ("Wrap-up", "Paused: Lunch"), if they are one. */
  function agentLabelOf(target: string): string | undefined {
    const a = presence.value[keyOf(target)]?.agent;
    if (!a) return undefined;
    const key = `blf.agent.${a.state}`;
    if (!i18n.global.te(key)) return a.note;
    return a.state === 'not-ready' && a.reason
      ? t('blf.agent.pausedFor', { reason: a.reason })
      : t(key);
  }

  // --- subscriptions ---------------------------------------------------------------

  /** Subscribes what is watched and not yet subscribed; ends what is no longer watched. */
  function sync(): void {
    const p = phone;
    if (!p || !registered.value) return;
    const wanted = new Map(keys.value.map((k) => [k.key, k]));
    // Contacts with watchPresence have their presence subscribed by the contacts store.
    const contactWatched = new Set(
      contacts.contacts.filter((c) => c.watchPresence).map((c) => keyOf(c.uri)),
    );
    for (const [key, sub] of dialogSubs) {
      if (wanted.has(key)) continue;
      dialogSubs.delete(key);
      delete lines.value[key];
      void sub.unsubscribe().catch(() => undefined);
    }
    for (const [key, sub] of presenceSubs) {
      if (wanted.has(key) && !contactWatched.has(key)) continue;
      presenceSubs.delete(key);
      void sub.unsubscribe().catch(() => undefined);
    }
    for (const key of wanted.keys()) {
      try {
        if (!dialogSubs.has(key)) dialogSubs.set(key, p.subscribeDialog(key));
        if (!contactWatched.has(key) && !presenceSubs.has(key))
          presenceSubs.set(key, p.subscribePresence(key));
      } catch {
        // Not connected: the next registration subscribes again.
      }
    }
  }

  function onDialog(ev: DialogEvent): void {
    const key = keyOf(ev.target);
    const before = lines.value[key];
    lines.value[key] = ev.state;
    if (before && before !== ev.state && (ev.state === 'ringing' || before === 'ringing')) {
      const name = keys.value.find((k) => k.key === key)?.name ?? key;
      useUiStore().announce(t('blf.announce', { name, state: t(`blf.status.${ev.state}`) }));
    }
  }

  function onPresence(ev: PresenceEvent): void {
    presence.value[keyOf(ev.target)] = {
      status: ev.subscription === 'terminated' ? 'unknown' : ev.status,
      away: !!ev.away,
      ...(ev.note ? { note: ev.note } : {}),
      ...(ev.agent && ev.subscription !== 'terminated' ? { agent: ev.agent } : {}),
    };
  }

  // --- our own presence -------------------------------------------------------------

  const own = computed(() =>
    ownPresence(agent.isAgent ? agent.view?.state : undefined, agent.view?.reason ?? null),
  );
  watch(own, (p) => phone?.setPresence(p), { deep: true });

  // --- keys the user adds -------------------------------------------------------------

  function addKey(uri: string, name: string): boolean {
    const u = uri.trim();
    if (!u) return false;
    const key = keyOf(u);
    if (custom.value.some((c) => keyOf(c.uri) === key)) return false;
    custom.value = [...custom.value, { uri: u, name: name.trim() || u }];
    persist();
    return true;
  }

  function removeKey(key: string): void {
    custom.value = custom.value.filter((c) => keyOf(c.uri) !== key);
    persist();
  }

  function persist(): void {
    try {
      localStorage.setItem(CUSTOM_KEY, JSON.stringify(custom.value));
    } catch {
      // Private mode: the keys last for this page.
    }
  }

  watch(keys, () => sync(), { deep: true });

  useSessionStore().listen({
    attach: (p) => {
      phone = p;
      p.setPresence(own.value);
      return [
        p.on('registration', (ev) => {
          registered.value = ev.state === 'registered';
          // The core subscribes its watches again after a reconnect by itself.
          if (registered.value) setTimeout(sync, 0);
        }),
        p.on('dialog', onDialog),
        p.on('presence', onPresence),
      ];
    },
    detach: () => {
      phone = undefined;
      registered.value = false;
      dialogSubs.clear();
      presenceSubs.clear();
      lines.value = {};
      presence.value = {};
    },
  });
  // Started after sign-in (App.vue loads this store at idle): catch up.
  if (account.registered) {
    registered.value = true;
    sync();
  }

  return {
    keys,
    lines,
    presence,
    custom,
    own,
    keyOf,
    statusOf,
    noteOf,
    agentLabelOf,
    addKey,
    removeKey,
    sync,
  };
});
