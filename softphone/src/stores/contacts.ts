// Contacts (IndexedDB), their presence (SUBSCRIBE/NOTIFY through the core) and
// SIP MESSAGE chat threads per peer (IndexedDB).
import { whenIdle } from '../phone/idle';
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type {
  IncomingMessage,
  PresenceEvent,
  PresenceStatus,
  PresenceSubscription,
  PresenceSubscriptionState,
} from '../phone';
import { i18n } from '../i18n';
import { db, newId, type ChatMessage, type Contact } from '../storage/db';
import { useAccountStore } from './account';
import { useSessionStore } from './session';
import { useUiStore } from './ui';

export type { Contact, ChatMessage };

/**
 * A stable key for a party: "sip:user@host" (no parameters, no display name,
 * lower-case host), so "1002", "1002@localhost" and "<sip:1002@localhost;transport=ws>"
 * are the same peer.
 */
export function peerKey(target: string, domain: string): string {
  let t = target.trim().replace(/^.*<([^>]+)>.*$/, '$1');
  if (!/^sips?:/i.test(t)) {
    if (!t.includes('@')) t = `${t.replace(/[\s().-]/g, '')}@${domain}`;
    t = `sip:${t}`;
  }
  const m = /^(sips?):([^@;?]+)@([^;?>]+)/i.exec(t);
  if (!m) return t.toLowerCase();
  return `${m[1]?.toLowerCase()}:${m[2]}@${m[3]?.toLowerCase()}`;
}

export interface PresenceInfo {
  status: PresenceStatus;
  note?: string;
  subscription: PresenceSubscriptionState;
}

