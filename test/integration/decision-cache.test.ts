import { execFile } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../gateway/src/paths.js';
import { jsonRpc } from '../../gateway/src/kamailio/rpc.js';
import { portsFor, startStack, type Stack } from './harness/stack.js';
import { udpUser } from './harness/phones.js';
import { SipUA, plainSdp, udpTransport } from './harness/sipua.js';
import { waitForRecord } from './harness/wait.js';

// Kamailio keeps users' HA1s and routing answers (htables ha1, decided) so a
// known user's REGISTER or call costs no round trip to the service; the users
// CLI, a separate process, empties that cache after every change, so a
// changed password and a removed user count from the very next request.
// Kamailio asks through a counting front (decision.url), which proves where a
// request was answered from. Ports: base 18750.

const BASE = 18750;
const ports = portsFor(BASE);
const USER = 'c2001';
const FIRST_PW = 'first-secret-1';
const SECOND_PW = 'second-secret-2';

let stack: Stack;
let front: Server | undefined;
/** Requests Kamailio sent the service, by path (/kamailio/v1/register, /request). */
const asked = new Map<string, number>();
let cliConfig: string;
let phone: SipUA;
let bob: SipUA;

const askedFor = (kind: 'register' | 'request') => asked.get(`/kamailio/v1/${kind}`) ?? 0;

/**
 * gateway_decisions_total of one source, summed over outcomes, from /metrics:
 * "cache" is what Kamailio answered from its htables (read over its RPC at the scrape).
 */
async function decisionsCounted(kind: 'register' | 'request', source: 'cache' | 'service') {
  const r = await stack.gw.http.inject({ method: 'GET', url: '/metrics' });
  return [...r.body.matchAll(/^gateway_decisions_total\{([^}]*)\} (\d+)$/gm)]
    .filter(
      ([, labels]) => labels!.includes(`kind="${kind}"`) && labels!.includes(`source="${source}"`),
    )
    .reduce((n, m) => n + Number(m[2]), 0);
}

function startFront(): Promise<void> {
  const srv = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    asked.set(path, (asked.get(path) ?? 0) + 1);
    const up = request(
      { host: '127.0.0.1', port: ports.decision, path: req.url, method: 'GET' },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    up.end();
  });
  front = srv;
  return new Promise((resolve) => srv.listen(ports.helper, '127.0.0.1', () => resolve()));
}

/** `npm run users -- <args>` as its own process, against this stack's data folder. */
function cli(args: string[], password?: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'gateway/src/cli/users.ts'), ...args],
      {
        cwd: REPO_ROOT,
        timeout: 30_000,
        env: { ...process.env, GATEWAY_CONFIG: cliConfig, USER_PASSWORD: password ?? '' },
      },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`users ${args.join(' ')}: ${stderr || err.message}`))
          : resolve({ stdout, stderr }),
    ),
  );
}

/** A REGISTER of USER with `password`: its final status. */
async function register(password: string): Promise<number> {
  return (await phone.register({ credentials: { user: USER, password } })).final.status;
}

/** USER calls 1002 (Bob answers at once) with `password`: the final status; a call that was answered is hung up. */
async function call(password: string, callId?: string): Promise<number> {
  const r = await phone.request('INVITE', {
    uri: 'sip:1002@localhost',
    body: plainSdp(ports.clientMedia(1)),
    credentials: { user: USER, password },
    callId,
  });
  if (r.final.status === 200 && r.dialog) {
    expect((await phone.inDialog(r.dialog, 'BYE')).status).toBe(200);
  }
  return r.final.status;
}

beforeAll(async () => {
  await startFront();
  stack = await startStack('decision-cache', BASE, {
    decision: { url: `http://127.0.0.1:${ports.helper}` },
  });
  // What the CLI needs to find this stack: its data folder (database, Kamailio's RPC FIFO) and realm.
  cliConfig = join(stack.dataDir, 'cli-config.yaml');
  writeFileSync(
    cliConfig,
    JSON.stringify({ dataDir: stack.cfg.dataDir, domain: stack.cfg.domain }),
  );
  phone = new SipUA(
    await udpTransport({
      remoteHost: '127.0.0.1',
      remotePort: ports.sip,
      localPort: ports.client(0),
    }),
    { user: USER, password: FIRST_PW },
  );
  bob = await udpUser(stack, '1002', 2);
  expect((await bob.register()).final.status).toBe(200);
  bob.onRequest((req) => {
    if (req.msg.method === 'INVITE') req.reply(200, 'OK', { body: plainSdp(ports.clientMedia(2)) });
    else if (req.msg.method !== 'ACK') req.reply(200, 'OK');
  });
}, 90_000);

