import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { peerKey, useContactsStore } from './contacts';
import { useAccountStore } from './account';
import { useUiStore } from './ui';
import { resetCoreServices, setCoreServices } from './core';
import { fakeCore, mockClientConfig, type FakePhone } from '../testing/fake-phone';

let core: ReturnType<typeof fakeCore>;

beforeEach(() => {
  setActivePinia(createPinia());
  core = fakeCore();
  setCoreServices(core.services);
});
afterEach(() => {
  resetCoreServices();
  vi.unstubAllGlobals();
});

async function signIn(): Promise<FakePhone> {
  mockClientConfig();
  const a = useAccountStore();
  await a.init();
  await a.signInDemo('1001');
  return core.phones[0]!;
}

describe('peerKey', () => {
  it('maps every spelling of a party to one key', () => {
    const k = 'sip:1002@localhost';
    expect(peerKey('1002', 'localhost')).toBe(k);
    expect(peerKey('1002@LocalHost', 'x')).toBe(k);
    expect(peerKey('"Bob" <sip:1002@localhost;transport=ws>', 'x')).toBe(k);
    expect(peerKey('+1 555 0100', 'example.com')).toBe('sip:+15550100@example.com');
  });
});

describe('contacts', () => {
  it('adds, edits and deletes contacts in IndexedDB', async () => {
    const store = useContactsStore();
    const c = await store.save({ name: 'Bob', uri: '1002', watchPresence: false });
    await store.save({ ...c, name: 'Robert' });
    setActivePinia(createPinia());
    const again = useContactsStore();
    await again.load();
    expect(again.contacts.map((x) => x.name)).toEqual(['Robert']);
    await again.remove(c.id);
    await again.load();
    expect(again.contacts).toEqual([]);
  });

  it('rejects a contact without a name or address', async () => {
    await expect(
      useContactsStore().save({ name: ' ', uri: '1002', watchPresence: false }),
    ).rejects.toThrow();
  });

  it('subscribes to presence when registered and shows NOTIFY results', async () => {
    const store = useContactsStore();
    const c = await store.save({ name: 'Bob', uri: '1002', watchPresence: true });
    const phone = await signIn();
    await vi.waitFor(() => expect(phone.subscribePresence).toHaveBeenCalledWith('1002'));
    phone.emit('presence', {
      target: 'sip:1002@localhost',
      status: 'open',
      subscription: 'active',
      note: 'At desk',
    });
    expect(store.presenceOf(c)).toMatchObject({ status: 'open', note: 'At desk' });
    phone.emit('presence', {
      target: 'sip:1002@localhost',
      status: 'open',
      subscription: 'terminated',
    });
    expect(store.presenceOf(c)?.status).toBe('unknown');
  });

  it('keeps a MESSAGE thread per peer, with unread counts', async () => {
    const phone = await signIn();
    const store = useContactsStore();
    phone.emit('message', {
      from: 'sip:1002@localhost',
      to: 'sip:1001@localhost',
      body: 'hi there',
      contentType: 'text/plain',
      receivedAt: 1,
    });
    await vi.waitFor(() => expect(store.threadOf('sip:1002@localhost')).toHaveLength(1));
    expect(store.unread['sip:1002@localhost']).toBe(1);
    store.openChat('sip:1002@localhost');
    expect(useUiStore().chatPeer).toBe('sip:1002@localhost');
    expect(store.unreadTotal).toBe(0);

    expect(await store.send('sip:1002@localhost', ' hello ')).toBe(true);
    expect(phone.sendMessage).toHaveBeenCalledWith('sip:1002@localhost', 'hello');
    expect(
      store.threadOf('sip:1002@localhost').map((m) => [m.direction, m.body, m.status]),
    ).toEqual([
      ['in', 'hi there', 'received'],
      ['out', 'hello', 'sent'],
    ]);

    phone.sendMessage.mockRejectedValueOnce(new Error('MESSAGE failed: 404'));
    expect(await store.send('sip:1002@localhost', 'anyone?')).toBe(false);
    expect(store.threadOf('sip:1002@localhost').at(-1)?.status).toBe('failed');

    // The thread is in IndexedDB.
    setActivePinia(createPinia());
    const again = useContactsStore();
    await again.load();
    expect(again.threadOf('sip:1002@localhost')).toHaveLength(3);
    expect(again.strangers).toEqual(['sip:1002@localhost']);
  });
});
