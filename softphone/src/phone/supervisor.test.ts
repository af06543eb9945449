import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentClient, digestHa1, parseMonitorHeader } from './agent';
import { SupervisorClient, parseWallboard } from './supervisor';
import { FakeAgentServer, REALM, sampleWallboard } from './testing/fake-agent-server';
import type { Wallboard } from './supervisor';

// The supervisor's client against a fake of the gateway's API at the fetch
// and EventSource boundary: the sign-in (Digest) is the AgentClient's, roles
// come from it; the wallboard streams; actions, reports and recordings carry
// the token in a header, and only the event stream's URL carries it.

let server: FakeAgentServer;
let auth: AgentClient;
let sup: SupervisorClient;

const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
};

function clients(user: string, password: string) {
  auth = new AgentClient({
    credentials: { username: user, ha1: (realm) => digestHa1(user, realm, password) },
    baseUrl: server.base,
    fetch: server.fetch,
    EventSource: server.EventSource,
  });
  sup = new SupervisorClient({
    auth,
    baseUrl: `${server.origin}/api/supervisor/`,
    fetch: server.fetch,
    EventSource: server.EventSource,
    reconnectInitialDelayMs: 10,
    reconnectMaxDelayMs: 20,
  });
}

beforeEach(() => {
  server = new FakeAgentServer();
});
afterEach(() => {
  sup?.stop();
  auth?.stop();
});

describe('roles at sign-in', () => {
  it('a supervisor who is not an agent signs in (roles, supervised queues) and is no agent', async () => {
    clients('1002', 'demo-1002-pw');
    expect(await auth.login()).toBe(true);
    expect(auth.roles).toEqual(['supervisor']);
    expect(auth.supervises).toEqual(['sales']);
    expect(auth.isAgent).toBe(false);
    expect(auth.view).toBeUndefined();
    expect(REALM).toBe('localhost');
  });

  it('a user with no role is refused', async () => {
    clients('1001', 'demo-1001-pw');
    expect(await auth.login()).toBe(false);
    expect(auth.roles).toEqual([]);
  });

  it('an agent posts quality samples for the call it is on (2 decimals); another call is refused', async () => {
    clients('1003', 'demo-1003-pw');
    expect(await auth.login()).toBe(true);
    expect(auth.roles).toEqual(['agent']);
    server.update('1003', {
      state: 'on-call',
      call: {
        callId: 'qc-1',
        queue: 'sales',
        queueDisplayName: 'Sales',
        caller: { number: '+1555', name: '' },
        waitedSec: 1,
        history: [],
        crmUrl: null,
        answeredAt: new Date().toISOString(),
        recorded: true,
      },
    });
    const v = await auth.postQuality({
      callId: 'qc-1',
      mos: 3.14159,
      jitterMs: 12.345,
      lossPct: 10.5,
      rttMs: 1.001,
    });
    expect(v.flagged).toBe(true);
    expect(server.quality[0]!.body).toEqual({
      callId: 'qc-1',
      mos: 3.14,
      jitterMs: 12.35,
      lossPct: 10.5,
      rttMs: 1,
    });
    const req = server.requests.at(-1)!;
    expect(req.path).toBe('quality');
    expect(req.headers.authorization).toMatch(/^Bearer tok-/);
    await expect(
      auth.postQuality({ callId: 'qc-2', mos: 4, jitterMs: 1, lossPct: 0, rttMs: 1 }),
    ).rejects.toMatchObject({ status: 409 });
  });
});

describe('monitoring legs', () => {
  it('reads X-Monitor (mode, id, queue call, agent or supervisor); anything else is no monitoring leg', () => {
    expect(parseMonitorHeader('listen;id=m1;queue-call=qc-1;agent=1003')).toEqual({
      mode: 'listen',
      id: 'm1',
      queueCall: 'qc-1',
      agent: '1003',
    });
    expect(parseMonitorHeader(' barge ; id=m2 ; queue-call=qc-2 ; supervisor=1001')).toEqual({
      mode: 'barge',
      id: 'm2',
      queueCall: 'qc-2',
      supervisor: '1001',
    });
    expect(parseMonitorHeader(undefined)).toBeUndefined();
    expect(parseMonitorHeader('spy;id=m1;queue-call=qc-1')).toBeUndefined();
    expect(parseMonitorHeader('listen;queue-call=qc-1')).toBeUndefined();
  });
});

