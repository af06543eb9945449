export interface BackoffOptions {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Injected for tests; Math.random otherwise. */
  random?: () => number;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): exponential from
 * initialDelayMs, capped at maxDelayMs, with "equal jitter" (half fixed, half
 * random) so that every tab of every user does not hit a restarted gateway in
 * the same instant, while a single client still backs off predictably.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const n = Math.max(1, Math.floor(attempt));
  const ceiling = Math.min(opts.maxDelayMs, opts.initialDelayMs * 2 ** (n - 1));
  const r = (opts.random ?? Math.random)();
  return Math.round(ceiling / 2 + (ceiling / 2) * r);
}
