import { describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import { db, DB_NAME } from './db';
import { deleteSecret, loadSecret, saveSecret } from './secrets';
import { useAccountStore } from '../stores/account';
import { defaultSettings } from './settings';

const PASSWORD = 'Tr0ub4dor&3-very-secret';

/** Everything this origin keeps: localStorage plus every IndexedDB record, as text. */
async function everythingStored(): Promise<string> {
  const parts: string[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i) ?? '';
    parts.push(k, localStorage.getItem(k) ?? '');
  }
  const d = await db();
  for (const name of d.objectStoreNames) {
    const tx = d.transaction(name);
    for (const value of await tx.store.getAll()) {
      parts.push(
        JSON.stringify(value, (_k, v: unknown) => {
          if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
            const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer);
            // Both decodings, so neither UTF-8 nor Latin-1 plaintext can hide.
            return `${new TextDecoder().decode(bytes)}|${String.fromCharCode(...bytes)}`;
          }
          return v;
        }),
      );
    }
  }
  return parts.join('\n');
}

describe('secrets at rest', () => {
  it('round-trips a secret', async () => {
    await saveSecret('password', PASSWORD);
    expect(await loadSecret('password')).toBe(PASSWORD);
    await deleteSecret('password');
    expect(await loadSecret('password')).toBeUndefined();
  });

  it('stores only ciphertext and a 12-byte IV under a non-extractable AES-GCM key', async () => {
    await saveSecret('password', PASSWORD);
    const d = await db();
    const record = await d.get('secrets', 'password');
    expect(record?.iv.byteLength).toBe(12);
    expect(record?.data.byteLength).toBe(new TextEncoder().encode(PASSWORD).length + 16);
    const key = await d.get('keys', 'secrets-v1');
    expect(key?.algorithm.name).toBe('AES-GCM');
    expect(key?.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', key as CryptoKey)).rejects.toThrow();
    expect(await everythingStored()).not.toContain(PASSWORD);
  });

  it('uses a fresh IV each time', async () => {
    await saveSecret('password', PASSWORD);
    const a = await (await db()).get('secrets', 'password');
    await saveSecret('password', PASSWORD);
    const b = await (await db()).get('secrets', 'password');
    expect([...(a?.iv ?? [])]).not.toEqual([...(b?.iv ?? [])]);
  });

  it('treats a tampered or swapped record as absent', async () => {
    await saveSecret('password', PASSWORD);
    await saveSecret('other', 'x');
    const d = await db();
    const rec = await d.get('secrets', 'password');
    if (!rec) throw new Error('missing');
    // Bound to its name: the same ciphertext under another name does not decrypt.
    await d.put('secrets', rec, 'other');
    expect(await loadSecret('other')).toBeUndefined();
    const flipped = new Uint8Array(rec.data.slice(0));
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    await d.put('secrets', { iv: rec.iv, data: flipped.buffer }, 'password');
    expect(await loadSecret('password')).toBeUndefined();
  });

  it('saving an account through the store never puts the password or TURN credential in storage', async () => {
    setActivePinia(createPinia());
    const account = useAccountStore();
    const s = defaultSettings();
    await account.saveAccount({
      account: {
        wsUrl: 'wss://pbx.example.com:8089/ws',
        sipUri: 'sip:2001@pbx.example.com',
        authUser: '2001',
        displayName: 'Front desk',
        pbxPreset: 'asterisk',
      },
      webrtc: {
        ...s.webrtc,
        iceServers: [
          { urls: 'turn:turn.example.com:3478', username: 'turnuser', credential: 'TurnCred-42' },
        ],
      },
      call: s.call,
      autoLogin: true,
      password: PASSWORD,
    });
    const stored = await everythingStored();
    expect(stored).toContain('sip:2001@pbx.example.com'); // settings are there...
    expect(stored).not.toContain(PASSWORD); // ...the password is not
    expect(stored).not.toContain('TurnCred-42');
    expect(account.hasSavedPassword).toBe(true);
    expect(await loadSecret('password')).toBe(PASSWORD);
    expect((await account.iceServersForEditing())[0]?.credential).toBe('TurnCred-42');
    expect(DB_NAME).toBe('softphone');
  });
});
