import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from '../scenario/load.js';

// One sipp process, always bounded: -timeout (global) plus a watchdog that
// kills it 5 s later, every port explicit (-p, -mp, -cp: never sipp's defaults
// 6000/8888), every SIP message traced to a file calltest reads afterwards.

export interface SippSpec {
  label: string;
  xmlFile: string;
  /** host:port, absent for a UAS. */
  remote?: string;
  transport: 'udp' | 'tcp';
  localIp: string;
  sipPort: number;
  mediaPort: number;
  controlPort: number;
  injectFile: string;
  service?: string;
  keys?: Record<string, string | number>;
  calls: number;
  rate?: number;
  rateIncrease?: { step: number; everySec: number; max: number };
  limit?: number;
  /** -trace_stat into this file, every second (progress, rates). */
  statFile?: string;
  rtpEcho?: boolean;
  timeoutSec: number;
  cwd: string;
}

export interface SippResult {
  label: string;
  code: number | null;
  signal: string | null;
  stderr: string;
  messageFile: string;
  errorFile: string;
  elapsedMs: number;
}

export function sippArgs(s: SippSpec): string[] {
  const a = ['-sf', s.xmlFile];
  if (s.remote) a.push(s.remote);
  a.push('-t', s.transport === 'tcp' ? 't1' : 'u1');
  a.push('-i', s.localIp, '-p', String(s.sipPort));
  a.push('-mi', s.localIp, '-mp', String(s.mediaPort), '-cp', String(s.controlPort));
  // per-call digest credentials from the injection file (sipp expands the fields
  // in -au/-ap; "[authentication username=[field0] ...]" does not parse in 3.6.1)
  a.push('-inf', s.injectFile, '-au', '[field0]', '-ap', '[field1]');
  if (s.rtpEcho) a.push('-rtp_echo');
  if (s.service) a.push('-s', s.service);
  for (const [k, v] of Object.entries(s.keys ?? {})) a.push('-key', k, String(v));
  a.push('-m', String(s.calls));
  if (s.rate !== undefined) a.push('-r', String(s.rate));
  if (s.rateIncrease)
    a.push(
      '-rate_increase',
      String(s.rateIncrease.step),
      '-rate_interval',
      `${s.rateIncrease.everySec}s`,
      '-rate_max',
      String(s.rateIncrease.max),
      '-no_rate_quit',
    );
  if (s.limit !== undefined) a.push('-l', String(s.limit));
  if (s.statFile) a.push('-trace_stat', '-stf', s.statFile, '-fd', '1');
  a.push('-timeout', `${s.timeoutSec}s`, '-timeout_error', '-recv_timeout', '15000');
  a.push('-aa', '-nostdin', '-trace_msg', '-message_file', join(s.cwd, `${s.label}-messages.log`));
  a.push('-trace_err', '-error_file', join(s.cwd, `${s.label}-errors.log`));
  return a;
}

export interface SippProcess {
  child: ChildProcess;
  done: Promise<SippResult>;
  stop(): Promise<SippResult>;
}

export function startSipp(s: SippSpec): SippProcess {
  const started = Date.now();
  const child = spawn('sipp', sippArgs(s), { cwd: s.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const watchdog = setTimeout(() => child.kill('SIGKILL'), (s.timeoutSec + 5) * 1000);
  const done = new Promise<SippResult>((resolve, reject) => {
    child.once('error', (err) =>
      reject(
        new ConfigError(`cannot run sipp (${err.message}): install Debian package "sip-tester"`),
      ),
    );
    child.once('exit', (code, signal) => {
      clearTimeout(watchdog);
      resolve({
        label: s.label,
        code,
        signal,
        stderr,
        messageFile: join(s.cwd, `${s.label}-messages.log`),
        errorFile: join(s.cwd, `${s.label}-errors.log`),
        elapsedMs: Date.now() - started,
      });
    });
  });
  return {
    child,
    done,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 2000);
        const r = await done;
        clearTimeout(t);
        return r;
      }
      return done;
    },
  };
}

/**
 * Whether a UDP socket is bound to host:port, read from /proc/net/udp. Not by
 * trying to bind it ourselves: that probe holds the port for an instant and
 * made a sipp starting at the same moment fail with "address already in use".
 */
export function udpBound(host: string, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  // /proc/net/udp writes IPv4 addresses as little-endian hex (127.0.0.2 → 0200007F)
  const hexHost = host
    .split('.')
    .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
    .reverse()
    .join('');
  let table = '';
  try {
    table = readFileSync('/proc/net/udp', 'utf8');
  } catch {
    return false;
  }
  return table
    .split('\n')
    .slice(1)
    .some((line) => {
      const local = line.trim().split(/\s+/)[1] ?? '';
      return local === `${hexHost}:${hexPort}` || local === `00000000:${hexPort}`;
    });
}

/** Waits until something holds UDP host:port (a sipp UAS has bound), or the process exits. */
export async function waitBound(
  p: SippProcess,
  host: string,
  port: number,
  ms = 5000,
  transport: 'udp' | 'tcp' = 'udp',
): Promise<void> {
  const deadline = Date.now() + ms;
  let exited = false;
  void p.done.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    const free =
      transport === 'tcp'
        ? await new Promise<boolean>((resolve) => {
            const c = connect(port, host);
            c.once('error', () => resolve(true));
            c.once('connect', () => {
              c.destroy();
              resolve(false);
            });
          })
        : !udpBound(host, port);
    if (!free) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const r = exited ? await p.done : undefined;
  throw new ConfigError(
    `sipp did not start listening on ${host}:${port}${r ? ` (exit ${r.code}): ${sippError(r)}` : ''}`,
  );
}

/** The useful part of sipp's complaint (stderr or its error file). */
export function sippError(r: SippResult): string {
  const err = existsSync(r.errorFile) ? readFileSync(r.errorFile, 'utf8') : '';
  const text = `${r.stderr}\n${err}`
    .split('\n')
    .map((l) => l.replace(/^\d{4}-\d\d-\d\d\s+[\d:.]+\s+[\d.]+:\s*/, '').trim())
    .filter((l) => l && !/^-+$/.test(l) && !/^The following events occurred/.test(l));
  return text.slice(-6).join(' | ').slice(0, 800);
}

/**
 * sipp's exit codes (3.6.1 docs): 0 all calls succeeded, 1 at least one failed,
 * 97 exit on internal command, 99 normal exit without calls processed,
 * -1 (255) fatal error, -2 (254) fatal error binding a socket.
 * calltest: failed calls are judged from the messages (exit 1 when an
 * expectation fails); a fatal sipp error is infrastructure (exit 2).
 */
export function sippFatal(r: SippResult): string | undefined {
  if (r.code === 255) return `sipp fatal error: ${sippError(r)}`;
  if (r.code === 254) return `sipp could not bind its sockets (port in use?): ${sippError(r)}`;
  return undefined;
}
