import type { CallState } from './types';

/**
 * Allowed call state transitions. Anything not listed is a bug (or a message
 * out of order) and is refused rather than papered over.
 *
 * | from        | to                                          | on                                  |
 * |-------------|---------------------------------------------|-------------------------------------|
 * | idle        | calling, ended                              | INVITE sent / failed before sending |
 * | calling     | ringing, early, established, ended          | 180 / 183+SDP / 2xx / final error   |
 * | ringing     | early, established, ended                   | 183+SDP / 2xx / final error, CANCEL |
 * | early       | established, ended                          | 2xx / final error, CANCEL           |
 * | incoming    | answering, ended                            | answer() / CANCEL, decline()        |
 * | answering   | established, ended                          | ACK / failure                       |
 * | established | held, ended                                 | hold() re-INVITE / BYE              |
 * | held        | established, ended                          | unhold() re-INVITE / BYE            |
 * | ended       | —                                           | terminal                            |
 *
 * A 180 after early media keeps 'early': the media path is already open.
 */
export const CALL_TRANSITIONS: Readonly<Record<CallState, readonly CallState[]>> = {
  idle: ['calling', 'ended'],
  calling: ['ringing', 'early', 'established', 'ended'],
  ringing: ['early', 'established', 'ended'],
  early: ['established', 'ended'],
  incoming: ['answering', 'ended'],
  answering: ['established', 'ended'],
  established: ['held', 'ended'],
  held: ['established', 'ended'],
  ended: [],
};

export function canTransition(from: CallState, to: CallState): boolean {
  return CALL_TRANSITIONS[from].includes(to);
}

export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
  constructor(
    readonly from: CallState,
    readonly to: CallState,
  ) {
    super(`illegal call state transition ${from} → ${to}`);
  }
}

/** Thrown when an action does not fit the call's state (e.g. hold() while ringing). */
export class CallStateError extends Error {
  override name = 'CallStateError';
  constructor(action: string, state: CallState) {
    super(`cannot ${action} a call in state '${state}'`);
  }
}
