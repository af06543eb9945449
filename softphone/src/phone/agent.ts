// The agent desktop's channel to the gateway (gateway/src/contactcenter/API.md):
// HTTP Digest sign-in with the SIP credentials (RFC 7616, MD5, qop=auth; the
// browser only ever holds the HA1 the core computes, never sends the
// password), a short-lived bearer token refreshed before it expires, the live
// AgentView over Server-Sent Events with reconnect, and the agent's actions.
// Plain TypeScript over fetch and EventSource, both injectable for tests.
import { BearerEventStream, bearerRequest, errorText } from './bearer';
import { AgentError, digestAuthorization, parseDigestChallenge } from './agent-sip';
import { Emitter } from './emitter';

// The SIP-side helpers (Digest, queue and monitoring headers) live in
// agent-sip.ts, part of the core's first chunk; this client is a chunk of its
// own that only contact-center users load (index.ts loadAgentClient).
export * from './agent-sip';

export type AgentState = 'offline' | 'available' | 'offered' | 'on-call' | 'wrap-up' | 'not-ready';

/** The queue call offered to (or taken by) this agent: what the screen-pop shows. */
export interface ScreenPop {
  callId: string;
  queue: string;
  queueDisplayName: string;
  caller: { number: string; name: string };
  waitedSec: number;
  /** This caller's earlier queue calls, newest first (at most 5). */
  history: { at: string; queue: string; agent: string | null; disposition: string | null }[];
  /** The CRM link with {caller} filled in, or null. */
  crmUrl: string | null;
}

export interface AgentQueue {
  name: string;
  displayName: string;
  penalty: number;
  loggedIn: boolean;
  waiting: number;
  longestWaitSec: number;
}

export interface AgentWrapUp {
  callId: string;
  queue: string;
  endsAt: string;
  dispositions: string[];
}

/** The whole agent view, as the gateway sends it on every change. */
export interface AgentView {
  username: string;
  state: AgentState;
  /** Reason code when not-ready ('Break', 'Lunch', …), or 'no-answer' when auto-paused. */
  reason: string | null;
  /** ISO time the current state began. */
  since: string;
  queues: AgentQueue[];
  offer: ScreenPop | null;
  /** `recorded`: the queue records this call (the agent is told). */
  call: (ScreenPop & { answeredAt: string; recorded?: boolean }) | null;
  wrapUp: AgentWrapUp | null;
  /** A not-ready/offline chosen during a call or wrap-up: applied when wrap-up ends. */
  next: { state: 'not-ready' | 'offline'; reason: string | null } | null;
  /** Queue calls answered since local midnight; handle time = answer → hang-up. */
  today: { handled: number; avgHandleSec: number };
  reasonCodes: string[];
}

/** What a user may do in the contact center (API.md "Signing in"). */
export type ContactCenterRole = 'agent' | 'supervisor' | 'admin';

/** A call-quality sample for the queue call the agent is on (POST /api/agent/quality). */
export interface QualitySample {
  callId: string;
  mos: number;
  jitterMs: number;
  lossPct: number;
  rttMs: number;
}

/** The gateway's answer to a quality sample. */
export interface QualityVerdict {
  mos: number;
  jitterMs: number;
  lossPct: number;
  rttMs: number;
  at: string;
  /** MOS below the contact center's threshold. */
  flagged: boolean;
}

/** States an agent may choose (the others follow the calls). */
export type SelectableAgentState = 'available' | 'not-ready' | 'offline';

export type AgentConnectionState = 'connecting' | 'open' | 'closed';

export interface AgentEvents {
  /** A new view: from the stream, or the answer to an action. */
  view: AgentView;
  connection: { state: AgentConnectionState; attempt?: number; nextRetryMs?: number };
  /** Something failed in the background (token refresh, stream); actions reject instead. */
  error: { message: string };
}

/** Proves the SIP credentials without holding the password: HA1 = MD5(user:realm:password). */
export interface AgentCredentials {
  username: string;
  ha1(realm: string): string;
}

export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  addEventListener(type: string, fn: (ev: MessageEvent<string>) => void): void;
  close(): void;
}
export type EventSourceConstructor = new (url: string) => EventSourceLike;

