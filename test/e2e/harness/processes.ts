import { readdirSync, readFileSync } from 'node:fs';

/** Processes whose command line contains `needle` (a stack's unique dataDir). */
export function processesMentioning(needle: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push({ pid: Number(d), cmd });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** SIGKILL every process whose command line contains `needle`; returns what was killed. */
export function killMentioning(needle: string): { pid: number; cmd: string }[] {
  const found = processesMentioning(needle);
  for (const p of found) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return found;
}
