import type { CallRecordRow, CallRecordStorage } from '../store/storage.js';

export type CallEvent = 'start' | 'answered' | 'ended' | 'failed';

export type CallRecord = CallRecordRow;

interface PendingCall {
  direction: string;
  trunk?: string;
  at: number;
}

/** Routing context remembered between the decision and Kamailio's `start` event. */
const PENDING_TTL_MS = 120_000;

/**
 * Call records (CDRs) from Kamailio's dialog events. The routing decision
 * knows the call's direction and trunk before Kamailio has accepted it, so it
 * is kept briefly by Call-ID and joined to the `start` event.
 */
export class CallRecords {
  private readonly pending = new Map<string, PendingCall>();

  /**
   * `store`: SQLite on one machine, the cluster's PostgreSQL otherwise. Both
   * apply a node's writes in the order they were made, so apply() need not be
   * awaited for the start, answer and end of a call to land in that order.
   */
  constructor(private readonly store: CallRecordStorage) {}

  noteDecision(callId: string, direction: string, trunk?: string): void {
    const now = Date.now();
    this.pending.set(callId, { direction, trunk, at: now });
    // Bounded: forget decisions Kamailio never turned into a call (challenged, rejected).
    if (this.pending.size > 10_000) {
      for (const [id, p] of this.pending) if (now - p.at > PENDING_TTL_MS) this.pending.delete(id);
    }
  }

  apply(e: {
    event: CallEvent;
    callId: string;
    fromUser: string;
    toUser: string;
    code?: number;
    reason?: string;
    /** When it happened (unix ms), for an event read back late; else now. */
    at?: number;
  }): Promise<void> {
    const now = new Date(e.at ?? Date.now()).toISOString();
    switch (e.event) {
      case 'start': {
        const p = this.pending.get(e.callId);
        this.pending.delete(e.callId);
        return this.store.start({
          callId: e.callId,
          fromUser: e.fromUser,
          toUser: e.toUser,
          direction: p?.direction ?? 'local',
          trunk: p?.trunk ?? null,
          startedAt: now,
        });
      }
      case 'answered':
        return this.store.answered(e.callId, now);
      case 'ended':
        return this.store.ended(e.callId, now);
      case 'failed':
        return this.store.failed(e.callId, now, e.code ?? null, e.reason ?? null);
    }
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
      answeredAt?: number;
    }[],
    openedBefore: string,
  ): Promise<{ added: number; updated: number; closed: number }> {
    const counts = { added: 0, updated: 0, closed: 0 };
    const ids = new Set<string>();
    for (const k of known) {
      ids.add(k.callId);
      const before = await this.store.get(k.callId);
      if (before?.endedAt) continue;
      // Replay what the latest event implies: start, answered (if it ended normally), then it.
      await this.apply({ ...k, event: 'start', at: before ? undefined : k.at });
      if (k.event === 'ended' && !before?.answeredAt)
        await this.apply({ ...k, event: 'answered', at: k.answeredAt ?? k.at });
      if (k.event !== 'start') await this.apply(k);
      if (!before) counts.added += 1;
      else if (k.event !== 'start' && !(k.event === 'answered' && before.answeredAt))
        counts.updated += 1;
    }
    const now = new Date().toISOString();
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
    return this.store.openCount();
  }

  /** Newest first. */
  recent(limit = 50): Promise<CallRecord[]> {
    return this.store.recent(limit);
  }
}