export interface AgentClientOptions {
  credentials: AgentCredentials;
  /** Where the agent API lives; default `api/agent/` relative to the page (the gateway's origin). */
  baseUrl?: string;
  fetch?: typeof fetch;
  EventSource?: EventSourceConstructor;
  now?: () => number;
  random?: () => number;
  /** Refresh the token this long before it expires (capped to half its remaining life). */
  refreshBeforeMs?: number;
  reconnectInitialDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** Every HTTP request is given up after this long (default 10 s). */
  requestTimeoutMs?: number;
  /**
   * The answer to an unauthenticated `POST login` sent at page start-up, before
   * the password was at hand: the first sign-in uses its Digest challenge instead
   * of asking again (one round trip and one connection set-up fewer).
   */
  challenge?: Promise<Response>;
}

// --- the client -------------------------------------------------------------------------

interface Token {
  token: string;
  expiresAt: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Minimal shape check of what the gateway sends (a wrong payload must not break the view). */
export function parseAgentView(raw: unknown): AgentView | undefined {
  if (!isObj(raw) || typeof raw.state !== 'string' || !Array.isArray(raw.queues)) return undefined;
  const v = raw as unknown as AgentView;
  return {
    ...v,
    reason: v.reason ?? null,
    offer: v.offer ?? null,
    call: v.call ?? null,
    wrapUp: v.wrapUp ?? null,
    next: v.next ?? null,
    today: isObj(v.today) ? v.today : { handled: 0, avgHandleSec: 0 },
    reasonCodes: Array.isArray(v.reasonCodes) ? v.reasonCodes : [],
  };
}

function randomHex(bytes: number): string {
  const a = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(a);
  return [...a].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * fetch that gives up after `limitMs` (a gateway that never answers must not
 * leave a sign-in or an action hanging) and never sends or asks for browser
 * credentials: a 401 with `WWW-Authenticate: Digest` would otherwise make the
 * browser show its own sign-in dialog (and wait on it) instead of handing the
 * challenge to us; the contact-center APIs need no cookies.
 */
export function boundedFetch(
  fetchImpl: typeof fetch | undefined,
  limitMs: number,
  what: string,
): typeof fetch {
  const base = fetchImpl ?? ((...a: Parameters<typeof fetch>) => globalThis.fetch(...a));
  return (input, init = {}) => {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), limitMs);
    return base(input, { ...init, credentials: 'omit', signal: ctrl.signal })
      .catch((e: unknown) => {
        throw ctrl.signal.aborted
          ? new AgentError(`no answer from ${what} in ${limitMs / 1000} s`)
          : e;
      })
      .finally(() => clearTimeout(timer));
  };
}

export class AgentClient {
  private readonly emitter = new Emitter<AgentEvents>();
  private readonly base: URL;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private token: Token | undefined;
  private tokenPromise: Promise<Token | undefined> | undefined;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly stream: BearerEventStream;
  private stopped = false;
  private _view: AgentView | undefined;
  /** Set once the gateway said this user is not an agent (403 on login, or no agent role). */
  notAgent = false;
  private _roles: ContactCenterRole[] = [];
  private _supervises: string[] = [];

  private earlyChallenge: Promise<Response> | undefined;

  constructor(private readonly opts: AgentClientOptions) {
    this.earlyChallenge = opts.challenge;
    this.base = new URL(
      opts.baseUrl ?? 'api/agent/',
      globalThis.location?.href ?? 'http://localhost/',
    );
    this.fetchFn = boundedFetch(opts.fetch, opts.requestTimeoutMs ?? 10_000, 'the agent API');
    this.now = opts.now ?? Date.now;
    this.stream = new BearerEventStream({
      auth: this,
      ES: opts.EventSource ?? (globalThis.EventSource as EventSourceConstructor | undefined),
      url: (token) => {
        const url = this.url('events');
        url.searchParams.set('token', token);
        return url.href;
      },
      event: 'state',
      onData: (raw) => {
        const view = parseAgentView(raw);
        if (view) this.setView(view);
      },
      onConnection: (c) => this.emitter.emit('connection', c),
      onError: (e) => {
        if (this.notAgent) return this.stop();
        this.emitter.emit('error', { message: errorMessage(e) });
      },
      random: opts.random ?? Math.random,
      initialDelayMs: opts.reconnectInitialDelayMs,
      maxDelayMs: opts.reconnectMaxDelayMs,
    });
  }

  get view(): AgentView | undefined {
    return this._view;
  }

