import { connect, type Socket } from 'node:net';
import { z } from 'zod';
import type { CallRecords } from '../records/callRecords.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';

// Call-record events from Kamailio's evapi module: Kamailio pushes one JSON
// object per dialog state over a single loopback TCP connection that this
// service opens, instead of an HTTP request per event (which cost about as
// much CPU per call as the rest of the service, see test/bench/results).
// evapi frames them as netstrings ("<length>:<bytes>,"); no maintained npm
// package parses netstrings, and the format is three lines, so it is here.

const callEvent = z.object({
  event: z.enum(['start', 'answered', 'ended', 'failed']),
  call_id: z.string().min(1),
  from_user: z.string().default(''),
  to_user: z.string().default(''),
  code: z.number().int().optional(),
  reason: z.string().optional(),
  /** Unix seconds (with microseconds): when Kamailio saw it (used when the event is read back late). */
  ts: z.number().optional(),
  /** Unix seconds: when the call began (its INVITE was routed); `start` itself is not sent live. */
  started_ts: z.number().optional(),
  answered_ts: z.number().optional(),
  /** `ended`: rtpengine may still hold some of this call's media (forked, trunk, call-control). */
  media_left: z.number().int().optional(),
});

/** Kamailio's unix seconds as unix ms. */
const msOf = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);

/** A call event as the records take it, live or read back. */
const recordEventOf = (e: z.infer<typeof callEvent>) => ({
  event: e.event,
  callId: e.call_id,
  fromUser: e.from_user,
  toUser: e.to_user,
  code: e.code,
  reason: e.reason,
  startedAt: msOf(e.started_ts),
});

/** rtpengine did not delete this call's media at its BYE: the service tries again. */
const mediaLeftEvent = z.object({ event: z.literal('media-left'), call_id: z.string().min(1) });

/**
 * A user's registrations changed: how many contacts remain and the latest
 * expiry among them (unix seconds). `ws-closed`: a WebSocket that carried one
 * of the user's contacts closed (that contact is unreachable until it registers again).
 */
const registrationEvent = z.object({
  event: z.enum(['registration', 'ws-closed']),
  user: z.string().min(1),
  contacts: z.number().int().min(0).default(0),
  expires: z.number().int().min(0).default(0),
});
export type RegistrationEvent = z.infer<typeof registrationEvent>;

