import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../gateway/src/main.js';
import type { TrunkRegistration } from '../../gateway/src/kamailio/rpcStatus.js';
import { portsFor, startStack, type Stack } from './harness/stack.js';
import { receivedRequests, startUas, type SippOptions, type SippProcess } from './harness/sipp.js';
import { until } from './harness/wait.js';

// Kamailio's uac module registers trunks with `register: true` and refreshes
// and retries them on its own; the gateway reads how that stands over
// Kamailio's RPC and reports it (admin API, /healthz, gateway_trunk_registered).
// Three carriers played by sipp, one trunk each, on one stack:
//  - "refresh" grants 20 s registrations: a second REGISTER comes before they
//    run out and the trunk stays registered;
//  - "refused" answers 403: reported failed with 403, and tried again;
//  - "silent" registers, then its sipp goes away: reported failed (timeout)
//    and tried again; once it is back, registered again.
// Outcomes only (REGISTERs sipp received, API and metric values); the waits
// are bounds, never assertions on timing. Ports: base 19250.

const BASE = 19250;
const ports = portsFor(BASE);
const ART = join(REPO_ROOT, 'test', 'artifacts', 'integration', 'trunk-registration-carriers');
const GRANT_SEC = 20;

const CARRIERS = {
  refresh: { ip: '127.0.0.2', port: ports.client(20), user: 'acct-refresh', pass: 'reg-pass-1' },
  refused: { ip: '127.0.0.3', port: ports.client(21), user: 'acct-refused', pass: 'reg-pass-2' },
  silent: { ip: '127.0.0.4', port: ports.client(22), user: 'acct-silent', pass: 'reg-pass-3' },
} as const;
type Name = keyof typeof CARRIERS;

let stack: Stack;
const sipps: Partial<Record<Name, SippProcess>> = {};
let generation = 0;

/** A carrier's registrar (sipp UAS on its own address), its messages under ART. */
function carrierOptions(name: Name): SippOptions {
  const c = CARRIERS[name];
  return {
    scenario: name === 'refused' ? 'carrier-registrar-403.xml' : 'carrier-registrar-short.xml',
    label: `${name}-${++generation}`,
    artifacts: ART,
    localIp: c.ip,
    localPort: c.port,
    keys: { carrier_user: c.user, carrier_pass: c.pass, grant_expires: GRANT_SEC },
    calls: 1000,
    timeoutSec: 240,
    // A refresh reuses the registration's Call-ID (uac reg_keep_callid): sipp would
    // take it for a late message of a finished call and drop it; kept 0 ms, it is a new one.
    extra: ['-deadcall_wait', '0'],
  };
}

const labels: Partial<Record<Name, string[]>> = {};

async function startCarrier(name: Name): Promise<void> {
  const o = carrierOptions(name);
  (labels[name] ??= []).push(o.label);
  sipps[name] = await startUas(o);
}

/** REGISTERs a carrier received so far, across its sipp runs (sipp's -trace_msg log). */
function registersAt(name: Name): number {
  return (labels[name] ?? [])
    .map((l) => join(ART, `${l}-messages.log`))
    .filter((f) => existsSync(f))
    .reduce((n, f) => n + receivedRequests(readFileSync(f, 'utf8'), 'REGISTER'), 0);
}