  /** The roles the gateway gave at the last sign-in ([] before, or when refused). */
  get roles(): readonly ContactCenterRole[] {
    return this._roles;
  }

  /** The queues this user may supervise (from the sign-in). */
  get supervises(): readonly string[] {
    return this._supervises;
  }

  get isAgent(): boolean {
    return this._roles.includes('agent');
  }

  on<K extends keyof AgentEvents>(event: K, fn: (payload: AgentEvents[K]) => void): () => void {
    return this.emitter.on(event, fn);
  }

  private url(path: string): URL {
    return new URL(path, this.base);
  }

  /**
   * Signs in with HTTP Digest. Resolves true for a user with any role (agent,
   * supervisor, admin: see `roles`), false when the gateway refuses (403: no
   * role, or wrong credentials; 404: no agent API here). Rejects on network
   * errors and 5xx.
   */
  async login(): Promise<boolean> {
    const t = await this.obtainToken(true);
    return t !== undefined;
  }

  private obtainToken(fresh: boolean): Promise<Token | undefined> {
    this.tokenPromise ??= (async () => {
      try {
        const t = fresh || !this.token ? await this.digestLogin() : await this.refresh();
        this.setToken(t);
        return t;
      } finally {
        this.tokenPromise = undefined;
      }
    })();
    return this.tokenPromise;
  }

  private async digestLogin(): Promise<Token | undefined> {
    const url = this.url('login');
    const early = this.earlyChallenge;
    this.earlyChallenge = undefined;
    const first =
      (await early?.catch(() => undefined)) ??
      (await this.fetchFn(url.href, { method: 'POST', cache: 'no-store' }));
    if (first.ok) return this.readToken(first);
    if (first.status !== 401) return this.refused(first);
    let challenge = parseDigestChallenge(first.headers.get('WWW-Authenticate'));
    for (let round = 0; challenge && round < 2; round++) {
      const authorization = digestAuthorization({
        challenge,
        username: this.opts.credentials.username,
        ha1: this.opts.credentials.ha1(challenge.realm),
        method: 'POST',
        uri: url.pathname + url.search,
        cnonce: randomHex(12),
      });
      const res = await this.fetchFn(url.href, {
        method: 'POST',
        headers: { Authorization: authorization },
        cache: 'no-store',
      });
      if (res.ok) return this.readToken(res);
      const again =
        res.status === 401 ? parseDigestChallenge(res.headers.get('WWW-Authenticate')) : undefined;
      // Only a stale nonce deserves a second try (RFC 7616 §3.3).
      if (!again?.stale) return this.refused(res);
      challenge = again;
    }
    throw new AgentError('agent sign-in: no usable Digest challenge', 401);
  }

  private async refused(res: Response): Promise<undefined> {
    if (res.status === 429) {
      const after = res.headers.get('Retry-After');
      throw new AgentError(
        `agent sign-in refused for now (too many failures)${after ? `; retry in ${after} s` : ''}`,
        429,
      );
    }
    if (res.status >= 500)
      throw new AgentError(`agent sign-in: ${res.status} ${await errorText(res)}`, res.status);
    this.notAgent = true;
    this._roles = [];
    this._supervises = [];
    return undefined;
  }

  private async readToken(res: Response): Promise<Token | undefined> {
    const body: unknown = await res.json().catch(() => undefined);
    if (!isObj(body) || typeof body.token !== 'string')
      throw new AgentError('agent sign-in: bad answer');
    // An older gateway sends no roles: only agents could sign in there.
    const roles = (Array.isArray(body.roles) ? body.roles : ['agent']) as ContactCenterRole[];
    this._roles = roles;
    this._supervises = Array.isArray(body.supervises)
      ? body.supervises.filter((q): q is string => typeof q === 'string')
      : [];
    this.notAgent = !roles.includes('agent');
    if (!roles.length) return undefined;
    const exp = typeof body.expiresAt === 'string' ? Date.parse(body.expiresAt) : NaN;
    // The sign-in answer carries the current state: the desktop shows it without
    // waiting for the event stream's first message.
    const view = parseAgentView(body.view);
    if (view) this.setView(view);
    return { token: body.token, expiresAt: Number.isFinite(exp) ? exp : this.now() + 3_600_000 };
  }

