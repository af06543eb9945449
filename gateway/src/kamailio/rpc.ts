import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

// Kamailio's RPC, used only when the call-event connection comes back
// (reconciliation), never per call. Two ways in: `kamcmd` on the ctl socket
// (<run>/kamailio_ctl, binrpc), whose client refuses any reply over 64 kB
// ("reply too big": a few hundred calls' states), and jsonrpcs on a FIFO in
// the run folder (<run>/kamailio_rpc.fifo), which writes its JSON answer into
// a reply FIFO we make, with no such limit (20,000 states, 4 MB, checked).

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

let replySeq = 0;

/** One JSON-RPC call over jsonrpcs' FIFO; its `result`. Rejects when Kamailio is not there or after `timeoutMs`. */
export async function jsonRpc(
  runDir: string,
  method: string,
  params: unknown[],
  timeoutMs = 10_000,
): Promise<unknown> {
  // jsonrpcs accepts reply names of letters, digits and underscores only
  const name = `rpc_reply_${process.pid}_${++replySeq}`;
  const replyPath = join(runDir, name);
  await new Promise<void>((resolve, reject) =>
    execFile('mkfifo', ['-m', '600', replyPath], (err) => (err ? reject(err) : resolve())),
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    // Opening a FIFO to read waits for its writer (Kamailio): started first.
    const reading = readFile(replyPath, 'utf8');
    // Non-blocking: with no Kamailio reading its FIFO this fails at once (ENXIO).
    const req = await open(
      join(runDir, 'kamailio_rpc.fifo'),
      constants.O_WRONLY | constants.O_NONBLOCK,
    );
    try {
      await req.write(
        JSON.stringify({ jsonrpc: '2.0', method, params, reply_name: name, id: 1 }) + '\n',
      );
    } finally {
      await req.close();
    }
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Unblock the reader (a writer that closes at once: it reads EOF), then fail.
        void open(replyPath, constants.O_WRONLY | constants.O_NONBLOCK)
          .then((h) => h.close())
          .catch(() => undefined);
        reject(new Error(`Kamailio RPC ${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    const text = await Promise.race([reading, timedOut]);
    const answer = JSON.parse(text) as { result?: unknown; error?: { message?: string } };
    if (answer.error) throw new Error(`Kamailio RPC ${method}: ${answer.error.message ?? 'error'}`);
    return answer.result;
  } finally {
    clearTimeout(timer);
    await rm(replyPath, { force: true });
  }
}

/** Every call Kamailio still knows (ongoing, or ended recently): Call-ID → its latest event as JSON. */
export async function callStates(runDir: string): Promise<Map<string, string>> {
  const result = await jsonRpc(runDir, 'htable.dump', ['calls']);
  const items = new Map<string, string>();
  for (const slot of Array.isArray(result) ? (result as { slot?: unknown }[]) : []) {
    for (const it of Array.isArray(slot.slot) ? (slot.slot as Record<string, unknown>[]) : []) {
      if (typeof it.name === 'string' && typeof it.value === 'string') items.set(it.name, it.value);
    }
  }
  return items;
}

/** Tells a Kamailio about to be replaced to refuse every request (route DRAINING). */
export async function drainKamailio(runDir: string): Promise<void> {
  await jsonRpc(runDir, 'htable.sets', ['calls', 'draining', '1']);
}
