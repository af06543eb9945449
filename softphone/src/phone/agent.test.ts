import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AgentClient,
  AgentError,
  digestAuthorization,
  digestHa1,
  parseDigestChallenge,
  parseQueueHeaders,
  type AgentView,
} from './agent';
import { FakeAgentServer, REALM } from './testing/fake-agent-server';

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

function client(server: FakeAgentServer, username = '1003', password = 'demo-1003-pw') {
  const ha1 = vi.fn((realm: string) => digestHa1(username, realm, password));
  const c = new AgentClient({
    credentials: { username, ha1 },
    baseUrl: server.base,
    fetch: server.fetch,
    EventSource: server.EventSource,
    random: () => 0.5,
  });
  return { c, ha1 };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('HTTP Digest (RFC 7616)', () => {
  it('answers the RFC 7616 §3.9.1 MD5 example', () => {
    const challenge = parseDigestChallenge(
      'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ' +
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", ' +
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    )!;
    expect(challenge.realm).toBe('http-auth@example.org');
    const header = digestAuthorization({
      challenge,
      username: 'Mufasa',
      ha1: digestHa1('Mufasa', 'http-auth@example.org', 'Circle of Life'),
      method: 'GET',
      uri: '/dir/index.html',
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    });
    expect(header).toContain('response="8ca523f5e9506fed4657c9700eebdbec"');
    expect(header).toContain('qop=auth, nc=00000001');
    expect(header).toContain('opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"');
  });

  it('ignores non-Digest challenges and refuses other algorithms', () => {
    expect(parseDigestChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseDigestChallenge(null)).toBeUndefined();
    const c = parseDigestChallenge('Digest realm="r", nonce="n", algorithm=SHA-256')!;
    expect(() =>
      digestAuthorization({
        challenge: c,
        username: 'u',
        ha1: 'x',
        method: 'POST',
        uri: '/',
        cnonce: 'c',
      }),
    ).toThrow(AgentError);
  });
});

describe('the offer headers on the INVITE', () => {
  it('reads X-Queue, X-Queue-Call and X-Caller-Waited', () => {
    const h: Record<string, string> = {
      'X-Queue': 'sales',
      'X-Queue-Call': 'qc-7',
      'X-Caller-Waited': '42',
    };
    expect(parseQueueHeaders((n) => h[n])).toEqual({
      queue: 'sales',
      callId: 'qc-7',
      waitedSec: 42,
    });
    expect(parseQueueHeaders(() => undefined)).toBeUndefined();
  });
});

describe('AgentClient', () => {
  it('signs in with Digest from the HA1 alone: the password never travels', async () => {
    const server = new FakeAgentServer();
    const { c, ha1 } = client(server);
    expect(await c.login()).toBe(true);
    expect(ha1).toHaveBeenCalledWith(REALM);
    expect(server.requests.map((r) => r.path)).toEqual(['login', 'login']);
    const sent = JSON.stringify(server.requests);
    expect(sent).not.toContain('demo-1003-pw');
    expect(server.requests[1]!.headers.authorization).toMatch(
      /^Digest username="1003", realm="localhost"/,
    );
    expect(server.requests[1]!.headers.authorization).toContain('uri="/api/agent/login"');
    // No browser sign-in dialog for the Digest challenge: the 401 must reach us.
    expect(server.requests.every((r) => r.credentials === 'omit')).toBe(true);
  });

  it('uses a challenge asked for at start-up: one request fewer, and the state before the stream', async () => {
    const server = new FakeAgentServer();
    const challenge = server.fetch(`${server.base}login`, {
      method: 'POST',
      credentials: 'omit',
    });
    const c = new AgentClient({
      credentials: { username: '1003', ha1: (realm) => digestHa1('1003', realm, 'demo-1003-pw') },
      baseUrl: server.base,
      fetch: server.fetch,
      EventSource: server.EventSource,
      challenge,
    });
    const views: AgentView[] = [];
    c.on('view', (v) => views.push(v));
    expect(await c.login()).toBe(true);
    // The early 401, then one authenticated POST; no stream opened yet.
    expect(server.requests.map((r) => r.path)).toEqual(['login', 'login']);
    expect(views.map((v) => v.state)).toEqual([server.viewOf('1003').state]);
    // A challenge that failed to arrive costs nothing: the client asks itself.
    const server2 = new FakeAgentServer();
    const c2 = new AgentClient({
      credentials: { username: '1003', ha1: (realm) => digestHa1('1003', realm, 'demo-1003-pw') },
      baseUrl: server2.base,
      fetch: server2.fetch,
      challenge: Promise.reject(new TypeError('network')),
    });
    expect(await c2.login()).toBe(true);
    expect(server2.requests.map((r) => r.path)).toEqual(['login', 'login']);
  });

  it('a user who is not an agent (403) is told apart from a failure', async () => {
    const server = new FakeAgentServer();
    expect(await client(server, '1001', 'demo-1001-pw').c.login()).toBe(false);
    expect(await client(server, '1003', 'wrong').c.login()).toBe(false);
    server.down = 503;
    await expect(client(server).c.login()).rejects.toThrow(/503/);
  });

  it('streams the view: sent at once, then on every change', async () => {
    const server = new FakeAgentServer();
    const { c } = client(server);
    const views: AgentView[] = [];
    c.on('view', (v) => views.push(v));
    await c.connect();
    await flush();
    expect(server.sources[0]!.url).toContain('/api/agent/events?token=tok-1');
    expect(views.at(-1)?.state).toBe('not-ready');
    server.update('1003', { state: 'available' });
    expect(c.view?.state).toBe('available');
    c.stop();
    server.update('1003', { state: 'offline' });
    expect(c.view?.state).toBe('available');
  });

  it('actions go with the bearer token and return the new view', async () => {
    const server = new FakeAgentServer();
    const { c } = client(server);
    await c.login();
    expect((await c.setState('not-ready', 'Lunch')).reason).toBe('Lunch');
    expect(server.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: 'state',
      headers: { authorization: 'Bearer tok-1', 'content-type': 'application/json' },
      body: { state: 'not-ready', reason: 'Lunch' },
    });
    expect(
      (await c.setQueue('support', true)).queues.find((q) => q.name === 'support')?.loggedIn,
    ).toBe(true);
    expect((await c.setQueue(undefined, false)).queues.every((q) => !q.loggedIn)).toBe(true);
    await expect(c.setState('not-ready', 'Nap')).rejects.toMatchObject({
      status: 400,
      message: 'unknown reason code',
    });
    server.update('1003', {
      state: 'wrap-up',
      wrapUp: {
        callId: 'qc-1',
        queue: 'sales',
        endsAt: new Date(Date.now() + 30000).toISOString(),
        dispositions: ['Sale'],
      },
    });
    const after = await c.saveWrapUp('qc-1', 'Sale', 'wants a call back');
    expect(after.state).toBe('available');
    expect(server.requests.at(-1)?.body).toEqual({
      callId: 'qc-1',
      disposition: 'Sale',
      notes: 'wants a call back',
    });
    expect((await c.fetchView()).state).toBe('available');
  });

  it('refreshes the token before it expires, and signs in again when it was lost', async () => {
    vi.useFakeTimers();
    const server = new FakeAgentServer();
    server.tokenTtlMs = 60 * 60_000;
    const { c } = client(server);
    await c.login();
    // 5 minutes before the hour.
    await vi.advanceTimersByTimeAsync(55 * 60_000 + 1000);
    expect(server.requests.at(-1)).toMatchObject({
      path: 'token',
      headers: { authorization: 'Bearer tok-1' },
    });
    await c.setState('available');
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer tok-2');
    // The gateway restarted and forgot every token: the next action signs in again and goes through.
    server.tokens.clear();
    await c.setState('offline');
    expect(server.requests.slice(-4).map((r) => r.path)).toEqual([
      'state',
      'login',
      'login',
      'state',
    ]);
    c.stop();
  });

  it('reconnects the stream with backoff, with a valid token, and is right again after the next message', async () => {
    vi.useFakeTimers();
    const server = new FakeAgentServer();
    const { c } = client(server);
    const states: string[] = [];
    c.on('connection', (e) => states.push(e.state));
    await c.connect();
    await vi.advanceTimersByTimeAsync(0);
    expect(states).toEqual(['connecting', 'open']);
    server.update('1003', { state: 'available' });
    // The connection drops; meanwhile the state changed.
    server.views.set('1003', { ...server.viewOf('1003'), state: 'not-ready', reason: 'Break' });
    server.sources[0]!.fail();
    expect(states.at(-1)).toBe('closed');
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.sources).toHaveLength(2);
    expect(c.view?.reason).toBe('Break');
    // Tokens forgotten (gateway restart): refused streams lead to a fresh Digest sign-in.
    server.tokens.clear();
    server.sources[1]!.fail();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(server.requests.filter((r) => r.path === 'login').length).toBeGreaterThanOrEqual(2);
    expect(server.sources.at(-1)!.readyState).toBe(1);
    c.stop();
  });

  it('gives up on a gateway that never answers', async () => {
    vi.useFakeTimers();
    const hanging = vi.fn(
      (_input: RequestInfo | URL, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) =>
          init?.signal?.addEventListener('abort', () =>
            reject(new DOMException('aborted', 'AbortError')),
          ),
        ),
    );
    const c = new AgentClient({
      credentials: { username: '1003', ha1: () => 'x' },
      baseUrl: 'https://gw.example.com/api/agent/',
      fetch: hanging,
      requestTimeoutMs: 5000,
    });
    const login = c.login();
    const settled = expect(login).rejects.toThrow(/no answer from the agent API in 5 s/);
    await vi.advanceTimersByTimeAsync(5000);
    await settled;
  });
});