  /** POST token: a fresh token while the old one is valid; sign in again if it is not. */
  private async refresh(): Promise<Token | undefined> {
    const old = this.token;
    if (!old || old.expiresAt <= this.now()) return this.digestLogin();
    const res = await this.fetchFn(this.url('token').href, {
      method: 'POST',
      headers: { Authorization: `Bearer ${old.token}` },
      cache: 'no-store',
    });
    if (res.ok) return this.readToken(res);
    if (res.status === 401) return this.digestLogin();
    throw new AgentError(`token refresh: ${res.status} ${await errorText(res)}`, res.status);
  }

  private setToken(t: Token | undefined): void {
    this.token = t;
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (!t || this.stopped) return;
    const left = t.expiresAt - this.now();
    const wait = Math.max(1000, Math.min(left - (this.opts.refreshBeforeMs ?? 300_000), left / 2));
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.obtainToken(false).catch((e: unknown) => {
        this.emitter.emit('error', { message: errorMessage(e) });
        // Try again soon; the stream reconnect signs in afresh if the token runs out.
        if (!this.stopped && this.token)
          this.setToken({ ...this.token, expiresAt: this.now() + 60_000 });
      });
    }, wait);
  }

  private async bearer(): Promise<string> {
    if (this.token && this.token.expiresAt > this.now() + 5000) return this.token.token;
    const t = await this.obtainToken(!this.token);
    if (!t) throw new AgentError('not signed in to the contact center', 403);
    return t.token;
  }

  /**
   * A valid bearer token (signing in again if needed), for the other
   * contact-center APIs (the supervisor's) and their event streams.
   * `renew`: the last one was refused (401), sign in afresh.
   */
  async bearerToken(renew = false): Promise<string> {
    if (!renew) return this.bearer();
    const t = await this.obtainToken(true);
    if (!t) throw new AgentError('not signed in to the contact center', 403);
    return t.token;
  }

  // --- the live view ---------------------------------------------------------------------

  /** Opens the event stream (signing in first if needed) and keeps it open until stop(). */
  async connect(): Promise<void> {
    this.stopped = false;
    return this.stream.connect();
  }

  private setView(view: AgentView): void {
    this._view = view;
    this.emitter.emit('view', view);
  }

  // --- actions ---------------------------------------------------------------------

  /** An authorized JSON request (a 401 signs in again, once); the answer's body. */
  private async json(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const res = await bearerRequest(this.fetchFn, this, method, this.url(path).href, body);
    return res.json().catch(() => undefined);
  }

  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<AgentView> {
    const view = parseAgentView(await this.json(method, path, body));
    if (!view) throw new AgentError('bad answer from the agent API');
    this.setView(view);
    return view;
  }

  /** available, not-ready (with one of the view's reason codes) or offline. */
  setState(state: SelectableAgentState, reason?: string): Promise<AgentView> {
    return this.request('POST', 'state', reason ? { state, reason } : { state });
  }

  /** Logs in to (or out of) one queue, or all of them when `queue` is undefined. */
  setQueue(queue: string | undefined, loggedIn: boolean): Promise<AgentView> {
    return this.request('POST', 'queues', queue ? { queue, loggedIn } : { loggedIn });
  }

  /** Saves the disposition (one of the queue's) and notes into the call record; ends wrap-up. */
  saveWrapUp(callId: string, disposition: string, notes?: string): Promise<AgentView> {
    return this.request('POST', 'wrapup', { callId, disposition, ...(notes ? { notes } : {}) });
  }

  fetchView(): Promise<AgentView> {
    return this.request('GET', 'view');
  }

  /** Sends a call-quality sample for the queue call the agent is on (2 decimals). */
  async postQuality(sample: QualitySample): Promise<QualityVerdict> {
    const v = (await this.json(
      'POST',
      'quality',
      Object.fromEntries(
        Object.entries(sample).map(([k, v]) => [
          k,
          typeof v === 'number' ? Math.round(v * 100) / 100 : v,
        ]),
      ),
    )) as QualityVerdict | undefined;
    if (typeof v?.mos !== 'number') throw new AgentError('bad answer from the agent API');
    return v;
  }

  /** Closes the stream and stops refreshing; the token simply expires. */
  stop(): void {
    this.stopped = true;
    if (this.refreshTimer !== undefined) clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    this.stream.stop();
  }
}

export { errorText };

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
