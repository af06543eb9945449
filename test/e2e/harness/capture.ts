import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

// tshark on loopback inside the test's network namespace (only lo exists there).

export class Capture {
  private proc?: ChildProcess;
  stderr = '';
  constructor(
    readonly file: string,
    readonly filter: string,
  ) {}

  /** Starts tshark and waits until it reports that it is capturing (bounded). */
  async start(timeoutMs = 8000): Promise<void> {
    this.proc = spawn('tshark', ['-i', 'lo', '-f', this.filter, '-w', this.file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.proc.on(
      'error',
      (err) => (this.stderr += `\n${String(err)} (is Debian's "tshark" installed?)`),
    );
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (/Capturing on/i.test(this.stderr)) return;
      if (this.proc.exitCode !== null || /ENOENT/.test(this.stderr))
        throw new Error(`tshark exited ${this.proc.exitCode}: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`tshark did not start capturing in ${timeoutMs} ms: ${this.stderr}`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    // let the last packets reach the file
    await new Promise((r) => setTimeout(r, 500));
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        p.kill('SIGKILL');
        resolve();
      }, 3000);
      p.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      p.kill('SIGINT');
    });
  }

  /** Read the capture with a display filter and fields (tshark -T fields). Heuristic RTP decoding is on. */
  fields(displayFilter: string, fields: string[], extra: string[] = []): string[][] {
    if (!existsSync(this.file) || statSync(this.file).size === 0) return [];
    const out = execFileSync(
      'tshark',
      [
        '-r',
        this.file,
        '-o',
        'rtp.heuristic_rtp:TRUE',
        ...extra,
        '-Y',
        displayFilter,
        '-T',
        'fields',
        ...fields.flatMap((f) => ['-e', f]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 },
    );
    return out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => l.split('\t'));
  }
}
