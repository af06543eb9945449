import { execFile } from 'node:child_process';
import { join } from 'node:path';

// Kamailio's RPC over its ctl socket (<run>/kamailio_ctl, binrpc) through
// Debian's `kamcmd`. Used only when the call-event connection comes back
// (reconciliation), never per call, so one short-lived process is cheap; the
// alternative, jsonrpcs, would need a FIFO pair or a token-guarded HTTP
// listener, and binrpc's encoding is not worth re-implementing for one call.

/** Runs `kamcmd <args>` against the ctl socket in `runDir`; rejects on error or after `timeoutMs`. */
export function kamcmd(runDir: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'kamcmd',
      ['-s', `unix:${join(runDir, 'kamailio_ctl')}`, ...args],
      // A dump of a busy table is megabytes of text.
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 512 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kamcmd ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

/**
 * The string items of `kamcmd htable.dump <table>`: its text form lists each
 * item as `name: <key>` then `value: <value>` lines (values here are one-line JSON).
 */
export function parseHtableDump(text: string): Map<string, string> {
  const items = new Map<string, string>();
  let name: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^\s*(name|value): (.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'name') name = m[2];
    else if (name !== undefined) {
      items.set(name, m[2] ?? '');
      name = undefined;
    }
  }
  return items;
}

/** Every call Kamailio still knows (ongoing, or ended recently): Call-ID → its latest event as JSON. */
export async function callStates(runDir: string): Promise<Map<string, string>> {
  return parseHtableDump(await kamcmd(runDir, ['htable.dump', 'calls']));
}
