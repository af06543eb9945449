// What the agent and supervisor clients share: a request with the contact
// center's bearer token (a refused token signs in again, once) and a live
// event stream that reconnects with its own backoff and a valid token.
import { backoffDelay } from './backoff';
import { AgentError } from './agent-sip';
import type { AgentConnectionState, EventSourceConstructor, EventSourceLike } from './agent';

/** Where the token comes from: the AgentClient that signed in. */
export interface BearerSource {
  /** A valid token; `renew`: the last one was refused (401), sign in again. */
  bearerToken(renew?: boolean): Promise<string>;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The `{ error }` of a refused request, or its status line. */
export async function errorText(res: Response): Promise<string> {
  const body: unknown = await res.json().catch(() => undefined);
  return isObj(body) && typeof body.error === 'string'
    ? body.error
    : `${res.status} ${res.statusText}`.trim();
}

/** One authorized request; a 401 signs in again and retries once; a refusal throws. */
export async function bearerRequest(
  fetchFn: typeof fetch,
  auth: BearerSource,
  method: string,
  href: string,
  body?: unknown,
  accept = 'application/json',
): Promise<Response> {
  const go = (token: string) =>
    fetchFn(href, {
      method,
      cache: 'no-store',
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: accept,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  let res = await go(await auth.bearerToken());
  if (res.status === 401) res = await go(await auth.bearerToken(true));
  if (!res.ok) throw new AgentError(await errorText(res), res.status);
  return res;
}

export interface BearerStreamOptions {
  auth: BearerSource;
  ES: EventSourceConstructor | undefined;
  /** The stream's address carrying this token (EventSource cannot send headers). */
  url: (token: string) => string;
  /** The named event and what to do with its JSON (a payload that does not parse is dropped). */
  event: string;
  onData: (raw: unknown) => void;
  onConnection: (c: {
    state: AgentConnectionState;
    attempt?: number;
    nextRetryMs?: number;
  }) => void;
  /** A reconnect failed; the stream tries again later unless stopped meanwhile. */
  onError: (e: unknown) => void;
  random: () => number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export class BearerEventStream {
  private source: EventSourceLike | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private opened = false;
  private stopped = true;

  constructor(private readonly o: BearerStreamOptions) {}

  /** Opens the stream (signing in first if needed) and keeps it open until stop(). */
  async connect(): Promise<void> {
    this.stopped = false;
    if (this.source) return;
    if (!this.o.ES) throw new AgentError('EventSource is not available');
    const token = await this.o.auth.bearerToken();
    if (this.stopped || this.source) return;
    this.open(token);
  }

  private open(token: string): void {
    const ES = this.o.ES;
    if (!ES) return;
    this.o.onConnection({ state: 'connecting', attempt: this.attempt });
    this.opened = false;
    const es = new ES(this.o.url(token));
    this.source = es;
    es.onopen = () => {
      if (this.source !== es) return;
      this.opened = true;
      this.attempt = 0;
      this.o.onConnection({ state: 'open' });
    };
    es.addEventListener(this.o.event, (ev) => {
      if (this.source !== es) return;
      let raw: unknown;
      try {
        raw = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.o.onData(raw);
    });
    es.onerror = () => {
      if (this.source !== es) return;
      // The browser would retry with the same URL (and the same, maybe expired,
      // token): take over with our own backoff and a valid token.
      es.close();
      this.source = undefined;
      this.scheduleReconnect(!this.opened);
    };
  }

  private scheduleReconnect(suspectToken: boolean): void {
    if (this.stopped || this.reconnectTimer !== undefined) return;
    this.attempt += 1;
    const delay = backoffDelay(this.attempt, {
      initialDelayMs: this.o.initialDelayMs ?? 1000,
      maxDelayMs: this.o.maxDelayMs ?? 30_000,
      random: this.o.random,
    });
    this.o.onConnection({ state: 'closed', attempt: this.attempt, nextRetryMs: delay });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopped) return;
      // A stream refused at once may mean the gateway forgot our token (restart): sign in again.
      this.o.auth
        .bearerToken(suspectToken && this.attempt > 1)
        .then((token) => {
          if (!this.stopped && !this.source) this.open(token);
        })
        .catch((e: unknown) => {
          this.o.onError(e);
          this.scheduleReconnect(suspectToken);
        });
    }, delay);
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.source?.close();
    this.source = undefined;
    this.o.onConnection({ state: 'closed' });
  }
}
