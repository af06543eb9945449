import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { jsonRpc } from './rpc.js';

// Kamailio keeps the service's answers for users (HA1 per REGISTER credentials,
// whole /request answers per request facts) in two htables for
// `decision.cacheSeconds` (DECISIONS.md "Cache"). Whoever changes the
// directory empties both right after, over Kamailio's RPC FIFO in the run
// folder, so a changed password or a removed user counts from the next
// request. Both tables are emptied whole: a user's change can alter answers
// keyed on other users' facts (a DID or a callee that no longer exists), and
// directory changes are rare next to calls.

export const DECISION_CACHE_TABLES = ['ha1', 'decided'] as const;

export type ForgetOutcome = 'flushed' | 'kamailio-not-running';

/**
 * Empties Kamailio's decision cache in `runDir`. When no Kamailio reads that
 * run folder's FIFO there is nothing cached, which is not an error.
 */
export async function forgetDecisions(runDir: string, timeoutMs = 5000): Promise<ForgetOutcome> {
  if (!existsSync(join(runDir, 'kamailio_rpc.fifo'))) return 'kamailio-not-running';
  try {
    for (const table of DECISION_CACHE_TABLES)
      await jsonRpc(runDir, 'htable.flush', [table], timeoutMs);
    return 'flushed';
  } catch (err) {
    // ENOENT: no FIFO (never started here); ENXIO: a FIFO nobody reads (Kamailio stopped)
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENXIO') return 'kamailio-not-running';
    throw err;
  }
}
