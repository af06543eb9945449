// The supervisor's channel to the gateway (gateway/src/contactcenter/API.md,
// "Supervisors"): the live wallboard over Server-Sent Events with reconnect,
// the actions (force a state, log an agent out, send a waiting caller to an
// agent), reports (JSON, CSV), calls and recordings. It signs in through the
// AgentClient (same Digest sign-in, same token; a supervisor who is not an
// agent gets a token too) and only borrows its bearer token: the token goes
// in an Authorization header, and only the EventSource URL carries it
// (EventSource cannot set headers; the API accepts ?token= there alone).
import { BearerEventStream, bearerRequest, type BearerSource } from './bearer';
import { Emitter } from './emitter';
import {
  AgentError,
  boundedFetch,
  type AgentConnectionState,
  type AgentState,
  type EventSourceConstructor,
  type MonitorMode,
  type SelectableAgentState,
} from './agent';

export interface Party {
  number: string;
  name: string;
}

/** A by=queue report row (the wallboard's `today` is one without start, end and queue). */
export interface QueueFigures {
  start?: string;
  end?: string;
  queue?: string;
  offered: number;
  answered: number;
  abandoned: number;
  overflowed: number;
  exited: number;
  shortAbandoned: number;
  answeredWithinSl: number;
  serviceLevelPct: number | null;
  asaSec: number | null;
  talkSec: number | null;
  acwSec: number | null;
  ahtSec: number | null;
  occupancyPct: number | null;
  mosAvg: number | null;
  qualityFlagged: number;
}

export interface AgentFigures {
  start: string;
  end: string;
  agent: string;
  offered: number;
  answered: number;
  missed: number;
  talkSec: number | null;
  acwSec: number | null;
  ahtSec: number | null;
  loggedInSec: number;
  busySec: number;
  occupancyPct: number | null;
  mosAvg: number | null;
  qualityFlagged: number;
}

export interface WallboardCaller {
  queueCallId: string;
  caller: Party;
  enteredAt: string;
  waitedSec: number;
  sentTo: string | null;
}

export interface WallboardQueue {
  name: string;
  displayName: string;
  serviceLevelSec: number;
  waiting: number;
  longestWaitSec: number;
  callers: WallboardCaller[];
  agents: Record<AgentState, number>;
  today: QueueFigures;
  recording: boolean;
}

export interface LiveQuality {
  mos: number;
  jitterMs: number;
  lossPct: number;
  rttMs: number;
  at: string;
  flagged: boolean;
}

export interface WallboardAgentCall {
  queueCallId: string;
  queue: string;
  caller: Party;
  answeredAt: string;
  durationSec: number;
  recorded: boolean;
  quality: LiveQuality | null;
  /** Every supervisor's monitoring session on this call. */
  monitors?: { supervisor: string; mode: MonitorMode }[];
}

export interface WallboardAgent {
  username: string;
  displayName: string;
  state: AgentState;
  reason: string | null;
  since: string;
  timeInStateSec: number;
  queues: { name: string; loggedIn: boolean }[];
  offer: { queueCallId: string; queue: string; caller: Party } | null;
  call: WallboardAgentCall | null;
  today: {
    handled: number;
    talkSec: number | null;
    ahtSec: number | null;
    occupancyPct: number | null;
  };
}

export interface Wallboard {
  at: string;
  qualityMosThreshold: number;
  queues: WallboardQueue[];
  agents: WallboardAgent[];
  flagged: { queueCallId: string; agent: string; queue: string; mos: number }[];
}

export type ReportInterval = '15m' | '1h' | '1d';

export interface ReportQuery {
  from?: string;
  to?: string;
  interval?: ReportInterval;
  by?: 'queue' | 'agent';
  queue?: string;
  agent?: string;
}

export interface Report {
  from: string;
  to: string;
  interval: ReportInterval;
  by: 'queue' | 'agent';
  rows: (QueueFigures | AgentFigures)[];
}

export interface CallQualitySummary {
  samples: number;
  mosMin: number;
  mosAvg: number;
  jitterMaxMs: number;
  lossMaxPct: number;
  rttMaxMs: number;
  flagged: boolean;
}

export interface RecordingEntry {
  queueCallId: string;
  queue: string;
  agent: string | null;
  caller: Party;
  enteredAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  url: string;
}

/** A monitoring session of this supervisor (API.md MonitorView). */
export interface MonitorView {
  id: string;
  queueCallId: string;
  queue: string;
  agent: string;
  caller: Party;
  supervisor: string;
  mode: MonitorMode;
  startedAt: string;
  modeSince: string;
}

