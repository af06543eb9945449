import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

// CPU seconds spent by each part of the benchmark, read from /proc, so a run can
// say where each call's CPU went (what limits the rate) instead of guessing.

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** Fields 14–17 of /proc/<pid>/stat (utime, stime, cutime, cstime), in seconds. */
function statTimes(pid: string): { own: number; children: number; comm: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited between readdir and read
  }
  const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
  // after ") " the fields start at field 3 (state)
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (field: number) => Number(f[field - 3]) / TICKS_PER_SECOND;
  return { own: n(14) + n(15), children: n(16) + n(17), comm };
}

/** Network namespace of a process ("net:[4026…]"), undefined when it is gone. */
function netns(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** CPU seconds by part: live kamailio/rtpengine/sipp/baresip processes, this Node process, and its reaped children (sipp callers). */
export function cpuSnapshot(): Record<string, number> {
  // Only this benchmark's processes: it runs in its own network namespace, and
  // other stacks on the machine (tests, `npm start`) run the same binaries.
  const ours = netns('self');
  const totals: Record<string, number> = {};
  const self = statTimes(String(process.pid));
  totals['node (decision service + harness)'] = self?.own ?? 0;
  totals['sipp callers (exited)'] = self?.children ?? 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (pid === String(process.pid)) continue;
    const t = statTimes(pid);
    if (!t || !['kamailio', 'rtpengine', 'sipp', 'baresip'].includes(t.comm)) continue;
    if (netns(pid) !== ours) continue;
    totals[t.comm] = (totals[t.comm] ?? 0) + t.own;
  }
  return totals;
}

/** CPU milliseconds per call of each part between two snapshots. */
export function cpuPerCall(
  before: Record<string, number>,
  after: Record<string, number>,
  calls: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [part, end] of Object.entries(after)) {
    const ms = ((end - (before[part] ?? 0)) * 1000) / Math.max(1, calls);
    out[part] = Math.round(ms * 1000) / 1000;
  }
  return out;
}
