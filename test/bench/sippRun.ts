import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// One bounded sipp run as a UAC, read back from its own statistics files
// (-trace_stat).

export interface SippResult {
  rate: number;
  seconds: number;
  created: number;
  successful: number;
  failed: number;
  retransmissions: number;
  exitCode: number | null;
  /** The first lines of sipp's error log, for a run that failed. */
  errors: string;
}

export interface SippRunOptions {
  target: string;
  scenario: string;
  /** Lines of the -inf file (without the SEQUENTIAL header). */
  injection?: string[];
  rate: number;
  seconds: number;
  localPort: number;
  mediaPort?: number;
  /** Digest credentials (sipp -au/-ap): one account for every call of the run. */
  auth?: { username: string; password: string };
}

export async function runSipp(o: SippRunOptions): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-bench-'));
  const calls = Math.max(1, Math.round(o.rate * o.seconds));
  const args = [
    o.target,
    '-sf',
    o.scenario,
    '-i',
    '127.0.0.1',
    '-p',
    String(o.localPort),
    '-mp',
    String(o.mediaPort ?? o.localPort + 1000),
    '-r',
    String(o.rate),
    '-m',
    String(calls),
    // Bounded in time whatever happens: the run's length plus a grace period.
    '-timeout',
    `${o.seconds + 20}s`,
    '-timeout_error',
    '-recv_timeout',
    '8000',
    '-max_socket',
    '2048',
    '-trace_stat',
    '-stf',
    join(dir, 'stat.csv'),
    '-fd',
    '1',
    '-nostdin',
  ];
  if (o.injection) {
    writeFileSync(join(dir, 'inject.csv'), ['SEQUENTIAL', ...o.injection].join('\n') + '\n');
    args.push('-inf', join(dir, 'inject.csv'));
  }
  if (o.auth) args.push('-au', o.auth.username, '-ap', o.auth.password);
  const exitCode = await new Promise<number | null>((resolve) => {
    const child = spawn('sipp', args, { cwd: dir, stdio: 'ignore' });
    child.on('exit', (code) => resolve(code));
  });
  const stat = readFileSync(join(dir, 'stat.csv'), 'utf8').trim().split('\n');
  const header = (stat[0] ?? '').split(';');
  const last = (stat[stat.length - 1] ?? '').split(';');
  const col = (name: string) => Number(last[header.indexOf(name)] ?? 0);
  return {
    rate: o.rate,
    seconds: o.seconds,
    created: col('TotalCallCreated'),
    successful: col('SuccessfulCall(C)'),
    failed: col('FailedCall(C)'),
    retransmissions: col('Retransmissions(C)'),
    exitCode,
    errors: existsSync(join(dir, 'errors.log'))
      ? readFileSync(join(dir, 'errors.log'), 'utf8').split('\n').slice(0, 12).join('\n')
      : '',
  };
}

/** A run is clean when every call it was asked for completed and none failed. */
export function clean(r: SippResult): boolean {
  return r.failed === 0 && r.successful >= Math.round(r.rate * r.seconds);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? NaN;
}
