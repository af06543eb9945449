import { createHash } from 'node:crypto';

/** HA1 = MD5(username ":" realm ":" password) — RFC 2617 §3.2.2.2, what Kamailio's auth checks against. */
export function computeHa1(username: string, realm: string, password: string): string {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest('hex');
}
