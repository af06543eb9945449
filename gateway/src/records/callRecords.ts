import type { CallRecordRow, CallRecordStorage } from '../store/storage.js';

export type CallEvent = 'start' | 'answered' | 'ended' | 'failed';

export type CallRecord = CallRecordRow;

interface PendingCall {
  direction: string;
  trunk?: string;
  at: number;
}

/** An event of a call as the service applies it. */
export interface RecordEvent {
  event: CallEvent;
  callId: string;
  fromUser: string;
  toUser: string;
  code?: number;
  reason?: string;
  /** When it happened (unix ms), for an event read back late; else now. */
  at?: number;
  /** When the call began (unix ms): Kamailio sends no live `start`, its answer or failure opens the record. */
  startedAt?: number;
}

/** Routing context remembered between the decision and the call's first event (its answer or failure: ringing ends within Kamailio's fr_inv_timer, 60 s). */
const PENDING_TTL_MS = 120_000;

/** How long live events wait to be written together (one SQLite transaction per batch). */
const BATCH_MS = 20;

/**
 * Two writes made one after the other without waiting: the store applies them
 * in that order, and SQLite's run inside the batch's transaction (a `.then`
 * would run the second after the transaction, and after later events' writes).
 */
const both = (a: Promise<void>, b: Promise<void>): Promise<void> =>
  Promise.all([a, b]).then(() => undefined);

interface QueuedWrite {
  write: () => Promise<void>;
  done: (err?: unknown) => void;
}

/**
 * Call records (CDRs) from Kamailio's dialog events. The routing decision
 * knows the call's direction and trunk before Kamailio has accepted it, so it
 * is kept briefly by Call-ID and joined to the call's first event (its answer or failure).
 *
 * Live events are queued and written together every BATCH_MS, inside one
 * transaction when the store offers one (SQLite): a commit per event was most
 * of the service's CPU per call (test/bench/results/gateway.md). Readers and
 * the reconciliation flush the queue first, so they see every event applied.
 */
export class CallRecords {
  private readonly pending = new Map<string, PendingCall>();
  private queue: QueuedWrite[] = [];
  private timer?: NodeJS.Timeout;

  /**
   * `store`: SQLite on one machine, the cluster's PostgreSQL otherwise. Both
   * apply a node's writes in the order they were made, so apply() need not be
   * awaited for the start, answer and end of a call to land in that order.
   * `transaction`: runs a batch's writes in one transaction (SQLite, whose
   * writes run synchronously when called); without it each write stands alone.
   */
  constructor(
    private readonly store: CallRecordStorage,
    private readonly opts: { transaction?: (writes: () => void) => void; batchMs?: number } = {},
  ) {}

  noteDecision(callId: string, direction: string, trunk?: string): void {
    const now = Date.now();
    this.pending.set(callId, { direction, trunk, at: now });
    // Bounded: forget decisions Kamailio never turned into a call (challenged, rejected).
    if (this.pending.size > 10_000) {
      for (const [id, p] of this.pending) if (now - p.at > PENDING_TTL_MS) this.pending.delete(id);
    }
  }