export const useContactsStore = defineStore('contacts', () => {
  const contacts = ref<Contact[]>([]);
  const presence = ref<Record<string, PresenceInfo>>({});
  const messages = ref<Record<string, ChatMessage[]>>({});
  const unread = ref<Record<string, number>>({});
  const loaded = ref(false);
  const subscriptions = new Map<string, PresenceSubscription>();

  const t = (key: string, params?: Record<string, unknown>) =>
    params ? i18n.global.t(key, params) : i18n.global.t(key);

  function domain(): string {
    const a = useAccountStore();
    return a.identity?.domain || a.effectiveDomain || 'localhost';
  }
  const keyOf = (target: string) => peerKey(target, domain());

  const sorted = computed(() => [...contacts.value].sort((a, b) => a.name.localeCompare(b.name)));
  const unreadTotal = computed(() => Object.values(unread.value).reduce((a, b) => a + b, 0));
  /** Peers we have messages with that are not contacts. */
  const strangers = computed(() => {
    const known = new Set(contacts.value.map((c) => keyOf(c.uri)));
    return Object.keys(messages.value).filter((p) => !known.has(p));
  });

  function presenceOf(c: Contact): PresenceInfo | undefined {
    return presence.value[keyOf(c.uri)];
  }
  function contactFor(peer: string): Contact | undefined {
    return contacts.value.find((c) => keyOf(c.uri) === peer);
  }
  function threadOf(peer: string): ChatMessage[] {
    return messages.value[peer] ?? [];
  }

  async function load(): Promise<void> {
    const d = await db();
    contacts.value = await d.getAll('contacts');
    const all = await d.getAll('messages');
    const byPeer: Record<string, ChatMessage[]> = {};
    for (const m of all) (byPeer[m.peer] ??= []).push(m);
    for (const list of Object.values(byPeer)) list.sort((a, b) => a.time - b.time);
    messages.value = byPeer;
    loaded.value = true;
  }

  async function save(input: Omit<Contact, 'id'> & { id?: string }): Promise<Contact> {
    const contact: Contact = {
      id: input.id ?? newId(),
      name: input.name.trim(),
      uri: input.uri.trim(),
      watchPresence: input.watchPresence,
      ...(input.note ? { note: input.note } : {}),
    };
    if (!contact.name || !contact.uri) throw new Error(t('contacts.invalid'));
    const before = contacts.value.find((c) => c.id === contact.id);
    await (await db()).put('contacts', contact);
    contacts.value = [...contacts.value.filter((c) => c.id !== contact.id), contact];
    if (before && (before.uri !== contact.uri || !contact.watchPresence)) await unwatch(contact.id);
    if (contact.watchPresence && useAccountStore().registered) subscribe(contact);
    return contact;
  }

  async function remove(id: string): Promise<void> {
    await unwatch(id);
    await (await db()).delete('contacts', id);
    contacts.value = contacts.value.filter((c) => c.id !== id);
  }

  // --- presence -------------------------------------------------------------------

  function subscribe(c: Contact): void {
    const phone = useAccountStore().phone;
    if (!phone || subscriptions.has(c.id)) return;
    try {
      subscriptions.set(c.id, phone.subscribePresence(c.uri));
    } catch {
      // Not connected: retried at the next registration.
    }
  }

  async function unwatch(id: string): Promise<void> {
    const s = subscriptions.get(id);
    subscriptions.delete(id);
    if (s) {
      delete presence.value[peerKey(s.target, domain())];
      await s.unsubscribe().catch(() => undefined);
    }
  }

  function onPresence(ev: PresenceEvent): void {
    presence.value[keyOf(ev.target)] = {
      status: ev.subscription === 'terminated' ? 'unknown' : ev.status,
      note: ev.note,
      subscription: ev.subscription,
    };
  }

  async function onSignedIn(): Promise<void> {
    if (!loaded.value) await load().catch(() => undefined);
  }

  async function onRegistered(): Promise<void> {
    if (!loaded.value) await load().catch(() => undefined);
    for (const c of contacts.value) if (c.watchPresence) subscribe(c);
  }

  function onSignedOut(): void {
    subscriptions.clear();
    presence.value = {};
  }

  // --- messages -------------------------------------------------------------------

  async function store(m: ChatMessage): Promise<ChatMessage> {
    const id = await (await db()).put('messages', { ...m });
    return { ...m, id };
  }

  function append(m: ChatMessage): void {
    messages.value[m.peer] = [...(messages.value[m.peer] ?? []), m];
  }

  async function onMessage(m: IncomingMessage): Promise<void> {
    if (!/^text\//i.test(m.contentType)) return; // e.g. message-summary, is-composing
    const peer = keyOf(m.from);
    const saved = await store({
      peer,
      direction: 'in',
      body: m.body,
      time: m.receivedAt,
      status: 'received',
    }).catch(() => undefined);
    append(
      saved ?? { peer, direction: 'in', body: m.body, time: m.receivedAt, status: 'received' },
    );
    const ui = useUiStore();
    if (!(ui.view === 'contacts' && ui.chatPeer === peer)) {
      unread.value[peer] = (unread.value[peer] ?? 0) + 1;
    }
    const who = contactFor(peer)?.name ?? m.fromDisplayName ?? peer;
    ui.announce(`${who}: ${m.body}`);
  }

  async function send(peer: string, body: string): Promise<boolean> {
    const text = body.trim();
    const phone = useAccountStore().phone;
    if (!text) return false;
    if (!phone) {
      useUiStore().toast(t('contacts.signInToChat'));
      return false;
    }
    let msg = await store({
      peer,
      direction: 'out',
      body: text,
      time: Date.now(),
      status: 'pending',
    });
    append(msg);
    const setStatus = async (status: ChatMessage['status']) => {
      msg = { ...msg, status };
      messages.value[peer] = threadOf(peer).map((x) => (x.id === msg.id ? msg : x));
      await (await db()).put('messages', { ...msg }).catch(() => undefined);
    };
    try {
      await phone.sendMessage(peer, text);
      await setStatus('sent');
      return true;
    } catch {
      await setStatus('failed');
      return false;
    }
  }

  function openChat(peer: string): void {
    const ui = useUiStore();
    ui.chatPeer = peer;
    unread.value[peer] = 0;
  }

  async function clearThread(peer: string): Promise<void> {
    const d = await db();
    const keys = await d.getAllKeysFromIndex('messages', 'peer', peer);
    const tx = d.transaction('messages', 'readwrite');
    await Promise.all([...keys.map((k) => tx.store.delete(k)), tx.done]);
    delete messages.value[peer];
  }

  useSessionStore().listen({
    attach: (p) => {
      void onSignedIn();
      return [
        p.on('registration', (ev) => {
          // After the badge has rendered "registered": presence can wait for an idle moment.
          if (ev.state === 'registered') whenIdle(() => void onRegistered());
        }),
        p.on('message', (m) => void onMessage(m)),
        p.on('presence', (ev) => onPresence(ev)),
      ];
    },
    detach: onSignedOut,
  });

  return {
    contacts,
    sorted,
    presence,
    messages,
    unread,
    unreadTotal,
    strangers,
    loaded,
    keyOf,
    presenceOf,
    contactFor,
    threadOf,
    load,
    save,
    remove,
    onPresence,
    onSignedIn,
    onRegistered,
    onSignedOut,
    onMessage,
    send,
    openChat,
    clearThread,
  };
});
