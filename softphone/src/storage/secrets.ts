// Secrets at rest (the SIP password, TURN credentials): AES-GCM under a
// non-extractable CryptoKey that lives in IndexedDB. Script can use the key but
// never read its bytes, so a copy of the storage (backup, disk image, a synced
// profile folder) holds ciphertext only. What is stored: {iv, data}, never the
// plaintext. This does not defend against script running in this origin (XSS),
// which could ask the browser to decrypt; nothing in a browser can.
import { db, type EncryptedSecret } from './db';

const KEY_ID = 'secrets-v1';
const IV_BYTES = 12;

let keyPromise: Promise<CryptoKey> | undefined;

async function loadOrCreateKey(): Promise<CryptoKey> {
  const d = await db();
  const existing = await d.get('keys', KEY_ID);
  if (existing) return existing;
  const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, [
    'encrypt',
    'decrypt',
  ]);
  // add() fails if another tab stored a key first; then use theirs.
  try {
    await d.add('keys', key, KEY_ID);
    return key;
  } catch {
    const winner = await d.get('keys', KEY_ID);
    if (!winner) throw new Error('could not store the secret key');
    return winner;
  }
}

function secretKey(): Promise<CryptoKey> {
  keyPromise ??= loadOrCreateKey().catch((err: unknown) => {
    keyPromise = undefined;
    throw err;
  });
  return keyPromise;
}

/** Additional authenticated data binds each ciphertext to its name (no swapping records). */
function aad(name: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`softphone:${name}`);
}

export async function encryptSecret(name: string, plaintext: string): Promise<EncryptedSecret> {
  const key = await secretKey();
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const data = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: aad(name) },
    key,
    new TextEncoder().encode(plaintext),
  );
  return { iv, data };
}

export async function decryptSecret(name: string, secret: EncryptedSecret): Promise<string> {
  const key = await secretKey();
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: secret.iv, additionalData: aad(name) },
    key,
    secret.data,
  );
  return new TextDecoder().decode(plain);
}

/** Encrypts and stores a secret under `name`; an empty value deletes it. */
export async function saveSecret(name: string, plaintext: string): Promise<void> {
  if (!plaintext) return deleteSecret(name);
  const record = await encryptSecret(name, plaintext);
  await (await db()).put('secrets', record, name);
}

/** The stored secret, or undefined when there is none or it cannot be decrypted. */
export async function loadSecret(name: string): Promise<string | undefined> {
  const record = await (await db()).get('secrets', name);
  if (!record) return undefined;
  try {
    return await decryptSecret(name, record);
  } catch {
    // Key lost or record tampered with: treat as absent.
    return undefined;
  }
}

export async function deleteSecret(name: string): Promise<void> {
  await (await db()).delete('secrets', name);
}

/** Tests only. */
export function forgetCachedKey(): void {
  keyPromise = undefined;
}
