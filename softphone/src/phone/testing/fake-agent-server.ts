// A fake of the gateway's agent API (gateway/src/contactcenter/API.md) behind
// an injectable fetch and EventSource: Digest sign-in checked for real
// (RFC 7616, MD5, qop=auth) against each user's password, bearer tokens with
// an expiry, the SSE stream of the whole AgentView, and the actions.
import type { AgentView, ContactCenterRole, EventSourceLike, ScreenPop } from '../agent';
import type { Wallboard } from '../supervisor';
import { digestHa1, md5Hex } from '../agent';

export const REALM = 'localhost';

export function sampleView(over: Partial<AgentView> = {}): AgentView {
  return {
    username: '1003',
    state: 'not-ready',
    reason: null,
    since: new Date(Date.now() - 5000).toISOString(),
    queues: [
      {
        name: 'sales',
        displayName: 'Sales',
        penalty: 0,
        loggedIn: true,
        waiting: 2,
        longestWaitSec: 40,
      },
      {
        name: 'support',
        displayName: 'Support',
        penalty: 1,
        loggedIn: false,
        waiting: 0,
        longestWaitSec: 0,
      },
    ],
    offer: null,
    call: null,
    wrapUp: null,
    next: null,
    today: { handled: 3, avgHandleSec: 125 },
    reasonCodes: ['Break', 'Lunch', 'Training'],
    ...over,
  };
}

export function samplePop(over: Partial<ScreenPop> = {}): ScreenPop {
  return {
    callId: 'qc-1',
    queue: 'sales',
    queueDisplayName: 'Sales',
    caller: { number: '+15550101001', name: 'Alice' },
    waitedSec: 12,
    history: [
      { at: '2026-11-29T10:00:00.000Z', queue: 'sales', agent: '1004', disposition: 'Resolved' },
    ],
    crmUrl: 'https://crm.example.com/search?phone=%2B15550101001',
    ...over,
  };
}

interface User {
  password: string;
  agent: boolean;
  /** Supervisor (or admin) of these queues. */
  supervises?: string[];
}

/** A wallboard of one queue (sales) with two agents: 1003 on a call, 1004 available. */
export function sampleWallboard(over: Partial<Wallboard> = {}): Wallboard {
  const now = new Date().toISOString();
  return {
    at: now,
    qualityMosThreshold: 3.5,
    queues: [
      {
        name: 'sales',
        displayName: 'Sales',
        serviceLevelSec: 20,
        waiting: 1,
        longestWaitSec: 42,
        callers: [
          {
            queueCallId: 'qc-9',
            caller: { number: '+15550109999', name: '' },
            enteredAt: now,
            waitedSec: 42,
            sentTo: null,
          },
        ],
        agents: {
          offline: 0,
          available: 1,
          offered: 0,
          'on-call': 1,
          'wrap-up': 0,
          'not-ready': 0,
        },
        today: {
          offered: 3,
          answered: 2,
          abandoned: 1,
          overflowed: 0,
          exited: 0,
          shortAbandoned: 1,
          answeredWithinSl: 1,
          serviceLevelPct: 50,
          asaSec: 36,
          talkSec: 60,
          acwSec: 10,
          ahtSec: 70,
          occupancyPct: 40,
          mosAvg: 4.2,
          qualityFlagged: 0,
        },
        recording: true,
      },
    ],
    agents: [
      {
        username: '1003',
        displayName: 'Carol',
        state: 'on-call',
        reason: null,
        since: now,
        timeInStateSec: 30,
        queues: [{ name: 'sales', loggedIn: true }],
        offer: null,
        call: {
          queueCallId: 'qc-1',
          queue: 'sales',
          caller: { number: '+15550101001', name: 'Alice' },
          answeredAt: now,
          durationSec: 30,
          recorded: true,
          quality: null,
        },
        today: { handled: 2, talkSec: 60, ahtSec: 70, occupancyPct: 40 },
      },
      {
        username: '1004',
        displayName: 'Dave',
        state: 'available',
        reason: null,
        since: now,
        timeInStateSec: 5,
        queues: [{ name: 'sales', loggedIn: true }],
        offer: null,
        call: null,
        today: { handled: 0, talkSec: null, ahtSec: null, occupancyPct: null },
      },
    ],
    flagged: [],
    ...over,
  };
}

export class FakeEventSource implements EventSourceLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  readonly handlers = new Map<string, ((ev: MessageEvent<string>) => void)[]>();
  constructor(readonly url: string) {}
  addEventListener(type: string, fn: (ev: MessageEvent<string>) => void): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), fn]);
  }
  close(): void {
    this.readyState = 2;
  }
  /** Server side. */
  deliver(type: string, data: string): void {
    if (this.readyState !== 1) return;
    for (const fn of this.handlers.get(type) ?? []) fn({ data } as MessageEvent<string>);
  }
  fail(): void {
    this.readyState = 2;
    this.onerror?.(new Event('error'));
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  get token(): string | null {
    return new URL(this.url).searchParams.get('token');
  }
}