describe('SupervisorClient', () => {
  it('streams the wallboard (token only in the stream URL) and runs the actions', async () => {
    clients('1002', 'demo-1002-pw');
    await auth.login();
    const boards: Wallboard[] = [];
    sup.on('wallboard', (w) => boards.push(w));
    await sup.connect();
    await flush();
    expect(boards).toHaveLength(1);
    expect(boards[0]!.queues[0]!.today).toMatchObject({ offered: 3, answered: 2, abandoned: 1 });
    const stream = server.sources.at(-1)!;
    expect(new URL(stream.url).pathname).toBe('/api/supervisor/events');
    expect(stream.token).toMatch(/^tok-/);

    server.pushWallboard({
      flagged: [{ queueCallId: 'qc-1', agent: '1003', queue: 'sales', mos: 2.9 }],
    });
    expect(sup.wallboard?.flagged).toHaveLength(1);

    const after = await sup.forceState('1004', 'not-ready');
    expect(after?.agents.find((a) => a.username === '1004')).toMatchObject({
      state: 'not-ready',
      reason: 'supervisor',
    });
    await sup.logoutAgent('1003');
    expect(sup.wallboard?.agents.find((a) => a.username === '1003')?.state).toBe('offline');
    // 1004 is not-ready now: the gateway refuses, the message is the gateway's
    await expect(sup.sendCaller('qc-9', '1004')).rejects.toThrow('1004 is not available');
    await sup.forceState('1004', 'available');
    await sup.sendCaller('qc-9', '1004');
    expect(sup.wallboard?.queues[0]!.callers[0]!.sentTo).toBe('1004');

    const sent = server.requests.filter((r) => r.path.startsWith('supervisor/'));
    expect(sent.length).toBeGreaterThan(4);
    for (const r of sent) {
      expect(r.headers.authorization).toMatch(/^Bearer tok-/);
      expect(r.path).not.toContain('token=');
      expect(r.credentials).toBe('omit');
    }
    expect(sent.find((r) => r.path === 'supervisor/calls/qc-9/send')?.body).toEqual({
      agent: '1004',
    });
  });

  it('reports (JSON and CSV) and recordings (a Blob; the token in a header, never in the URL)', async () => {
    clients('1002', 'demo-1002-pw');
    await auth.login();
    const r = await sup.report({
      from: '2026-11-30T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
      interval: '1h',
      by: 'queue',
    });
    expect(r.rows[0]).toMatchObject({ offered: 3, answered: 2, abandoned: 1, serviceLevelPct: 50 });
    const q = new URL(`https://x/${server.requests.at(-1)!.path}`).searchParams;
    expect(Object.fromEntries(q)).toEqual({
      from: '2026-11-30T00:00:00.000Z',
      to: '2026-12-01T00:00:00.000Z',
      interval: '1h',
      by: 'queue',
      format: 'json',
    });
    const csv = await sup.reportCsv({ interval: '15m' });
    expect(await csv.text()).toMatch(/^start,end,queue,offered\r\n/);

    const list = await sup.recordings();
    expect(list[0]).toMatchObject({ queueCallId: 'qc-1', agent: '1003' });
    const wav = await sup.recording('qc-1');
    expect(wav.size).toBe(4);
    const download = await sup.recording('qc-1', true);
    expect(download.size).toBe(4);
    const asked = server.requests.filter((x) => x.path.startsWith('supervisor/recordings/'));
    expect(asked.map((x) => x.path)).toEqual([
      'supervisor/recordings/qc-1',
      'supervisor/recordings/qc-1?download=1',
    ]);
    expect(asked.every((x) => /^Bearer /.test(x.headers.authorization ?? ''))).toBe(true);
    await expect(sup.recording('qc-404')).rejects.toMatchObject({ status: 404 });
  });

  it('an agent is refused (403), and a stream that fails reconnects with a valid token', async () => {
    clients('1003', 'demo-1003-pw');
    await auth.login();
    await expect(sup.fetchWallboard()).rejects.toMatchObject({ status: 403 });

    clients('1002', 'demo-1002-pw');
    await auth.login();
    await sup.connect();
    await flush();
    const first = server.sources.at(-1)!;
    first.fail();
    await new Promise((r) => setTimeout(r, 60));
    await flush();
    const second = server.sources.at(-1)!;
    expect(second).not.toBe(first);
    expect(second.readyState).toBe(1);
    expect(sup.wallboard).toBeDefined();
  });

  it('parseWallboard fills what an older gateway leaves out and rejects junk', () => {
    expect(parseWallboard({ nope: 1 })).toBeUndefined();
    const w = sampleWallboard();
    const raw = JSON.parse(JSON.stringify(w)) as Record<string, unknown>;
    delete raw.flagged;
    const parsed = parseWallboard(raw)!;
    expect(parsed.flagged).toEqual([]);
    expect(parsed.queues[0]!.agents['on-call']).toBe(1);
  });
});
