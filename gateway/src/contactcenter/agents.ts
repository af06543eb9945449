import type { Logger } from '../log.js';
import type { AgentRow, CcStore, MemberRow } from './store.js';
import type { AgentState } from './types.js';

// Agents as the engine sees them: state, why, since when, and the runtime
// links (the offer ringing them, the call they are on). Every change is saved
// at once (a restart restores it) and logged as an 'agent-state' event.

export interface Agent {
  username: string;
  state: AgentState;
  reason: string | null;
  since: number;
  /** Longest-idle: when the last call ended, or when they became available from a pause. */
  idleSince: number | null;
  /** Unanswered offers in a row (auto-pause). */
  unanswered: number;
  /** not-ready/offline chosen during a call or wrap-up: applied when wrap-up ends. */
  next: { state: 'not-ready' | 'offline'; reason: string | null } | null;
  wrap: { callId: string; queue: string; endsAt: number } | null;
  /** The queue call ringing this agent now. */
  offerCallId: string | null;
  /** The queue call this agent is bridged to now. */
  callId: string | null;
  /** False once every registration is gone (registrationChanged). */
  registered: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();
const ms = (s: string | null) => (s ? Date.parse(s) : null);

export class AgentBook {
  private readonly agents = new Map<string, Agent>();
  private memberCache: MemberRow[] = [];

  constructor(
    private readonly store: CcStore,
    private readonly log: Logger,
    private readonly onChange: () => void,
    /** Every saved change (a cluster publishes it to the other nodes). */
    private readonly onSaved: (a: Agent) => void = () => undefined,
  ) {}

  /** Read every agent and membership from the store (start, and after admin changes). */
  load(): Agent[] {
    this.memberCache = this.store.members();
    const loaded: Agent[] = [];
    for (const r of this.store.agents()) {
      if (this.agents.has(r.username)) continue;
      const a: Agent = {
        username: r.username,
        state: r.state,
        reason: r.reason,
        since: ms(r.since) ?? Date.now(),
        idleSince: ms(r.idleSince),
        unanswered: r.unanswered,
        next: r.nextState ? { state: r.nextState, reason: r.nextReason } : null,
        wrap:
          r.wrapCallId && r.wrapEndsAt
            ? { callId: r.wrapCallId, queue: '', endsAt: Date.parse(r.wrapEndsAt) }
            : null,
        offerCallId: null,
        callId: null,
        registered: true,
      };
      this.agents.set(a.username, a);
      loaded.push(a);
    }
    return loaded;
  }

  reloadMembers(): void {
    this.memberCache = this.store.members();
  }

  get(username: string): Agent | undefined {
    return this.agents.get(username);
  }

  all(): Agent[] {
    return [...this.agents.values()];
  }

  /** An agent is a user with at least one queue. */
  isAgent(username: string): boolean {
    return this.memberCache.some((m) => m.username === username);
  }

  members(filter: { username?: string; queue?: string } = {}): MemberRow[] {
    return this.memberCache.filter(
      (m) =>
        (!filter.username || m.username === filter.username) &&
        (!filter.queue || m.queue === filter.queue),
    );
  }

  /** Change state; saved and logged with why. */
  set(a: Agent, state: AgentState, reason: string | null, why: string): void {
    const changed = a.state !== state || a.reason !== reason;
    a.state = state;
    a.reason = reason;
    if (changed) a.since = Date.now();
    this.save(a);
    if (changed) {
      this.store.event({
        at: iso(Date.now()),
        event: 'agent-state',
        agent: a.username,
        data: { state, reason, why },
      });
      this.log.info({ agent: a.username, state, reason, why }, 'agent state');
    }
    this.onChange();
  }

  save(a: Agent): void {
    this.store.saveAgent(AgentBook.row(a));
    this.onSaved(a);
  }

  /**
   * Another cluster node changed this agent (it logged the change): take its
   * state, so this node's agent views and wallboards show it. The
   * runtime links (offer, call) stay this node's own. False: not an agent here.
   */
  applyRemote(r: AgentRow): boolean {
    const a = this.agents.get(r.username);
    if (!a) return false;
    a.state = r.state;
    a.reason = r.reason;
    a.since = ms(r.since) ?? a.since;
    a.idleSince = ms(r.idleSince);
    a.unanswered = r.unanswered;
    a.next = r.nextState ? { state: r.nextState, reason: r.nextReason } : null;
    a.wrap =
      r.wrapCallId && r.wrapEndsAt
        ? { callId: r.wrapCallId, queue: a.wrap?.queue ?? '', endsAt: Date.parse(r.wrapEndsAt) }
        : null;
    // Kept here too (not published again): a restart of this node starts from it.
    this.store.saveAgent(AgentBook.row(a));
    return true;
  }

  /** The agent as its stored row (what is saved, and what a cluster publishes). */
  static row(a: Agent): AgentRow {
    return {
      username: a.username,
      state: a.state,
      reason: a.reason,
      since: iso(a.since),
      idleSince: a.idleSince === null ? null : iso(a.idleSince),
      unanswered: a.unanswered,
      nextState: a.next?.state ?? null,
      nextReason: a.next?.reason ?? null,
      wrapCallId: a.wrap?.callId ?? null,
      wrapEndsAt: a.wrap ? iso(a.wrap.endsAt) : null,
    };
  }
}
