import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { builtinNames } from './scenario/load.js';

// The commands that need no far end (--help, list, explain) and the
// configuration errors that exit 2 before anything is sent, run as a user
// runs them: the CLI in a child process (cli.ts runs main() on import).

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
// a load run makes its --out folder before it reads --assert
const OUT = mkdtempSync(join(tmpdir(), 'calltest-cli-'));

function calltest(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: '' },
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('calltest CLI', () => {
  it('--help shows the commands and the exit codes, exit 0', () => {
    const r = calltest('--help');
    expect(r.code).toBe(0);
    for (const s of ['calltest list', 'calltest explain', 'calltest run', 'calltest load'])
      expect(r.stdout).toContain(s);
    expect(r.stdout).toMatch(/Exit codes: 0 all passed, 1 .*, 2 configuration/);
  });

  it('list names every builtin scenario with its description', () => {
    const r = calltest('list');
    expect(r.code).toBe(0);
    for (const n of builtinNames()) expect(r.stdout).toMatch(new RegExp(`^builtin:${n} +\\S`, 'm'));
  });

  it('explain shows the plan and the generated sipp XML', () => {
    const r = calltest('explain', 'builtin:basic-call');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /## Plan\n1\. callee \[sipp, uas, creds row 1\] answers \(after REGISTER\)/,
    );
    expect(r.stdout).toMatch(
      /2\. caller \[sipp, uac, creds row 0\] calls 1002, hangs up after 3000 ms/,
    );
    expect(r.stdout).toContain('## sipp XML: caller (generated)');
    expect(r.stdout).toContain('INVITE sip:[service]@[field2] SIP/2.0');
  });

  it('exits 2 on configuration errors, before any call', () => {
    const noTarget = calltest('run', 'builtin:basic-call');
    expect([noTarget.code, noTarget.stderr]).toEqual([
      2,
      expect.stringContaining('--target sip:host[:port] is required'),
    ]);
    const wss = calltest(
      'run',
      'builtin:basic-call',
      '--target',
      'sip:127.0.0.1',
      '--transport',
      'wss',
    );
    expect(wss.code).toBe(2);
    expect(wss.stderr).toMatch(/sipp 3\.6\.1 has no WebSocket; use a leg with engine: browser/);
    const unknown = calltest('explain', 'builtin:nope');
    expect([unknown.code, unknown.stderr]).toEqual([
      2,
      expect.stringContaining('no builtin scenario "nope"'),
    ]);
    const badAssert = calltest(
      'load',
      'builtin:basic-call',
      '--target',
      'sip:127.0.0.1',
      '--assert',
      'asr>=99,speed>1',
      '--out',
      OUT,
    );
    expect(badAssert.code).toBe(2);
    expect(badAssert.stderr).toMatch(/unknown metric speed/);
  });
});
