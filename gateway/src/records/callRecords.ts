import type { Db } from '../store/db.js';

export type CallEvent = 'start' | 'answered' | 'ended' | 'failed';

export interface CallRecord {
  id: number;
  callId: string;
  fromUser: string;
  toUser: string;
  direction: string;
  trunk: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  status: string;
  code: number | null;
  reason: string | null;
}

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
  // Prepared once: three statements run per call, at call rate.
  private readonly insertStart;
  private readonly markAnswered;
  private readonly markEnded;
  private readonly markFailed;

  constructor(private readonly db: Db) {
    this.insertStart = db.prepare(
      `INSERT INTO call_records (call_id, from_user, to_user, direction, trunk, started_at)
       VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(call_id) DO NOTHING`,
    );
    this.markAnswered = db.prepare(
      `UPDATE call_records SET answered_at = ?, status = 'answered', code = 200 WHERE call_id = ? AND answered_at IS NULL`,
    );
    this.markEnded = db.prepare(
      `UPDATE call_records SET ended_at = ?, status = 'ended' WHERE call_id = ? AND ended_at IS NULL`,
    );
    this.markFailed = db.prepare(
      `UPDATE call_records SET ended_at = ?, status = 'failed', code = ?, reason = ? WHERE call_id = ? AND ended_at IS NULL`,
    );
  }

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
  }): void {
    const now = new Date(e.at ?? Date.now()).toISOString();
    switch (e.event) {
      case 'start': {
        const p = this.pending.get(e.callId);
        this.pending.delete(e.callId);
        this.insertStart.run(
          e.callId,
          e.fromUser,
          e.toUser,
          p?.direction ?? 'local',
          p?.trunk ?? null,
          now,
        );
        break;
      }
      case 'answered':
        this.markAnswered.run(now, e.callId);
        break;
      case 'ended':
        this.markEnded.run(now, e.callId);
        break;
      case 'failed':
        this.markFailed.run(now, e.code ?? null, e.reason ?? null, e.callId);
        break;
    }
  }

  /**
   * Catch up after the event connection to Kamailio was down: `known` is every
   * call Kamailio still knows (its latest event); a record opened before
   * `openedBefore` (ISO) that is still open and that Kamailio no longer knows
   * lost its end with the connection (or with a restarted Kamailio): it is
   * closed now, so no record stays open for ever.
   */
  reconcile(
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
  ): { added: number; updated: number; closed: number } {
    const counts = { added: 0, updated: 0, closed: 0 };
    const byCallId = this.db.prepare(
      'SELECT answered_at AS answeredAt, ended_at AS endedAt FROM call_records WHERE call_id = ?',
    );
    const run = this.db.transaction(() => {
      const ids = new Set<string>();
      for (const k of known) {
        ids.add(k.callId);
        const before = byCallId.get(k.callId) as
          { answeredAt: string | null; endedAt: string | null } | undefined;
        if (before?.endedAt) continue;
        // Replay what the latest event implies: start, answered (if it ended normally), then it.
        this.apply({ ...k, event: 'start', at: before ? undefined : k.at });
        if (k.event === 'ended' && !before?.answeredAt)
          this.apply({ ...k, event: 'answered', at: k.answeredAt ?? k.at });
        if (k.event !== 'start') this.apply(k);
        if (!before) counts.added += 1;
        else if (k.event !== 'start' && !(k.event === 'answered' && before.answeredAt))
          counts.updated += 1;
      }
      const open = this.db
        .prepare(
          'SELECT call_id AS callId, answered_at AS answeredAt FROM call_records WHERE ended_at IS NULL AND started_at < ?',
        )
        .all(openedBefore) as { callId: string; answeredAt: string | null }[];
      const now = new Date().toISOString();
      for (const r of open) {
        if (ids.has(r.callId)) continue;
        if (r.answeredAt) this.markEnded.run(now, r.callId);
        else this.markFailed.run(now, null, 'Lost: no call state after reconnect', r.callId);
        counts.closed += 1;
      }
    });
    run();
    return counts;
  }

  /** Records still open (no end): calls in progress, or ends not yet seen. */
  openCount(): number {
    return (
      this.db.prepare('SELECT COUNT(*) AS n FROM call_records WHERE ended_at IS NULL').get() as {
        n: number;
      }
    ).n;
  }

  recent(limit = 50): CallRecord[] {
    return this.db
      .prepare(
        `SELECT id, call_id AS callId, from_user AS fromUser, to_user AS toUser, direction, trunk,
                started_at AS startedAt, answered_at AS answeredAt, ended_at AS endedAt, status, code, reason
         FROM call_records ORDER BY id DESC LIMIT ?`,
      )
      .all(limit) as CallRecord[];
  }
}
