import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// Agent sign-in with the user's own SIP credentials: HTTP Digest (RFC 7616,
// MD5, qop=auth) checked against the directory's HA1 — the same secret the
// registrar checks, so the password never travels and is never stored in
// clear — then a short-lived HMAC token for the API and the event stream.

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The parameters of an `Authorization: Digest ...` header (quoted or not). */
export function parseDigest(header: string): Record<string, string> | null {
  const m = /^Digest\s+(.*)$/is.exec(header.trim());
  if (!m) return null;
  const out: Record<string, string> = {};
  const re = /([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/gi;
  for (let p = re.exec(m[1]!); p; p = re.exec(m[1]!))
    out[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
  return out;
}

export type DigestResult =
  | { ok: true; username: string }
  | { ok: false; status: 401; stale: boolean; error: string }
  | { ok: false; status: 403; error: string };

interface NonceState {
  opaque: string;
  expires: number;
  /** Highest nonce count seen: a replayed or reordered request is refused. */
  nc: number;
}

/** Upper bound on outstanding nonces: a flood of unauthenticated POSTs cannot grow memory. */
const MAX_NONCES = 10_000;

export class DigestAuth {
  private readonly nonces = new Map<string, NonceState>();

  constructor(
    readonly realm: string,
    private readonly nonceTtlSec = 300,
  ) {}

  /** A fresh WWW-Authenticate value (stale=true: the old nonce expired, the password was fine). */
  challenge(stale = false): string {
    const now = Date.now();
    for (const [n, s] of this.nonces) if (s.expires <= now) this.nonces.delete(n);
    while (this.nonces.size >= MAX_NONCES) {
      const oldest = this.nonces.keys().next().value;
      if (oldest === undefined) break;
      this.nonces.delete(oldest);
    }
    const nonce = randomBytes(16).toString('hex');
    const opaque = randomBytes(8).toString('hex');
    this.nonces.set(nonce, { opaque, expires: now + this.nonceTtlSec * 1000, nc: 0 });
    return (
      `Digest realm="${this.realm}", nonce="${nonce}", qop="auth", algorithm=MD5, opaque="${opaque}"` +
      (stale ? ', stale=true' : '')
    );
  }

  /** Check a response; `ha1Of` is the directory (undefined: no such user). */
  verify(
    method: string,
    path: string,
    header: string,
    ha1Of: (username: string) => string | undefined,
  ): DigestResult {
    const p = parseDigest(header);
    const bad = (error: string): DigestResult => ({ ok: false, status: 403, error });
    if (!p) return { ok: false, status: 401, stale: false, error: 'Digest credentials required' };
    const { username, realm, nonce, uri, response, qop, nc, cnonce, opaque } = p;
    if (!username || !nonce || !uri || !response || !nc || !cnonce)
      return bad('incomplete Digest credentials');
    if (realm !== this.realm) return bad(`realm must be "${this.realm}"`);
    if (p.algorithm && p.algorithm.toUpperCase() !== 'MD5') return bad('algorithm must be MD5');
    if (qop !== 'auth') return bad('qop must be auth');
    if (uri !== path) return bad('uri does not match the request');
    const state = this.nonces.get(nonce);
    if (!state || state.expires <= Date.now())
      return { ok: false, status: 401, stale: true, error: 'nonce expired; sign in again' };
    if (opaque !== state.opaque) return bad('opaque does not match');
    const count = parseInt(nc, 16);
    if (!Number.isFinite(count) || count <= state.nc) return bad('nonce count reused');
    state.nc = count;
    const ha1 = ha1Of(username);
    // Unknown user: the same work and the same answer as a wrong password.
    const expected = md5(
      `${ha1 ?? '0'.repeat(32)}:${nonce}:${nc}:${cnonce}:${qop}:${md5(`${method}:${uri}`)}`,
    );
    if (!safeEqual(expected, response.toLowerCase()) || ha1 === undefined)
      return bad('wrong username or password');
    return { ok: true, username };
  }
}

/** `base64url(JSON{u,exp}).base64url(HMAC-SHA256)`: stateless, so a restart keeps agents signed in. */
export class Tokens {
  constructor(
    private readonly secret: string,
    readonly ttlSec = 3600,
  ) {}

  issue(username: string): { token: string; expiresAt: string } {
    const exp = Date.now() + this.ttlSec * 1000;
    const payload = Buffer.from(JSON.stringify({ u: username, exp })).toString('base64url');
    return { token: `${payload}.${this.sign(payload)}`, expiresAt: new Date(exp).toISOString() };
  }

  /** The username, or null for a forged, malformed or expired token. */
  verify(token: string): string | null {
    const [payload, sig, extra] = token.split('.');
    if (!payload || !sig || extra !== undefined || !safeEqual(sig, this.sign(payload))) return null;
    try {
      const { u, exp } = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
        u?: unknown;
        exp?: unknown;
      };
      return typeof u === 'string' && typeof exp === 'number' && exp > Date.now() ? u : null;
    } catch {
      return null;
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}
