import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerAgentApi } from './api.js';
import { parseDigest } from './auth.js';
import type { Wallboard } from './supervisor.js';
import { harness, type Harness } from './testing/harness.js';

// The supervisor API over fastify's inject: roles in the Digest sign-in, 403
// (audited) for agents on every supervisor endpoint and for other queues,
// quality samples from the agent, recordings with access control, reports as
// CSV, the wallboard stream.

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const ADMIN = 'admin-token-for-tests';

let h: Harness;
let app: FastifyInstance;

beforeEach(async () => {
  h = harness({
    queues: [
      { name: 'sales', number: '8001', announce: { everySec: 0 }, recording: { enabled: true } },
      { name: 'support', number: '8002', announce: { everySec: 0 } },
    ],
    agents: [
      { username: '1003', queues: [{ name: 'sales' }] },
      { username: '1004', queues: [{ name: 'support' }] },
    ],
    // 1001 supervises sales only; 1002 is an admin (every queue, the audit log).
    supervisors: [{ username: '1001', queues: ['sales'] }],
    admins: ['1002'],
  });
  h.cc.start();
  app = Fastify();
  registerAgentApi(app, h.cc, { tokenSecret: 'test-secret', adminToken: ADMIN });
  await app.ready();
});
afterEach(async () => {
  vi.useRealTimers();
  await app.close();
  h.cc.stop();
});