export class FakeAgentServer {
  readonly users = new Map<string, User>([
    ['1003', { password: 'demo-1003-pw', agent: true }],
    ['1001', { password: 'demo-1001-pw', agent: false }],
    ['1002', { password: 'demo-1002-pw', agent: false, supervises: ['sales'] }],
  ]);
  /** The supervisors' wallboard (what GET wallboard and the stream send). */
  wallboard: Wallboard = sampleWallboard();
  /**
   * The gateway calling the supervisor's softphone for a new monitoring
   * session (resolves once it answered; rejects: 409). Unset: always 409.
   */
  callSupervisor: ((queueCallId: string, mode: string) => Promise<void>) | undefined;
  /** Monitoring sessions by queue call. */
  readonly monitors = new Map<string, string>();
  /** Quality samples posted by agents. */
  readonly quality: { username: string; body: Record<string, unknown> }[] = [];
  readonly tokens = new Map<string, { username: string; expiresAt: number }>();
  readonly views = new Map<string, AgentView>();
  readonly sources: FakeEventSource[] = [];
  readonly requests: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: unknown;
    credentials?: RequestCredentials;
  }[] = [];
  tokenTtlMs = 3_600_000;
  /** Open streams at once (else a test calls source.open()). */
  autoOpen = true;
  /** Answer every request with this status (a gateway down), when set. */
  down: number | undefined;
  private nonceSeq = 0;
  private tokenSeq = 0;
  private readonly nonces = new Set<string>();
  readonly base: string;

  constructor(readonly origin = 'https://gw.example.com') {
    this.base = `${origin}/api/agent/`;
  }

  viewOf(username: string): AgentView {
    let v = this.views.get(username);
    if (!v) {
      v = sampleView({ username });
      this.views.set(username, v);
    }
    return v;
  }

  /** Changes a user's view and pushes it to their open streams. */
  update(username: string, change: Partial<AgentView>): AgentView {
    const v = { ...this.viewOf(username), ...change };
    this.views.set(username, v);
    for (const s of this.sources) {
      const t = s.token ? this.tokens.get(s.token) : undefined;
      if (t?.username === username) s.deliver('state', JSON.stringify(v));
    }
    return v;
  }

  readonly EventSource = (() => {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const server = this;
    return class extends FakeEventSource {
      constructor(url: string) {
        super(url);
        server.sources.push(this);
        queueMicrotask(() => server.onStream(this));
      }
    };
  })();

  private onStream(s: FakeEventSource): void {
    if (s.readyState === 2) return;
    const t = s.token ? this.tokens.get(s.token) : undefined;
    if (this.down || !t || t.expiresAt <= Date.now()) return s.fail();
    const supervisor = new URL(s.url).pathname.startsWith('/api/supervisor/');
    if (supervisor && !this.users.get(t.username)?.supervises) return s.fail();
    if (!this.autoOpen) return;
    s.open();
    if (supervisor) s.deliver('wallboard', JSON.stringify(this.wallboard));
    else s.deliver('state', JSON.stringify(this.viewOf(t.username)));
  }

  /** Changes the wallboard and pushes it to the supervisors' open streams. */
  pushWallboard(change: Partial<Wallboard>): Wallboard {
    this.wallboard = { ...this.wallboard, ...change };
    for (const s of this.sources)
      if (new URL(s.url).pathname.startsWith('/api/supervisor/'))
        s.deliver('wallboard', JSON.stringify(this.wallboard));
    return this.wallboard;
  }

  private supervisorRoute(
    method: string,
    url: URL,
    username: string,
    body: unknown,
  ): Response | Promise<Response> {
    const user = this.users.get(username);
    if (!user?.supervises) return json(403, { error: 'not a supervisor' });
    const path = url.pathname.replace(/^\/api\/supervisor\//, '');
    const ok = () => json(200, { ok: true, wallboard: this.wallboard });
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === 'wallboard') return json(200, this.wallboard);
    if (method === 'POST' && (m = /^agents\/([^/]+)\/(state|logout)$/.exec(path))) {
      const who = decodeURIComponent(m[1]!);
      const agent = this.wallboard.agents.find((a) => a.username === who);
      if (!agent) return json(404, { error: 'no such agent' });
      const b = (body ?? {}) as { state?: string; reason?: string };
      const state = m[2] === 'logout' ? 'offline' : (b.state as AgentView['state']);
      const reason =
        m[2] === 'logout' || (state === 'not-ready' && !b.reason)
          ? 'supervisor'
          : (b.reason ?? null);
      this.pushWallboard({
        agents: this.wallboard.agents.map((a) =>
          a.username === who ? { ...a, state, reason } : a,
        ),
      });
      return ok();
    }
    if (method === 'POST' && (m = /^calls\/([^/]+)\/send$/.exec(path))) {
      const id = decodeURIComponent(m[1]!);
      const to = (body as { agent?: string }).agent ?? '';
      if (this.wallboard.agents.find((a) => a.username === to)?.state !== 'available')
        return json(409, { error: `${to} is not available` });
      this.pushWallboard({
        queues: this.wallboard.queues.map((q) => ({
          ...q,
          callers: q.callers.map((c) => (c.queueCallId === id ? { ...c, sentTo: to } : c)),
        })),
      });
      return ok();
    }
    if ((m = /^calls\/([^/]+)\/monitor$/.exec(path))) {
      const id = decodeURIComponent(m[1]!);
      if (method === 'DELETE')
        return this.monitors.delete(id)
          ? Promise.resolve(json(200, { ok: true }))
          : Promise.resolve(json(404, { error: 'no session' }));
      const mode = (body as { mode?: string }).mode ?? '';
      const view = (modeNow: string) =>
        json(200, {
          monitor: {
            id: `m-${id}`,
            queueCallId: id,
            agent: '1003',
            supervisor: username,
            mode: modeNow,
          },
        });
      if (this.monitors.has(id)) {
        this.monitors.set(id, mode);
        return Promise.resolve(view(mode));
      }
      if (!this.callSupervisor) return Promise.resolve(json(409, { error: 'not registered' }));
      return this.callSupervisor(id, mode).then(
        () => {
          this.monitors.set(id, mode);
          return view(mode);
        },
        (e: unknown) => json(409, { error: String(e) }),
      );
    }
    if (method === 'GET' && path === 'reports') {
      const q = Object.fromEntries(url.searchParams);
      const row = {
        start: q.from,
        end: q.to,
        queue: 'sales',
        ...this.wallboard.queues[0]!.today,
      };
      if (q.format === 'csv')
        return new Response(`start,end,queue,offered\r\n${q.from},${q.to},sales,3\r\n`, {
          status: 200,
          headers: { 'Content-Type': 'text/csv' },
        });
      return json(200, {
        from: q.from,
        to: q.to,
        interval: q.interval ?? '15m',
        by: q.by ?? 'queue',
        rows: [row],
      });
    }
    if (method === 'GET' && path === 'recordings')
      return json(200, {
        from: url.searchParams.get('from'),
        to: url.searchParams.get('to'),
        recordings: [
          {
            queueCallId: 'qc-1',
            queue: 'sales',
            agent: '1003',
            caller: { number: '+15550101001', name: 'Alice' },
            enteredAt: '2026-11-30T10:00:00.000Z',
            answeredAt: '2026-11-30T10:00:05.000Z',
            endedAt: '2026-11-30T10:01:05.000Z',
            url: '/api/supervisor/recordings/qc-1',
          },
        ],
      });
    if (method === 'GET' && (m = /^recordings\/([^/]+)$/.exec(path)))
      return decodeURIComponent(m[1]!) === 'qc-1'
        ? new Response(new Uint8Array([82, 73, 70, 70]), {
            status: 200,
            headers: { 'Content-Type': 'audio/wav' },
          })
        : json(404, { error: 'no recording' });
    return json(404, { error: 'not found' });
  }

  readonly fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(
      typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
    );
    const headers: Record<string, string> = {};
    const raw = init.headers;
    if (raw instanceof Headers) raw.forEach((v, k) => (headers[k.toLowerCase()] = v));
    else if (raw) for (const [k, v] of Object.entries(raw)) headers[k.toLowerCase()] = String(v);
    const body: unknown = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
    const supervisor = url.pathname.startsWith('/api/supervisor/');
    const path = supervisor
      ? url.pathname.replace(/^\/api\//, '') + url.search
      : url.pathname.replace(/^\/api\/agent\//, '');
    const method = init.method ?? 'GET';
    this.requests.push({ method, path, headers, body, credentials: init.credentials });
    if (this.down) return json(this.down, { error: 'down' });
    if (path === 'login' && method === 'POST') return this.login(url, headers.authorization);
    const auth = /^Bearer (.+)$/.exec(headers.authorization ?? '');
    const t = auth?.[1] ? this.tokens.get(auth[1]) : undefined;
    if (!t || t.expiresAt <= Date.now()) return json(401, { error: 'token expired' });
    if (supervisor) return this.supervisorRoute(method, url, t.username, body);
    if (!this.users.get(t.username)?.agent) return json(403, { error: 'not an agent' });
    const view = this.viewOf(t.username);
    switch (`${method} ${path}`) {
      case 'POST token':
        return json(200, this.issue(t.username));
      case 'GET view':
        return json(200, view);
      case 'POST quality': {
        const b = body as {
          callId: string;
          mos: number;
          jitterMs: number;
          lossPct: number;
          rttMs: number;
        };
        if (view.call?.callId !== b.callId) return json(409, { error: 'not your current call' });
        this.quality.push({ username: t.username, body: b as unknown as Record<string, unknown> });
        return json(200, {
          ...b,
          callId: undefined,
          at: new Date().toISOString(),
          flagged: b.mos < 3.5,
        });
      }
      case 'POST state': {
        const b = body as { state: string; reason?: string };
        if (view.state === 'offered') return json(409, { error: 'answer or decline first' });
        if (b.state === 'not-ready' && (!b.reason || !view.reasonCodes.includes(b.reason)))
          return json(400, { error: 'unknown reason code' });
        if (view.state === 'on-call' || (view.state === 'wrap-up' && b.state !== 'available'))
          return json(
            200,
            this.update(t.username, {
              next:
                b.state === 'available'
                  ? null
                  : { state: b.state as 'not-ready' | 'offline', reason: b.reason ?? null },
            }),
          );
        return json(
          200,
          this.update(t.username, {
            wrapUp: null,
            next: null,
            state: b.state as AgentView['state'],
            reason: b.state === 'not-ready' ? (b.reason ?? null) : null,
            since: new Date().toISOString(),
          }),
        );
      }
      case 'POST queues': {
        const b = body as { queue?: string; loggedIn: boolean };
        return json(
          200,
          this.update(t.username, {
            queues: view.queues.map((q) =>
              !b.queue || q.name === b.queue ? { ...q, loggedIn: b.loggedIn } : q,
            ),
          }),
        );
      }
      case 'POST wrapup': {
        const b = body as { callId: string; disposition: string; notes?: string };
        if (!view.wrapUp || view.wrapUp.callId !== b.callId)
          return json(409, { error: 'no wrap-up' });
        if (!view.wrapUp.dispositions.includes(b.disposition))
          return json(400, { error: 'unknown disposition' });
        return json(
          200,
          this.update(t.username, {
            wrapUp: null,
            state: 'available',
            since: new Date().toISOString(),
          }),
        );
      }
      default:
        return json(404, { error: 'not found' });
    }
  };

  private issue(username: string) {
    const token = `tok-${++this.tokenSeq}`;
    const expiresAt = Date.now() + this.tokenTtlMs;
    this.tokens.set(token, { username, expiresAt });
    const user = this.users.get(username);
    const roles: ContactCenterRole[] = [
      ...(user?.agent !== false ? (['agent'] as const) : []),
      ...(user?.supervises ? (['supervisor'] as const) : []),
    ];
    return {
      token,
      expiresAt: new Date(expiresAt).toISOString(),
      username,
      roles,
      supervises: user?.supervises ?? [],
    };
  }

  private login(url: URL, authorization: string | undefined): Response {
    const challenge = () => {
      const nonce = `n${++this.nonceSeq}`;
      this.nonces.add(nonce);
      return new Response(null, {
        status: 401,
        headers: {
          'WWW-Authenticate': `Digest realm="${REALM}", nonce="${nonce}", qop="auth", algorithm=MD5, opaque="op"`,
        },
      });
    };
    if (!authorization) return challenge();
    const p: Record<string, string> = {};
    for (const m of authorization
      .replace(/^Digest\s+/i, '')
      .matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g))
      p[m[1]!] = m[2] ?? m[3] ?? '';
    const user = this.users.get(p.username ?? '');
    if (!p.nonce || !this.nonces.has(p.nonce)) return challenge();
    this.nonces.delete(p.nonce);
    if (
      !user ||
      p.realm !== REALM ||
      p.uri !== url.pathname ||
      p.qop !== 'auth' ||
      p.opaque !== 'op'
    )
      return json(403, { error: 'forbidden' });
    const ha1 = digestHa1(p.username!, REALM, user.password);
    const expected = md5Hex(
      `${ha1}:${p.nonce}:${p.nc}:${p.cnonce}:auth:${md5Hex(`POST:${p.uri}`)}`,
    );
    if (expected !== p.response || (!user.agent && !user.supervises))
      return json(403, { error: 'forbidden' });
    return json(200, {
      ...this.issue(p.username!),
      ...(user.agent ? { view: this.viewOf(p.username!) } : {}),
    });
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}