afterAll(async () => {
  await Promise.allSettled([phone?.close(), bob?.close()]);
  await stack?.stop();
  await new Promise<void>((resolve) => (front ? front.close(() => resolve()) : resolve()));
});

describe('decision cache in Kamailio, emptied by the users CLI', () => {
  it('a user added by the CLI registers; the second REGISTER is answered from the cache', async () => {
    const { stdout } = await cli(['add', USER], FIRST_PW);
    expect(stdout).toMatch(/saved/);
    const before = askedFor('register');
    const cachedBefore = await decisionsCounted('register', 'cache');
    const servedBefore = await decisionsCounted('register', 'service');
    expect(await register(FIRST_PW)).toBe(200);
    expect(askedFor('register')).toBe(before + 1);
    expect(await register(FIRST_PW)).toBe(200);
    expect(await register(FIRST_PW)).toBe(200);
    expect(askedFor('register'), 'cached HA1: no more round trips').toBe(before + 1);
    // a wrong password is still refused with the cached HA1
    expect(await register('not-the-password')).toBe(403);
    // four answers, one from the service, three from the cache: all counted, once
    expect(await decisionsCounted('register', 'service')).toBe(servedBefore + 1);
    expect(await decisionsCounted('register', 'cache')).toBe(cachedBefore + 3);
  });

  it('a call is decided once, then from the cache; its record is written as a local call', async () => {
    const before = askedFor('request');
    const cachedBefore = await decisionsCounted('request', 'cache');
    expect(await call(FIRST_PW)).toBe(200);
    expect(askedFor('request')).toBe(before + 1);
    const callId = `cached-${Date.now()}@test`;
    expect(await call(FIRST_PW, callId)).toBe(200);
    expect(askedFor('request'), 'cached answer: no round trip').toBe(before + 1);
    expect(await call(FIRST_PW)).toBe(200);
    expect(askedFor('request')).toBe(before + 1);
    // the two answers Kamailio took from its cache are counted, as a user's local call
    expect(await decisionsCounted('request', 'cache')).toBe(cachedBefore + 2);
    const metrics = (await stack.gw.http.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(
      /^gateway_decisions_total\{kind="request",outcome="user\/local",source="cache"\} [1-9]/m,
    );
    const rec = await waitForRecord(
      stack,
      'the cached call',
      (r) => r.callId === callId && r.endedAt !== null,
    );
    expect([rec.fromUser, rec.toUser, rec.direction, rec.status]).toEqual([
      USER,
      '1002',
      'local',
      'ended',
    ]);
    const cached = (await jsonRpc(stack.gw.dirs.run, 'htable.dump', ['decided'])) as unknown[];
    expect(JSON.stringify(cached)).toContain(`INVITE|${USER}|localhost|${USER}|1002`);
  });

  it('a password changed by the CLI counts at once: the old one 403, the new one 200', async () => {
    await cli(['add', USER], SECOND_PW);
    expect(await register(FIRST_PW)).toBe(403);
    expect(await register(SECOND_PW)).toBe(200);
    expect(await call(FIRST_PW)).toBe(403);
    expect(await call(SECOND_PW)).toBe(200);
  });

  it('a user removed by the CLI is refused at once, REGISTER and call', async () => {
    // both answers cached again before the removal
    expect(await register(SECOND_PW)).toBe(200);
    expect(await call(SECOND_PW)).toBe(200);
    const { stdout } = await cli(['remove', USER]);
    expect(stdout).toMatch(/removed/);
    expect(await register(SECOND_PW)).toBe(403);
    expect(await call(SECOND_PW)).toBe(403);
  });

  it('the CLI works with no Kamailio running (nothing cached to empty)', async () => {
    const elsewhere = join(stack.dataDir, 'cli-config-elsewhere.yaml');
    mkdirSync(join(stack.dataDir, 'no-gateway-here'), { recursive: true });
    writeFileSync(
      elsewhere,
      JSON.stringify({ dataDir: join(stack.dataDir, 'no-gateway-here'), domain: stack.cfg.domain }),
    );
    const saved = cliConfig;
    cliConfig = elsewhere;
    try {
      const r = await cli(['add', 'c2002'], FIRST_PW);
      expect(r.stdout).toMatch(/saved/);
      expect(r.stderr).not.toMatch(/warning/);
    } finally {
      cliConfig = saved;
    }
  });
});
