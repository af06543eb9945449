import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerAgentApi } from './api.js';
import { parseDigest } from './auth.js';
import { harness, type Harness } from './testing/harness.js';
import type { AgentView } from './types.js';

// The agent API over fastify's inject: a real Digest round trip with the demo
// users' passwords, tokens, the event stream, actions, the admin API.

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const ADMIN = 'admin-token-for-tests';

let h: Harness;
let app: FastifyInstance;

beforeEach(async () => {
  h = harness({
    queues: [
      { name: 'sales', displayName: 'Sales', number: '8001', announce: { everySec: 0 } },
      { name: 'support', number: '8002', announce: { everySec: 0 }, dispositions: ['Solved'] },
    ],
    agents: [{ username: '1003', queues: [{ name: 'sales' }, { name: 'support', penalty: 1 }] }],
    crmUrlTemplate: 'https://crm.example/search?q={caller}',
  });
  h.cc.start();
  app = Fastify();
  registerAgentApi(app, h.cc, { tokenSecret: 'test-secret', adminToken: ADMIN, tokenTtlSec: 60 });
  await app.ready();
});
afterEach(async () => {
  vi.useRealTimers();
  await app.close();
  h.cc.stop();
});

/** What a browser does: POST, read the challenge, answer it with the password. */
async function login(username: string, password: string, tamper: Record<string, string> = {}) {
  const first = await app.inject({ method: 'POST', url: '/api/agent/login' });
  expect(first.statusCode).toBe(401);
  const ch = parseDigest(String(first.headers['www-authenticate']))!;
  const uri = '/api/agent/login';
  const nc = '00000001';
  const cnonce = 'abcdef0123456789';
  const ha1 = md5(`${username}:${ch.realm}:${password}`);
  const response = md5(`${ha1}:${ch.nonce}:${nc}:${cnonce}:auth:${md5(`POST:${uri}`)}`);
  const p: Record<string, string> = {
    username,
    realm: ch.realm!,
    nonce: ch.nonce!,
    uri,
    qop: 'auth',
    nc,
    cnonce,
    response,
    opaque: ch.opaque!,
    ...tamper,
  };
  const header =
    'Digest ' +
    Object.entries(p)
      .map(([k, v]) => (k === 'qop' || k === 'nc' ? `${k}=${v}` : `${k}="${v}"`))
      .join(', ');
  const res = await app.inject({
    method: 'POST',
    url: '/api/agent/login',
    headers: { authorization: header },
  });
  return { res, header, challenge: ch };
}

async function token(): Promise<string> {
  const { res } = await login('1003', 'demo-1003-pw');
  expect(res.statusCode).toBe(200);
  return (res.json() as { token: string }).token;
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('sign-in', () => {
  it('Digest challenge → response with the SIP password → token', async () => {
    const { res, challenge } = await login('1003', 'demo-1003-pw');
    expect(challenge).toMatchObject({ realm: 'localhost', qop: 'auth', algorithm: 'MD5' });
    expect(challenge.opaque).toMatch(/^[0-9a-f]{16}$/);
    expect(res.statusCode).toBe(200);
    const body = res.json() as {
      token: string;
      expiresAt: string;
      username: string;
      roles: string[];
      view?: AgentView;
    };
    expect(body).toMatchObject({ username: '1003', roles: ['agent'] });
    // The agent's state comes with the token (the desktop shows it before the stream opens).
    expect(body.view).toMatchObject({ username: '1003', state: expect.any(String) });
    expect(Date.parse(body.expiresAt) - Date.now()).toBeGreaterThan(50_000);
    const view = await app.inject({ url: '/api/agent/view', headers: bearer(body.token) });
    expect(view.statusCode).toBe(200);
    expect((view.json() as AgentView).username).toBe('1003');
  });

  it('wrong password, unknown user and non-agents get 403; a replayed response too', async () => {
    expect((await login('1003', 'wrong-password')).res.statusCode).toBe(403);
    expect((await login('nobody', 'whatever')).res.statusCode).toBe(403);
    const nonAgent = await login('1001', 'demo-1001-pw');
    expect(nonAgent.res.statusCode).toBe(403);
    expect(nonAgent.res.json()).toEqual({
      error: '1001 is not an agent of any queue, nor a supervisor or admin',
    });
    const ok = await login('1003', 'demo-1003-pw');
    const replay = await app.inject({
      method: 'POST',
      url: '/api/agent/login',
      headers: { authorization: ok.header },
    });
    expect(replay.statusCode).toBe(403);
  });

  it('too many failed sign-ins from one address are refused for the window (429)', async () => {
    const strict = Fastify();
    registerAgentApi(strict, h.cc, {
      tokenSecret: 'test-secret',
      failedLogins: { limit: 2, windowSec: 60 },
    });
    const saved = app;
    app = strict;
    try {
      expect((await login('1003', 'guess-1')).res.statusCode).toBe(403);
      expect((await login('1003', 'guess-2')).res.statusCode).toBe(403);
      const first = await strict.inject({ method: 'POST', url: '/api/agent/login' });
      expect(first.statusCode).toBe(429);
      expect(Number(first.headers['retry-after'])).toBeGreaterThan(50);
    } finally {
      app = saved;
      await strict.close();
    }
  });

  it('an unknown or expired nonce is re-challenged with stale=true', async () => {
    const { res } = await login('1003', 'demo-1003-pw', { nonce: 'feedface' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/stale=true/);
  });

  it('an expired token is 401; a valid one can be refreshed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const t = await token();
    vi.setSystemTime(Date.now() + 30_000);
    const fresh = await app.inject({ method: 'POST', url: '/api/agent/token', headers: bearer(t) });
    expect(fresh.statusCode).toBe(200);
    const t2 = (fresh.json() as { token: string }).token;
    vi.setSystemTime(Date.now() + 31_000); // t is 61 s old now, t2 31 s
    expect((await app.inject({ url: '/api/agent/view', headers: bearer(t) })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/agent/view', headers: bearer(t2) })).statusCode).toBe(
      200,
    );
    const forged = t2.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await app.inject({ url: '/api/agent/view', headers: bearer(forged) })).statusCode).toBe(
      401,
    );
  });
});