async function login(username: string) {
  const first = await app.inject({ method: 'POST', url: '/api/agent/login' });
  const ch = parseDigest(String(first.headers['www-authenticate']))!;
  const uri = '/api/agent/login';
  const ha1 = md5(`${username}:${ch.realm}:demo-${username}-pw`);
  const response = md5(`${ha1}:${ch.nonce}:00000001:c0ffee:auth:${md5(`POST:${uri}`)}`);
  const header = `Digest username="${username}", realm="${ch.realm}", nonce="${ch.nonce}", uri="${uri}", qop=auth, nc=00000001, cnonce="c0ffee", response="${response}", opaque="${ch.opaque}"`;
  const res = await app.inject({
    method: 'POST',
    url: uri,
    headers: { authorization: header },
  });
  expect(res.statusCode).toBe(200);
  return res.json() as { token: string; roles: string[]; supervises: string[] };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

/** A sales call answered by 1003 and a support call answered by 1004; their queue call ids. */
async function twoCalls(): Promise<{ sales: string; support: string }> {
  h.cc.setState('1003', 'available');
  h.cc.setState('1004', 'available');
  const a = h.callControl.call('8001', '+15550000001');
  const b = h.callControl.call('8002', '+15550000002');
  await vi.waitFor(() => expect(a.pendingOffers()).toHaveLength(1));
  await vi.waitFor(() => expect(b.pendingOffers()).toHaveLength(1));
  a.offerTo('1003').settle('answered');
  b.offerTo('1004').settle('answered');
  await vi.waitFor(() => expect(h.cc.view('1004').call).not.toBeNull());
  return { sales: h.cc.view('1003').call!.callId, support: h.cc.view('1004').call!.callId };
}

const ENDPOINTS: { method: 'GET' | 'POST'; url: string; payload?: object }[] = [
  { method: 'GET', url: '/api/supervisor/me' },
  { method: 'GET', url: '/api/supervisor/wallboard' },
  { method: 'GET', url: '/api/supervisor/events' },
  { method: 'POST', url: '/api/supervisor/agents/1003/state', payload: { state: 'offline' } },
  { method: 'POST', url: '/api/supervisor/agents/1003/logout' },
  { method: 'POST', url: '/api/supervisor/calls/x/send', payload: { agent: '1003' } },
  { method: 'GET', url: '/api/supervisor/reports' },
  { method: 'GET', url: '/api/supervisor/calls' },
  { method: 'GET', url: '/api/supervisor/recordings' },
  { method: 'GET', url: '/api/supervisor/recordings/x' },
  { method: 'GET', url: '/api/supervisor/audit' },
];

describe('roles and access', () => {
  it('the sign-in returns roles; a supervisor who is not an agent gets a token too', async () => {
    expect(await login('1003')).toMatchObject({ roles: ['agent'], supervises: [] });
    expect(await login('1001')).toMatchObject({ roles: ['supervisor'], supervises: ['sales'] });
    expect(await login('1002')).toMatchObject({
      roles: ['supervisor', 'admin'],
      supervises: ['sales', 'support'],
    });
  });

  it("an agent's token gets 403 on every supervisor endpoint, each refusal audited", async () => {
    const { token } = await login('1003');
    for (const e of ENDPOINTS) {
      const res = await app.inject({ ...e, headers: bearer(token) });
      expect(res.statusCode, `${e.method} ${e.url}`).toBe(403);
    }
    const refusals = h.cc.store.auditLog().filter((r) => r.actor === '1003' && !r.allowed);
    expect(refusals).toHaveLength(ENDPOINTS.length);
    expect(refusals.at(-1)).toMatchObject({
      action: 'GET /api/supervisor/me',
      detail: { why: 'not a supervisor' },
    });
    // No token at all: 401, not 403.
    expect((await app.inject({ url: '/api/supervisor/wallboard' })).statusCode).toBe(401);
  });

  it('a supervisor of sales sees sales only and cannot listen to a support call', async () => {
    const ids = await twoCalls();
    const dir = mkdtempSync(join(tmpdir(), 'cc-rec-'));
    for (const [k, id] of Object.entries(ids)) {
      writeFileSync(join(dir, `${k}.wav`), 'RIFF....WAVE');
      h.cc.store.setRecording(id, join(dir, `${k}.wav`));
    }
    const { token } = await login('1001');
    const board = (
      await app.inject({ url: '/api/supervisor/wallboard', headers: bearer(token) })
    ).json() as Wallboard;
    expect(board.queues.map((q) => q.name)).toEqual(['sales']);
    expect(board.agents.map((a) => a.username)).toEqual(['1003']);
    expect(board.agents[0]!.call).toMatchObject({ queueCallId: ids.sales, recorded: true });

    const listen = (id: string) =>
      app.inject({ url: `/api/supervisor/recordings/${id}`, headers: bearer(token) });
    const refused = await listen(ids.support);
    expect(refused.statusCode).toBe(403);
    const ok = await listen(ids.sales);
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toBe('audio/wav');
    expect(ok.body).toBe('RIFF....WAVE');
    const list = (
      await app.inject({ url: '/api/supervisor/recordings', headers: bearer(token) })
    ).json() as { recordings: { queueCallId: string }[] };
    expect(list.recordings.map((r) => r.queueCallId)).toEqual([ids.sales]);

    for (const url of [
      '/api/supervisor/reports?queue=support',
      '/api/supervisor/calls?queue=support',
      '/api/supervisor/reports?by=agent&agent=1004',
    ])
      expect((await app.inject({ url, headers: bearer(token) })).statusCode, url).toBe(403);
    const force = await app.inject({
      method: 'POST',
      url: '/api/supervisor/agents/1004/state',
      headers: bearer(token),
      payload: { state: 'offline' },
    });
    expect(force.statusCode).toBe(403);

    // Who listened to whom, when — and who was refused.
    const audit = h.cc.store.auditLog({ actor: '1001' });
    expect(audit.map((a) => [a.action, a.target, a.allowed]).reverse()).toEqual([
      ['play-recording', ids.support, false],
      ['play-recording', ids.sales, true],
      ['report', 'support', false],
      ['calls', 'support', false],
      ['report', '1004', false],
      ['force-state', '1004', false],
    ]);
    expect(audit.find((a) => a.allowed)!.detail).toMatchObject({
      queue: 'sales',
      agent: '1003',
      caller: '+15550000001',
    });
    // The audit log itself is for admins.
    expect(
      (await app.inject({ url: '/api/supervisor/audit', headers: bearer(token) })).statusCode,
    ).toBe(403);
    const admin = await app.inject({
      url: '/api/supervisor/audit?actor=1001',
      headers: bearer(ADMIN),
    });
    expect(admin.statusCode).toBe(200);
    expect((admin.json() as { audit: unknown[] }).audit).toHaveLength(7);
  });
});

describe('quality, reports, stream', () => {
  it('the agent posts quality samples for their call; the wallboard flags a degraded one', async () => {
    const ids = await twoCalls();
    const agent = await login('1003');
    const post = (payload: object) =>
      app.inject({
        method: 'POST',
        url: '/api/agent/quality',
        headers: bearer(agent.token),
        payload,
      });
    const bad = { callId: ids.sales, mos: 2.7, jitterMs: 80, lossPct: 12, rttMs: 300 };
    expect((await post(bad)).json()).toMatchObject({ mos: 2.7, flagged: true });
    expect((await post({ ...bad, callId: ids.support })).statusCode).toBe(409);
    expect((await post({ ...bad, mos: 7 })).statusCode).toBe(400);
    const board = (
      await app.inject({ url: '/api/supervisor/wallboard', headers: bearer(ADMIN) })
    ).json() as Wallboard;
    expect(board.flagged).toEqual([
      { queueCallId: ids.sales, agent: '1003', queue: 'sales', mos: 2.7 },
    ]);
    expect(board.agents.find((a) => a.username === '1004')!.call!.quality).toBeNull();
  });

  it('reports as JSON and CSV; forcing and sending through the API', async () => {
    await twoCalls();
    const { token } = await login('1002');
    const json = await app.inject({
      url: '/api/supervisor/reports?interval=1d&queue=sales',
      headers: bearer(token),
    });
    expect(json.statusCode).toBe(200);
    expect((json.json() as { rows: unknown[] }).rows[0]).toMatchObject({
      queue: 'sales',
      offered: 1,
      answered: 1,
    });
    const csv = await app.inject({
      url: '/api/supervisor/reports?interval=1h&by=agent&format=csv',
      headers: bearer(token),
    });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toMatch(/^start,end,agent,offered,answered,missed,/);
    expect(lines).toHaveLength(1 + 24 * 2);
    const bad = await app.inject({
      url: '/api/supervisor/reports?interval=5m',
      headers: bearer(token),
    });
    expect(bad.statusCode).toBe(400);
    const force = await app.inject({
      method: 'POST',
      url: '/api/supervisor/agents/1003/state',
      headers: bearer(token),
      payload: { state: 'not-ready', reason: 'Lunch' },
    });
    expect(force.statusCode).toBe(200);
    // On a call: the pause waits for wrap-up to end, as an agent's own.
    expect(h.cc.view('1003').next).toEqual({ state: 'not-ready', reason: 'Lunch' });
    const send = await app.inject({
      method: 'POST',
      url: '/api/supervisor/calls/nope/send',
      headers: bearer(token),
      payload: { agent: '1003' },
    });
    expect(send.statusCode).toBe(404);
  });

  it('the stream sends the wallboard at once, then on change', async () => {
    const { token } = await login('1001');
    const res = await app.inject({
      url: `/api/supervisor/events?token=${encodeURIComponent(token)}`,
      payloadAsStream: true,
    });
    expect(res.statusCode).toBe(200);
    const boards: Wallboard[] = [];
    let buf = '';
    const stream = res.stream();
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const m = /^event: wallboard\ndata: (.*)$/s.exec(buf.slice(0, i));
        buf = buf.slice(i + 2);
        if (m) boards.push(JSON.parse(m[1]!) as Wallboard);
      }
    });
    await vi.waitFor(() => expect(boards).toHaveLength(1));
    expect(boards[0]!.queues[0]).toMatchObject({ name: 'sales', waiting: 0 });
    h.callControl.call('8001', '+15550000005');
    await vi.waitFor(() => expect(boards.at(-1)?.queues[0]!.waiting).toBe(1));
    stream.destroy();
  });
});