  /** A live event: queued, written with the others of its batch (in arrival order). */
  apply(e: RecordEvent): Promise<void> {
    // the time and the decision's context are taken now, not when the batch is written
    const write = this.writeFor(e);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ write, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.timer ??= setTimeout(() => this.flush(), this.opts.batchMs ?? BATCH_MS);
    });
  }

  /** Writes every queued event now (one transaction when the store offers it). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue;
    if (!batch.length) return;
    this.queue = [];
    const started: Promise<void>[] = [];
    const run = () => {
      for (const q of batch) {
        try {
          started.push(q.write());
        } catch (err) {
          // one event's failure is its own: the batch's other writes still commit
          started.push(Promise.reject(err instanceof Error ? err : new Error(String(err))));
        }
      }
    };
    try {
      if (this.opts.transaction) this.opts.transaction(run);
      else run();
    } catch (err) {
      // the transaction itself failed (BEGIN/COMMIT): every write of the batch with it
      for (const q of batch) q.done(err);
      return;
    }
    batch.forEach((q, i) =>
      started[i]!.then(
        () => q.done(),
        (err: unknown) => q.done(err ?? new Error('call record not written')),
      ),
    );
  }

  /**
   * The store writes of one event, bound to the moment it arrived. Kamailio
   * sends no live `start` (one event fewer per call): an answer or a failure
   * opens the record first (a no-op when `start` came, as in a reconciliation).
   */
  private writeFor(e: RecordEvent): () => Promise<void> {
    const now = new Date(e.at ?? Date.now()).toISOString();
    switch (e.event) {
      case 'start':
        return this.startFor(e, now);
      case 'answered': {
        const start = this.startFor(e, now);
        return () => both(start(), this.store.answered(e.callId, now));
      }
      case 'ended':
        return () => this.store.ended(e.callId, now);
      case 'failed': {
        const start = this.startFor(e, now);
        return () =>
          both(start(), this.store.failed(e.callId, now, e.code ?? null, e.reason ?? null));
      }
    }
  }

  /** Opens the record (with the decision's context, taken now); `now` when the event says no start. */
  private startFor(e: RecordEvent, now: string): () => Promise<void> {
    const p = this.pending.get(e.callId);
    this.pending.delete(e.callId);
    const startedAt = e.startedAt === undefined ? now : new Date(e.startedAt).toISOString();
    return () =>
      this.store.start({
        callId: e.callId,
        fromUser: e.fromUser,
        toUser: e.toUser,
        direction: p?.direction ?? 'local',
        trunk: p?.trunk ?? null,
        startedAt,
      });
  }

  /** One event written at once, after everything queued (the reconciliation's replay). */
  private applyNow(e: RecordEvent): Promise<void> {
    this.flush();
    return this.writeFor(e)();
  }

  /**
   * Catch up after the event connection to Kamailio was down: `known` is every
   * call Kamailio still knows (its latest event); a record opened before
   * `openedBefore` (ISO) that is still open and that Kamailio no longer knows
   * lost its end with the connection (or with a restarted Kamailio): it is
   * closed now, so no record stays open for ever.
   */
  async reconcile(
    known: {
      event: CallEvent;
      callId: string;
      fromUser: string;
      toUser: string;
      code?: number;
      reason?: string;
      at?: number;
      startedAt?: number;
      answeredAt?: number;
    }[],
    openedBefore: string,
  ): Promise<{ added: number; updated: number; closed: number }> {
    const counts = { added: 0, updated: 0, closed: 0 };
    const ids = new Set<string>();
    for (const k of known) {
      ids.add(k.callId);
      this.flush();
      const before = await this.store.get(k.callId);
      if (before?.endedAt) continue;
      // Replay what the latest event implies: start, answered (if it ended normally), then it.
      await this.applyNow({ ...k, event: 'start', at: before ? undefined : (k.startedAt ?? k.at) });
      if (k.event === 'ended' && !before?.answeredAt)
        await this.applyNow({ ...k, event: 'answered', at: k.answeredAt ?? k.at });
      if (k.event !== 'start') await this.applyNow(k);
      if (!before) counts.added += 1;
      else if (k.event !== 'start' && !(k.event === 'answered' && before.answeredAt))
        counts.updated += 1;
    }
    const now = new Date().toISOString();
    this.flush();
    for (const r of await this.store.openBefore(openedBefore)) {
      if (ids.has(r.callId)) continue;
      if (r.answeredAt) await this.store.ended(r.callId, now);
      else await this.store.failed(r.callId, now, null, 'Lost: no call state after reconnect');
      counts.closed += 1;
    }
    return counts;
  }

  /** Records still open (no end): calls in progress, or ends not yet seen. */
  openCount(): Promise<number> {
    this.flush();
    return this.store.openCount();
  }

  /** Newest first. */
  recent(limit = 50): Promise<CallRecord[]> {
    this.flush();
    return this.store.recent(limit);
  }
}