describe('events and actions', () => {
  it('the stream sends the whole view at once, then on each change', async () => {
    const t = await token();
    const res = await app.inject({
      url: `/api/agent/events?token=${encodeURIComponent(t)}`,
      payloadAsStream: true,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const stream = res.stream();
    const messages: AgentView[] = [];
    let buf = '';
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = /^event: state\ndata: (.*)$/s.exec(block);
        if (data) messages.push(JSON.parse(data[1]!) as AgentView);
      }
    });
    await vi.waitFor(() => expect(messages).toHaveLength(1));
    expect(messages[0]).toMatchObject({
      username: '1003',
      state: 'offline',
      reasonCodes: ['Break', 'Lunch', 'Training'],
      queues: [
        { name: 'sales', displayName: 'Sales', penalty: 0, loggedIn: true, waiting: 0 },
        { name: 'support', displayName: 'support', penalty: 1, loggedIn: true, waiting: 0 },
      ],
    });
    await app.inject({
      method: 'POST',
      url: '/api/agent/state',
      headers: bearer(t),
      payload: { state: 'available' },
    });
    await vi.waitFor(() => expect(messages.at(-1)?.state).toBe('available'));
    // A caller: the offer with its screen-pop arrives on the stream.
    const c = h.callControl.call('8001', '+15557770001', 'Ann Caller');
    await vi.waitFor(() => expect(messages.at(-1)?.state).toBe('offered'));
    expect(messages.at(-1)?.offer).toMatchObject({
      queue: 'sales',
      queueDisplayName: 'Sales',
      caller: { number: '+15557770001', name: 'Ann Caller' },
      history: [],
      crmUrl: 'https://crm.example/search?q=%2B15557770001',
    });
    c.offerTo('1003').settle('answered');
    await vi.waitFor(() => expect(messages.at(-1)?.state).toBe('on-call'));
    stream.destroy();
  });

  it('state, queue login and wrap-up actions; errors are 4xx with a message', async () => {
    const t = await token();
    const post = (url: string, payload: object) =>
      app.inject({ method: 'POST', url, headers: bearer(t), payload });
    const bad = await post('/api/agent/state', { state: 'not-ready', reason: 'Nap' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      error: 'not-ready needs a reason, one of: Break, Lunch, Training',
    });
    expect((await post('/api/agent/state', { state: 'sleeping' })).statusCode).toBe(400);
    const paused = await post('/api/agent/state', { state: 'not-ready', reason: 'Break' });
    expect(paused.json()).toMatchObject({ state: 'not-ready', reason: 'Break' });
    const out = await post('/api/agent/queues', { queue: 'support', loggedIn: false });
    expect((out.json() as AgentView).queues.map((q) => [q.name, q.loggedIn])).toEqual([
      ['sales', true],
      ['support', false],
    ]);
    expect((await post('/api/agent/queues', { queue: 'billing', loggedIn: true })).statusCode).toBe(
      404,
    );
    const allOut = await post('/api/agent/queues', { loggedIn: false });
    expect((allOut.json() as AgentView).queues.every((q) => !q.loggedIn)).toBe(true);
    await post('/api/agent/queues', { loggedIn: true });
    // A call, answered and ended: wrap-up, disposition through the API.
    await post('/api/agent/state', { state: 'available' });
    const c = h.callControl.call('8002', '+15557770002');
    await vi.waitFor(() => expect(c.pendingOffers()).toHaveLength(1));
    expect((await post('/api/agent/state', { state: 'offline' })).statusCode).toBe(409);
    c.offerTo('1003').settle('answered');
    await vi.waitFor(() => expect(h.cc.view('1003').state).toBe('on-call'));
    c.callerHangsUp();
    await vi.waitFor(() => expect(h.cc.view('1003').state).toBe('wrap-up'));
    const view = h.cc.view('1003');
    expect(view.wrapUp?.dispositions).toEqual(['Solved']);
    const saved = await post('/api/agent/wrapup', {
      callId: view.wrapUp!.callId,
      disposition: 'Solved',
      notes: 'reset the router',
    });
    expect(saved.statusCode).toBe(200);
    expect(saved.json()).toMatchObject({ state: 'available', wrapUp: null, today: { handled: 1 } });
    expect(h.cc.store.queueCall(view.wrapUp!.callId)).toMatchObject({
      disposition: 'Solved',
      notes: 'reset the router',
    });
  });

  it('no token, or a token in the query of anything but the stream, gets 401', async () => {
    expect((await app.inject({ url: '/api/agent/view' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/agent/events' })).statusCode).toBe(401);
    const t = await token();
    expect((await app.inject({ url: `/api/agent/view?token=${t}` })).statusCode).toBe(401);
  });

  it('the stream pings between changes', async () => {
    const quick = Fastify();
    registerAgentApi(quick, h.cc, { tokenSecret: 'test-secret', pingSec: 0.05 });
    const t = (await token()) as string;
    const res = await quick.inject({ url: `/api/agent/events?token=${t}`, payloadAsStream: true });
    let text = '';
    const stream = res.stream();
    stream.on('data', (c: Buffer) => (text += c.toString()));
    await vi.waitFor(() => expect(text).toContain(': ping\n\n'));
    expect(text.startsWith('event: state\ndata: {')).toBe(true);
    stream.destroy();
    await quick.close();
  });
});

describe('admin API', () => {
  it('makes a directory user an agent of queues with penalties; needs the admin token', async () => {
    const url = '/api/admin/contact-center/agents';
    expect((await app.inject({ url })).statusCode).toBe(401);
    const auth = { authorization: `Bearer ${ADMIN}` };
    const add = await app.inject({
      method: 'POST',
      url,
      headers: auth,
      payload: { username: '1001', queues: [{ name: 'support', penalty: 2 }] },
    });
    expect(add.statusCode).toBe(200);
    expect(add.json()).toMatchObject({
      agent: {
        username: '1001',
        state: 'offline',
        queues: [{ name: 'support', penalty: 2, source: 'admin' }],
      },
    });
    const list = await app.inject({ url, headers: auth });
    expect(
      (list.json() as { agents: { username: string }[] }).agents.map((a) => a.username),
    ).toEqual(['1001', '1003']);
    const noQueue = await app.inject({
      method: 'POST',
      url,
      headers: auth,
      payload: { username: '1001', queues: [{ name: 'billing' }] },
    });
    expect(noQueue.statusCode).toBe(400);
    expect(noQueue.json()).toEqual({ error: 'no queue named "billing"' });
    const noUser = await app.inject({
      method: 'POST',
      url,
      headers: auth,
      payload: { username: 'ghost', queues: [{ name: 'sales' }] },
    });
    expect(noUser.statusCode).toBe(404);
    const invalid = await app.inject({
      method: 'POST',
      url,
      headers: auth,
      payload: { username: '1001' },
    });
    expect(invalid.statusCode).toBe(400);
    expect((invalid.json() as { error: string }).error).toMatch(/^queues: /);
    // 1001 can sign in now.
    expect((await login('1001', 'demo-1001-pw')).res.statusCode).toBe(200);
  });
});
