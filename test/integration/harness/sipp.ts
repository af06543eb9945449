import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../gateway/src/main.js';
import { ensureUlawTone } from '../../../gateway/src/services/render.js';

// sipp runs with bounds: -m (calls), -timeout (global, seconds, an error when
// reached), -recv_timeout (per expected message), and a watchdog that kills it
// a little later still. Each run's SIP messages land in test/artifacts for
// post-mortems; exit code 0 means every call went exactly as its scenario says.

export const SIPP_DIR = join(REPO_ROOT, 'test', 'sipp');

export interface SippOptions {
  /** File in test/sipp/. */
  scenario: string;
  /** Label for the artifacts (messages log). */
  label: string;
  /** Where the artifacts go (a test file's folder). */
  artifacts: string;
  /** UAC: host:port to send to. Absent for a UAS. */
  remote?: string;
  localIp?: string;
  localPort: number;
  mediaPort?: number;
  rtpEcho?: boolean;
  /** -s: the user part of the Request-URI (callee) or the registering user. */
  service?: string;
  auth?: { user: string; password: string };
  keys?: Record<string, string | number>;
  /** -m: stop after this many calls. */
  calls?: number;
  /** -l: at most this many at once. */
  limit?: number;
  /** -r: calls per second. */
  rate?: number;
  /** -d: pause length in scenarios (ms). */
  durationMs?: number;
  /** Global bound (seconds). */
  timeoutSec?: number;
  /** Working directory (rtp_stream files are relative to it). */
  cwd?: string;
  extra?: string[];
}

export interface SippResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** The SIP messages sipp sent and received (-trace_msg). */
  messages: string;
  elapsedMs: number;
}

function args(o: SippOptions, messageFile: string, errorFile: string): string[] {
  const a = ['-sf', join(SIPP_DIR, o.scenario)];
  if (o.remote) a.push(o.remote);
  a.push('-i', o.localIp ?? '127.0.0.1', '-p', String(o.localPort));
  if (o.mediaPort !== undefined)
    a.push('-mi', o.localIp ?? '127.0.0.1', '-mp', String(o.mediaPort));
  if (o.rtpEcho) a.push('-rtp_echo');
  if (o.service) a.push('-s', o.service);
  if (o.auth) a.push('-au', o.auth.user, '-ap', o.auth.password);
  for (const [k, v] of Object.entries(o.keys ?? {})) a.push('-key', k, String(v));
  a.push('-m', String(o.calls ?? 1));
  if (o.limit) a.push('-l', String(o.limit));
  if (o.rate) a.push('-r', String(o.rate));
  if (o.durationMs !== undefined) a.push('-d', String(o.durationMs));
  a.push('-timeout', `${o.timeoutSec ?? 15}s`, '-timeout_error', '-recv_timeout', '10000');
  a.push(
    '-nostdin',
    '-trace_msg',
    '-message_file',
    messageFile,
    '-trace_err',
    '-error_file',
    errorFile,
  );
  a.push(...(o.extra ?? []));
  return a;
}

export interface SippProcess {
  child: ChildProcess;
  /** Resolves when sipp exits by itself. */
  done: Promise<SippResult>;
  /** Stop it now (SIGTERM, then SIGKILL) and return what it did. */
  stop(): Promise<SippResult>;
}

/**
 * Every sipp still running, so a failed test never leaves one holding a port.
 * One set and one exit hook per process: test files that share a worker each
 * evaluate this module again (one hook each would pass Node's listener limit).
 */
const shared = globalThis as { sippRunning?: Set<SippProcess> };
const running: Set<SippProcess> = (shared.sippRunning ??= (() => {
  const set = new Set<SippProcess>();
  process.once('exit', () => {
    for (const p of set) p.child.kill('SIGKILL');
  });
  return set;
})());

export async function stopAllSipp(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

export function startSipp(o: SippOptions): SippProcess {
  mkdirSync(o.artifacts, { recursive: true });
  const messageFile = join(o.artifacts, `${o.label}-messages.log`);
  const errorFile = join(o.artifacts, `${o.label}-errors.log`);
  const started = Date.now();
  const child = spawn('sipp', args(o, messageFile, errorFile), {
    cwd: o.cwd ?? o.artifacts,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const watchdog = setTimeout(() => child.kill('SIGKILL'), ((o.timeoutSec ?? 15) + 10) * 1000);
  const done = new Promise<SippResult>((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(watchdog);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        messages: existsSync(messageFile) ? readFileSync(messageFile, 'utf8') : '',
        elapsedMs: Date.now() - started,
      });
    });
  });
  const proc: SippProcess = {
    child,
    done,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        const r = await done;
        clearTimeout(t);
        return r;
      }
      return done;
    },
  };
  running.add(proc);
  void done.then(() => running.delete(proc));
  return proc;
}

export function runSipp(o: SippOptions): Promise<SippResult> {
  return startSipp(o).done;
}

/** Resolves once something holds UDP host:port (a sipp UAS has bound its socket). */
export async function waitUdpBound(host: string, port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, host, () => s.close(() => resolve(true)));
    });
    if (!free) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing bound UDP ${host}:${port} within ${timeoutMs} ms`);
}

/** Start a UAS and wait until it listens (or say why it did not start). */
export async function startUas(o: SippOptions): Promise<SippProcess> {
  const p = startSipp(o);
  const exited = p.done.then((r) => {
    throw new Error(`sipp ${o.scenario} exited at start: ${explain(r)}`);
  });
  await Promise.race([waitUdpBound(o.localIp ?? '127.0.0.1', o.localPort), exited]);
  exited.catch(() => undefined);
  return p;
}

/** How many requests of `method` a sipp message log shows as received. */
export function receivedRequests(messages: string, method: string): number {
  return receivedRequestTexts(messages, method).length;
}

/** The requests of `method` a sipp message log shows as received, parsed. */
export function receivedRequestTexts(messages: string, method: string): string[] {
  return messages
    .split(/^-{10,}.*$/m)
    .filter((block) => /message received/.test(block))
    .map((block) =>
      block.slice(block.indexOf('\n', block.indexOf('message received')) + 1).replace(/^\n+/, ''),
    )
    .filter((text) => text.startsWith(`${method} `))
    .map((text) => text.replace(/\r?\n/g, '\r\n'));
}

/** A raw 8 kHz u-law file for rtp_stream (sox), made in `dir`. */
export function ulawFile(dir: string, name: string, hz: number, seconds = 10): string {
  mkdirSync(dir, { recursive: true });
  return ensureUlawTone(join(dir, name), hz, seconds);
}

/** Short summary of a failed run, for assertion messages. */
export function explain(r: SippResult): string {
  const tail = (s: string, n = 1500) => (s.length > n ? '…' + s.slice(-n) : s);
  return `sipp exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${r.elapsedMs} ms\n--- stderr\n${tail(r.stderr)}\n--- messages\n${tail(r.messages, 3000)}`;
}
