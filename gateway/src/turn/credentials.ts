import { createHmac } from 'node:crypto';

/**
 * TURN REST API ephemeral credentials (draft-uberti-behave-turn-rest-00, what
 * coturn's use-auth-secret and Kamailio's auth_ephemeral implement):
 * username = "<expiry unix time>:<user>", password = base64(HMAC-SHA1(secret, username)).
 */
export function turnCredentials(
  secret: string,
  user: string,
  ttlSeconds: number,
  now = Date.now(),
): { username: string; credential: string } {
  const username = `${Math.floor(now / 1000) + ttlSeconds}:${user}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential };
}
