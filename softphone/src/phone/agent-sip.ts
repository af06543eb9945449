// The contact center's SIP-side helpers, in the core's main chunk (the Phone
// needs them for every INVITE and for its credentials): HTTP Digest from an
// HA1 (RFC 7616, MD5, qop=auth) for the agent API's sign-in, and the headers
// of the call-control tier's INVITEs (X-Queue…, X-Monitor). The AgentClient
// itself (agent.ts) is a chunk of its own.
import { Md5 } from 'sip.js/lib/core/messages/md5.js';

export class AgentError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

// --- HTTP Digest (RFC 7616, MD5, qop=auth) --------------------------------------------

export const md5Hex = (s: string): string => Md5.hashStr(s);

export function digestHa1(username: string, realm: string, password: string): string {
  return md5Hex(`${username}:${realm}:${password}`);
}

export interface DigestChallenge {
  realm: string;
  nonce: string;
  qop?: string;
  opaque?: string;
  algorithm?: string;
  stale?: boolean;
}

/** Parses `WWW-Authenticate: Digest realm="…", nonce="…", …` (undefined if not Digest). */
export function parseDigestChallenge(
  header: string | null | undefined,
): DigestChallenge | undefined {
  const m = /^\s*Digest\s+(.*)$/is.exec(header ?? '');
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[1] ?? '').matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[(p[1] ?? '').toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  if (params.realm === undefined || !params.nonce) return undefined;
  return {
    realm: params.realm,
    nonce: params.nonce,
    qop: params.qop,
    opaque: params.opaque,
    algorithm: params.algorithm,
    stale: params.stale?.toLowerCase() === 'true',
  };
}

/** The Authorization header answering a challenge (qop=auth when offered, as RFC 7616 wants). */
export function digestAuthorization(opts: {
  challenge: DigestChallenge;
  username: string;
  ha1: string;
  method: string;
  uri: string;
  cnonce: string;
  nc?: number;
}): string {
  const { challenge: c, username, ha1, method, uri, cnonce } = opts;
  const alg = c.algorithm ?? 'MD5';
  if (!/^MD5$/i.test(alg)) throw new AgentError(`unsupported digest algorithm ${alg}`);
  const qops = (c.qop ?? '').split(',').map((q) => q.trim().toLowerCase());
  const auth = qops.includes('auth');
  if (c.qop && !auth) throw new AgentError(`unsupported qop ${c.qop}`);
  const nc = (opts.nc ?? 1).toString(16).padStart(8, '0');
  const ha2 = md5Hex(`${method}:${uri}`);
  const response = auth
    ? md5Hex(`${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${ha2}`)
    : md5Hex(`${ha1}:${c.nonce}:${ha2}`);
  const q = (s: string) => `"${s.replace(/["\\]/g, '\\$&')}"`;
  const parts = [
    `username=${q(username)}`,
    `realm=${q(c.realm)}`,
    `nonce=${q(c.nonce)}`,
    `uri=${q(uri)}`,
    `algorithm=MD5`,
    ...(auth ? [`qop=auth`, `nc=${nc}`, `cnonce=${q(cnonce)}`] : []),
    `response=${q(response)}`,
    ...(c.opaque !== undefined ? [`opaque=${q(c.opaque)}`] : []),
  ];
  return `Digest ${parts.join(', ')}`;
}

// --- the SIP side of an offer -------------------------------------------------------

/** What the call-control tier puts on the INVITE that offers a queue call to an agent. */
export interface QueueCallInfo {
  queue: string;
  callId: string;
  waitedSec?: number;
}

export function parseQueueHeaders(
  header: (name: string) => string | undefined,
): QueueCallInfo | undefined {
  const queue = header('X-Queue')?.trim();
  const callId = header('X-Queue-Call')?.trim();
  if (!queue || !callId) return undefined;
  const waited = Number(header('X-Caller-Waited')?.trim());
  return {
    queue,
    callId,
    ...(Number.isFinite(waited) && waited >= 0 ? { waitedSec: waited } : {}),
  };
}

export type MonitorMode = 'listen' | 'whisper' | 'barge';

/**
 * A monitoring leg from the call-control tier (API.md "Listen, whisper,
 * barge"): `X-Monitor: <mode>;id=…;queue-call=…;agent=…` on the supervisor's
 * INVITE, `…;supervisor=…` on the agent's whisper leg. Kamailio strips the
 * header from anyone else's INVITE. `mode` follows INFO mode changes.
 */
export interface MonitorLeg {
  mode: MonitorMode;
  id: string;
  queueCall: string;
  agent?: string;
  supervisor?: string;
}

export function parseMonitorHeader(value: string | undefined): MonitorLeg | undefined {
  const m = /^\s*(listen|whisper|barge)\s*;(.*)$/.exec(value ?? '');
  const p = new URLSearchParams(m?.[2]?.trim().replace(/\s*;\s*/g, '&'));
  const id = p.get('id');
  const queueCall = p.get('queue-call');
  if (!m || !id || !queueCall) return undefined;
  const leg: MonitorLeg = { mode: m[1] as MonitorMode, id, queueCall };
  if (p.get('agent')) leg.agent = p.get('agent')!;
  if (p.get('supervisor')) leg.supervisor = p.get('supervisor')!;
  return leg;
}