export interface SupervisorEvents {
  wallboard: Wallboard;
  connection: { state: AgentConnectionState; attempt?: number; nextRetryMs?: number };
  error: { message: string };
}

export type { BearerSource };

export interface SupervisorClientOptions {
  auth: BearerSource;
  /** Default `api/supervisor/` relative to the page (the gateway's origin). */
  baseUrl?: string;
  fetch?: typeof fetch;
  EventSource?: EventSourceConstructor;
  random?: () => number;
  reconnectInitialDelayMs?: number;
  reconnectMaxDelayMs?: number;
  requestTimeoutMs?: number;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const STATES: AgentState[] = ['offline', 'available', 'offered', 'on-call', 'wrap-up', 'not-ready'];

/** Minimal shape check (a wrong payload must not break the view); fills what may be absent. */
export function parseWallboard(raw: unknown): Wallboard | undefined {
  if (!isObj(raw) || !Array.isArray(raw.queues) || !Array.isArray(raw.agents)) return undefined;
  const w = raw as unknown as Wallboard;
  return {
    at: typeof w.at === 'string' ? w.at : new Date().toISOString(),
    qualityMosThreshold: typeof w.qualityMosThreshold === 'number' ? w.qualityMosThreshold : 3.5,
    queues: w.queues.filter(isObj).map((q) => ({
      ...q,
      callers: Array.isArray(q.callers) ? q.callers : [],
      agents: Object.fromEntries(
        STATES.map((s) => [s, Number((isObj(q.agents) && q.agents[s]) || 0)]),
      ) as Record<AgentState, number>,
    })),
    agents: w.agents.filter(isObj).map((a) => ({
      ...a,
      reason: a.reason ?? null,
      offer: a.offer ?? null,
      call: a.call ? { ...a.call, quality: a.call.quality ?? null } : null,
      queues: Array.isArray(a.queues) ? a.queues : [],
    })),
    flagged: Array.isArray(w.flagged) ? w.flagged : [],
  };
}

export class SupervisorClient {
  private readonly emitter = new Emitter<SupervisorEvents>();
  private readonly base: URL;
  private readonly fetchFn: typeof fetch;
  private readonly stream: BearerEventStream;
  private _wallboard: Wallboard | undefined;

  constructor(private readonly opts: SupervisorClientOptions) {
    this.base = new URL(
      opts.baseUrl ?? 'api/supervisor/',
      globalThis.location?.href ?? 'http://localhost/',
    );
    this.fetchFn = boundedFetch(opts.fetch, opts.requestTimeoutMs ?? 10_000, 'the supervisor API');
    this.stream = new BearerEventStream({
      auth: opts.auth,
      ES: opts.EventSource ?? (globalThis.EventSource as EventSourceConstructor | undefined),
      url: (token) => this.url('events', { token }).href,
      event: 'wallboard',
      onData: (raw) => {
        const w = parseWallboard(raw);
        if (w) this.setWallboard(w);
      },
      onConnection: (c) => this.emitter.emit('connection', c),
      onError: (e) =>
        this.emitter.emit('error', { message: e instanceof Error ? e.message : String(e) }),
      random: opts.random ?? Math.random,
      initialDelayMs: opts.reconnectInitialDelayMs,
      maxDelayMs: opts.reconnectMaxDelayMs,
    });
  }

  get wallboard(): Wallboard | undefined {
    return this._wallboard;
  }

  on<K extends keyof SupervisorEvents>(
    event: K,
    fn: (payload: SupervisorEvents[K]) => void,
  ): () => void {
    return this.emitter.on(event, fn);
  }

  private url(path: string, query?: Record<string, string | undefined>): URL {
    const u = new URL(path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, v);
    return u;
  }

  /** One authorized request; a 401 signs in again and retries once. */
  private async send(
    method: 'GET' | 'POST' | 'DELETE',
    url: URL,
    body?: unknown,
    accept = 'application/json',
  ): Promise<Response> {
    return bearerRequest(this.fetchFn, this.opts.auth, method, url.href, body, accept);
  }

  private async json(
    method: 'GET' | 'POST' | 'DELETE',
    url: URL,
    body?: unknown,
  ): Promise<unknown> {
    const res = await this.send(method, url, body);
    const v: unknown = await res.json().catch(() => undefined);
    if (v === undefined) throw new AgentError('bad answer from the supervisor API', res.status);
    return v;
  }

