/**
 * Runs `fn` when the main thread is idle (at most `timeoutMs` later). Start-up
 * work nobody waits for goes here, so it cannot delay the events a sign-in
 * waits on (the WebSocket's open, the REGISTER's answer, the badge's render).
 */
export function whenIdle(fn: () => void, timeoutMs = 500): void {
  const ric = globalThis.requestIdleCallback;
  if (ric) ric(() => fn(), { timeout: timeoutMs });
  else setTimeout(fn, 0);
}