/** GET /api/admin/trunks with the admin token (in-process, through Fastify's inject). */
async function trunks(): Promise<Record<string, TrunkRegistration>> {
  const token = readFileSync(join(stack.gw.dirs.data, 'secrets', 'admin-token'), 'utf8').trim();
  const r = await stack.gw.http.inject({
    method: 'GET',
    url: '/api/admin/trunks',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(r.statusCode).toBe(200);
  const body = r.json<{ registrations: TrunkRegistration[] }>();
  return Object.fromEntries(body.registrations.map((t) => [t.trunk, t]));
}

/** gateway_trunk_registered{trunk="<name>"} from /metrics. */
async function registeredGauge(name: Name): Promise<number | undefined> {
  const r = await stack.gw.http.inject({ method: 'GET', url: '/metrics' });
  const m = new RegExp(`^gateway_trunk_registered\\{trunk="${name}"\\} (\\d+)$`, 'm').exec(r.body);
  return m ? Number(m[1]) : undefined;
}

/** Waits (bounded) until trunk `name`'s report satisfies `pred`; returns it. */
async function reportOf(
  name: Name,
  what: string,
  pred: (t: TrunkRegistration) => boolean,
  timeoutMs = 60_000,
): Promise<TrunkRegistration> {
  let last: TrunkRegistration | undefined;
  return until(
    `${name}: ${what}`,
    async () => {
      last = (await trunks())[name];
      return last && pred(last) ? last : undefined;
    },
    timeoutMs,
    250,
    () => `${JSON.stringify(last)}; REGISTERs at carrier: ${registersAt(name)}`,
  );
}

beforeAll(async () => {
  // Carriers first, so uac_reg's first REGISTERs find them.
  for (const name of Object.keys(CARRIERS) as Name[]) await startCarrier(name);
  stack = await startStack('trunk-registration', BASE, {
    trunks: (Object.keys(CARRIERS) as Name[]).map((name, i) => ({
      name,
      host: CARRIERS[name].ip,
      port: CARRIERS[name].port,
      inboundAddresses: [CARRIERS[name].ip],
      register: true,
      registerExpires: 60,
      registerRetrySeconds: 5,
      auth: { username: CARRIERS[name].user, password: CARRIERS[name].pass },
      prefixes: [`+1${i + 2}00`],
    })),
  });
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(Object.values(sipps).map((p) => p?.stop()));
  await stack?.stop();
});

describe('trunk registrations Kamailio makes on its own, as the gateway reports them', () => {
  // The three run at once on one stack: their waits overlap.
  it.concurrent(
    'a short registration is refreshed before it runs out: registered throughout',
    async () => {
      const first = await reportOf('refresh', 'registered', (t) => t.state === 'registered');
      expect(Date.parse(first.expiresAt!)).toBeGreaterThan(Date.now());
      expect(await registeredGauge('refresh')).toBe(1);
      const registersFirst = registersAt('refresh');
      // 401 + digest: two REGISTERs per registration
      expect(registersFirst).toBeGreaterThanOrEqual(2);
      // the refresh: a later expiry, while the report never left "registered"
      const refreshed = await reportOf(
        'refresh',
        'a refreshed registration',
        (t) => t.state !== 'registered' || t.expiresAt !== first.expiresAt,
        GRANT_SEC * 1000 + 30_000,
      );
      expect(refreshed.state).toBe('registered');
      expect(refreshed.since, 'registered without a gap').toBe(first.since);
      expect(Date.parse(refreshed.expiresAt!)).toBeGreaterThan(Date.parse(first.expiresAt!));
      expect(registersAt('refresh')).toBeGreaterThan(registersFirst);
      expect(await registeredGauge('refresh')).toBe(1);
    },
    90_000,
  );

  it.concurrent(
    "a carrier's 403 is reported as failed with 403, and the REGISTER is tried again",
    async () => {
      const failed = await reportOf('refused', 'failed', (t) => t.state === 'failed');
      expect(failed.lastStatus).toBe(403);
      expect(failed.retryAt, 'a retry is planned').toBeDefined();
      expect(await registeredGauge('refused')).toBe(0);
      const attempts = registersAt('refused');
      expect(attempts).toBeGreaterThanOrEqual(1);
      await until(
        'a new REGISTER to the refusing carrier',
        () => registersAt('refused') > attempts,
        45_000,
        250,
        () => `REGISTERs: ${registersAt('refused')}`,
      );
      const still = (await trunks()).refused!;
      expect([still.state, still.lastStatus]).toEqual(['failed', 403]);
    },
    90_000,
  );

  it.concurrent(
    'a carrier that stops answering: failed (timeout), retried, registered again once it is back',
    async () => {
      await reportOf('silent', 'registered', (t) => t.state === 'registered');
      await sipps.silent!.stop();
      const before = registersAt('silent');
      // the refresh (due within GRANT_SEC) gets no answer
      const failed = await reportOf(
        'silent',
        'failed',
        (t) => t.state === 'failed',
        GRANT_SEC * 1000 + 40_000,
      );
      expect(failed.lastStatus).toBe('timeout');
      expect(await registeredGauge('silent')).toBe(0);
      await startCarrier('silent');
      const back = await reportOf(
        'silent',
        'registered again',
        (t) => t.state === 'registered',
        45_000,
      );
      expect(Date.parse(back.expiresAt!)).toBeGreaterThan(Date.now());
      // the carrier, back, received the retry
      expect(registersAt('silent')).toBeGreaterThan(before);
      expect(await registeredGauge('silent')).toBe(1);
    },
    150_000,
  );
});