/** Splits complete netstrings off the front of `buf`; `rest` is an incomplete tail to keep. */
export function takeNetstrings(buf: Buffer): { messages: string[]; rest: Buffer } {
  const messages: string[] = [];
  let at = 0;
  for (;;) {
    const colon = buf.indexOf(0x3a, at);
    // Without its colon yet, what is there must still look like the start of a length.
    const digits = buf.toString('latin1', at, colon < 0 ? buf.length : colon);
    if (colon < 0) {
      if (!/^\d{0,9}$/.test(digits))
        throw new Error(`not a netstring length: "${digits.slice(0, 20)}"`);
      break;
    }
    if (!/^\d{1,9}$/.test(digits))
      throw new Error(`not a netstring length: "${digits.slice(0, 20)}"`);
    const end = colon + 1 + Number(digits);
    if (buf.length < end + 1) break;
    if (buf[end] !== 0x2c) throw new Error('netstring without its closing comma');
    messages.push(buf.toString('utf8', colon + 1, end));
    at = end + 1;
  }
  return { messages, rest: buf.subarray(at) };
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

/** Keeps a connection to Kamailio's evapi open (reconnecting with backoff) and records what arrives. */
export class KamailioEvents {
  private socket?: Socket;
  private retryMs = RETRY_MIN_MS;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  private connectedOnce = false;
  private onFirstConnect?: () => void;

  constructor(
    private readonly port: number,
    private readonly deps: {
      records: CallRecords;
      metrics: Metrics;
      log: Logger;
      /**
       * The call is over and rtpengine may still hold some of its media: after
       * every `failed` event, an `ended` one that says `media_left`, and a
       * `media-left` event (Kamailio's own delete at the BYE failed).
       */
      onCallOver?: (callId: string) => void;
      /** A user's registrations changed (the contact center follows its agents'). */
      onRegistration?: (e: RegistrationEvent) => void;
      /**
       * Every call Kamailio still knows, Call-ID → its latest event (JSON): read
       * on each (re)connect to recover the events sent while not connected.
       */
      callStates?: () => Promise<Map<string, string>>;
      /** Makes a Kamailio about to be replaced refuse every request (before `catchUp` reads it). */
      drain?: () => Promise<void>;
    },
  ) {}

  private reconciling?: Promise<void>;

  /** Resolves when the reconciliation started by the latest (re)connect is done (tests wait on it). */
  get reconciled(): Promise<void> {
    return this.reconciling ?? Promise.resolve();
  }

  get connected(): boolean {
    return this.socket?.readyState === 'open';
  }

  /** Connects; resolves once connected, or after `waitMs` (then it keeps retrying in the background). */
  async start(waitMs = 3000): Promise<void> {
    this.stopped = false;
    const first = new Promise<void>((resolve) => (this.onFirstConnect = resolve));
    this.open();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)));
    await Promise.race([first, timeout]);
    clearTimeout(timer);
    if (!this.connected)
      this.deps.log.warn({ port: this.port }, 'Kamailio evapi not reachable yet; retrying');
  }

  stop(): void {
    this.stopped = true;
    // what arrived is written before the store closes
    this.deps.records.flush();
    clearTimeout(this.retryTimer);
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): void {
    const { log, metrics } = this.deps;
    let pending: Buffer = Buffer.alloc(0);
    const socket = connect({ host: '127.0.0.1', port: this.port });
    this.socket = socket;
    socket.on('connect', () => {
      this.retryMs = RETRY_MIN_MS;
      metrics.eventsConnected.set(1);
      log[this.connectedOnce ? 'warn' : 'info'](
        { port: this.port },
        'receiving call events from Kamailio',
      );
      this.connectedOnce = true;
      this.onFirstConnect?.();
      // Everything after this moment arrives on the stream; what came before may be missing.
      const openedBefore = new Date().toISOString();
      const previous = this.reconciling ?? Promise.resolve();
      this.reconciling = previous.then(() => this.reconcile(openedBefore));
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        const { messages, rest } = takeNetstrings(
          pending.length ? Buffer.concat([pending, chunk]) : chunk,
        );
        pending = rest;
        for (const m of messages) this.apply(m);
      } catch (err) {
        // A broken frame leaves the stream unreadable: start a fresh connection.
        log.error({ err }, 'unreadable call event stream from Kamailio; reconnecting');
        socket.destroy();
      }
    });
    socket.on('error', () => undefined); // 'close' follows and retries
    socket.on('close', () => {
      if (this.socket !== socket) return;
      metrics.eventsConnected.set(0);
      if (this.stopped) return;
      if (this.connectedOnce)
        log.warn('call event connection to Kamailio lost; call records catch up when it is back');
      this.retryTimer = setTimeout(() => this.open(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
    });
  }

  /**
   * Catches records up from a Kamailio that is already running, once, without
   * closing anything: a service that died (SIGKILL) left its Kamailio running,
   * and the calls that ended since are read before the restart replaces it.
   */
  async catchUp(): Promise<void> {
    // Kamailio refuses every request from now on (route DRAINING), so no call
    // ends there between this read and its replacement.
    if (this.deps.drain) await this.deps.drain().catch(() => undefined);
    await this.reconcile(new Date(0).toISOString(), 1);
  }

  /** Reads Kamailio's call states (a few tries: it may still be starting) and catches the records up. */
  private async reconcile(openedBefore: string, attempts = 5): Promise<void> {
    const { callStates, records, log } = this.deps;
    if (!callStates || this.stopped) return;
    for (let attempt = 1; attempt <= attempts && !this.stopped; attempt++) {
      let states: Map<string, string>;
      try {
        states = await callStates();
      } catch (err) {
        log.warn({ err, attempt }, 'cannot read call states from Kamailio yet');
        if (attempt < attempts) await new Promise((r) => setTimeout(r, 1000 * attempt));
        continue;
      }
      const known = [];
      for (const text of states.values()) {
        try {
          const e = callEvent.parse(JSON.parse(text));
          known.push({
            ...recordEventOf(e),
            at: msOf(e.ts),
            answeredAt: e.answered_ts ? e.answered_ts * 1000 : undefined,
          });
        } catch {
          // not a call event: skip it
        }
      }
      try {
        const counts = await records.reconcile(known, openedBefore);
        log[counts.added + counts.updated + counts.closed > 0 ? 'warn' : 'info'](
          { ...counts, known: known.length },
          'call records reconciled with Kamailio',
        );
      } catch (err) {
        log.error({ err }, 'call records not reconciled');
      }
      return;
    }
    log.error('call records not reconciled: Kamailio call states unreadable');
  }

  private apply(text: string): void {
    const { records, metrics, log } = this.deps;
    let e: z.infer<typeof callEvent>;
    try {
      const raw = JSON.parse(text) as { event?: unknown };
      if (raw.event === 'registration' || raw.event === 'ws-closed') {
        this.deps.onRegistration?.(registrationEvent.parse(raw));
        return;
      }
      if (raw.event === 'media-left') {
        this.deps.onCallOver?.(mediaLeftEvent.parse(raw).call_id);
        return;
      }
      e = callEvent.parse(raw);
    } catch (err) {
      log.error({ err }, 'call event from Kamailio not understood');
      return;
    }
    metrics.callEvents.inc({ event: e.event });
    // Not awaited: the store applies a node's writes in order (see CallRecords).
    records
      .apply(recordEventOf(e))
      .catch((err: unknown) =>
        log.error({ err, event: e.event, callId: e.call_id }, 'call record not written'),
      );
    // a plain call's one session went with Kamailio's delete at the BYE
    if (e.event === 'failed' || (e.event === 'ended' && e.media_left))
      this.deps.onCallOver?.(e.call_id);
  }
}
