import { readdirSync, readFileSync } from 'node:fs';
import type { CallRecord } from '../../../gateway/src/records/callRecords.js';
import type { Stack } from './stack.js';

// Bounded polling instead of fixed sleeps: what a test waits for (a call
// record, a counter) happens asynchronously to the SIP replies it saw, so it
// asks until the condition holds or the bound passes, then fails naming what it
// waited for and what it saw last.

/** Poll `fn` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function until<T>(
  what: string,
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs = 5000,
  everyMs = 50,
  describeLast: () => string = () => '',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= end) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const last = describeLast();
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? `; last seen: ${last}` : ''}${
      lastErr ? ` (last error: ${String(lastErr)})` : ''
    }`,
  );
}

/**
 * The call record matching `pred` among the newest `limit`, once it is there:
 * Kamailio reports call events over evapi, after the SIP exchange the test saw.
 */
export function waitForRecord(
  stack: Stack,
  what: string,
  pred: (r: CallRecord) => boolean,
  timeoutMs = 5000,
  limit = 50,
): Promise<CallRecord> {
  let last: CallRecord[] = [];
  return until(
    `call record: ${what}`,
    async () => {
      last = await stack.gw.records.recent(limit);
      return last.find(pred);
    },
    timeoutMs,
    50,
    () => JSON.stringify(last.slice(0, 5)),
  );
}

/**
 * Resolves once every thread of `pid` is in the stopped state. kill(SIGSTOP)
 * returns before the stop takes effect: the kernel wakes one thread, which then
 * stops the others; on a busy machine another thread (rtpengine's ng listener)
 * can still answer a request sent right after kill() returned.
 */
export function untilStopped(pid: number, timeoutMs = 5000): Promise<true> {
  const taskDir = `/proc/${pid}/task`;
  return until(
    `all threads of ${pid} stopped`,
    () =>
      readdirSync(taskDir).every((tid) => {
        // state is the field after the ")" closing the command name
        const stat = readFileSync(`${taskDir}/${tid}/stat`, 'utf8');
        return /^[tT]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
      }),
    timeoutMs,
    10,
  );
}