  /** An action's answer carries the new wallboard: show it at once. */
  private async action(path: string, body?: unknown): Promise<Wallboard | undefined> {
    const v = await this.json('POST', this.url(path), body ?? {});
    const w = isObj(v) ? parseWallboard(v.wallboard) : undefined;
    if (w) this.setWallboard(w);
    return w;
  }

  // --- the live wallboard ------------------------------------------------------------

  /** Opens the live wallboard and keeps it open (reconnecting) until stop(). */
  connect(): Promise<void> {
    return this.stream.connect();
  }

  private setWallboard(w: Wallboard): void {
    this._wallboard = w;
    this.emitter.emit('wallboard', w);
  }

  async fetchWallboard(): Promise<Wallboard> {
    const w = parseWallboard(await this.json('GET', this.url('wallboard')));
    if (!w) throw new AgentError('bad answer from the supervisor API');
    this.setWallboard(w);
    return w;
  }

  // --- actions ---------------------------------------------------------------------

  /** Forces an agent's state (not-ready without a reason gets `supervisor`). */
  forceState(
    username: string,
    state: SelectableAgentState,
    reason?: string,
  ): Promise<Wallboard | undefined> {
    return this.action(
      `agents/${encodeURIComponent(username)}/state`,
      reason ? { state, reason } : { state },
    );
  }

  /** Logs the agent out of this supervisor's queues and makes them offline. */
  logoutAgent(username: string): Promise<Wallboard | undefined> {
    return this.action(`agents/${encodeURIComponent(username)}/logout`);
  }

  /** Offers this waiting caller to this (available) agent next. */
  sendCaller(queueCallId: string, agent: string): Promise<Wallboard | undefined> {
    return this.action(`calls/${encodeURIComponent(queueCallId)}/send`, { agent });
  }

  /**
   * Starts monitoring the call (the gateway calls this user's softphone and
   * answers once it answered) or changes the mode of the session at once.
   */
  async monitor(queueCallId: string, mode: MonitorMode): Promise<MonitorView> {
    const v = await this.json(
      'POST',
      this.url(`calls/${encodeURIComponent(queueCallId)}/monitor`),
      {
        mode,
      },
    );
    if (!isObj(v) || !isObj(v.monitor)) throw new AgentError('bad answer from the supervisor API');
    return v.monitor as unknown as MonitorView;
  }

  /** Ends this supervisor's monitoring of the call. */
  async stopMonitor(queueCallId: string): Promise<void> {
    await this.send('DELETE', this.url(`calls/${encodeURIComponent(queueCallId)}/monitor`));
  }

  // --- reports, calls, recordings ------------------------------------------------------

  private reportUrl(q: ReportQuery, format: 'json' | 'csv'): URL {
    return this.url('reports', {
      from: q.from,
      to: q.to,
      interval: q.interval,
      by: q.by,
      queue: q.queue,
      agent: q.agent,
      format,
    });
  }

  async report(q: ReportQuery = {}): Promise<Report> {
    const v = await this.json('GET', this.reportUrl(q, 'json'));
    if (!isObj(v) || !Array.isArray(v.rows)) throw new AgentError('bad report from the gateway');
    return v as unknown as Report;
  }

  /** The same report as CSV (a Blob to save). */
  async reportCsv(q: ReportQuery = {}): Promise<Blob> {
    const res = await this.send('GET', this.reportUrl(q, 'csv'), undefined, 'text/csv');
    return res.blob();
  }

  async recordings(
    q: { from?: string; to?: string; queue?: string } = {},
  ): Promise<RecordingEntry[]> {
    const v = await this.json('GET', this.url('recordings', q));
    if (!isObj(v) || !Array.isArray(v.recordings))
      throw new AgentError('bad recordings list from the gateway');
    return v.recordings as RecordingEntry[];
  }

  /**
   * The recording's WAV, fetched with the bearer token in a header (the page
   * then plays or saves it from a blob: URL; the token is never in a URL).
   * `download`: audited as a download rather than a play.
   */
  async recording(queueCallId: string, download = false): Promise<Blob> {
    const res = await this.send(
      'GET',
      this.url(`recordings/${encodeURIComponent(queueCallId)}`, {
        download: download ? '1' : undefined,
      }),
      undefined,
      'audio/wav',
    );
    return res.blob();
  }

  stop(): void {
    this.stream.stop();
  }
}
