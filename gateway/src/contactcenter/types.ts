// The contact center's own vocabulary, shared by the engine, the store and the
// agent API (API.md is the contract these types implement).

export const AGENT_STATES = [
  'offline',
  'available',
  'offered',
  'on-call',
  'wrap-up',
  'not-ready',
] as const;
export type AgentState = (typeof AGENT_STATES)[number];

/** How a queue call left the queue. */
export type QueueCallOutcome = 'answered' | 'abandoned' | 'overflowed' | 'exited';

export interface ScreenPop {
  callId: string;
  queue: string;
  queueDisplayName: string;
  caller: { number: string; name: string };
  waitedSec: number;
  /** This caller's earlier queue calls, newest first (at most 5). */
  history: { at: string; queue: string; agent: string | null; disposition: string | null }[];
  crmUrl: string | null;
}

export interface AgentQueueView {
  name: string;
  displayName: string;
  penalty: number;
  loggedIn: boolean;
  waiting: number;
  longestWaitSec: number;
}

export interface AgentView {
  username: string;
  state: AgentState;
  reason: string | null;
  since: string;
  queues: AgentQueueView[];
  offer: ScreenPop | null;
  /** `recorded`: the queue records its calls (the agent desktop shows it). */
  call: (ScreenPop & { answeredAt: string; recorded: boolean }) | null;
  wrapUp: { callId: string; queue: string; endsAt: string; dispositions: string[] } | null;
  /** A not-ready/offline chosen during a call or wrap-up, applied when wrap-up ends. */
  next: { state: 'not-ready' | 'offline'; reason: string | null } | null;
  today: { handled: number; avgHandleSec: number };
  reasonCodes: string[];
}

/** Why an action was refused; the API maps `code` to the HTTP status. */
export class AgentActionError extends Error {
  constructor(
    readonly code: 400 | 403 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'AgentActionError';
  }
}
