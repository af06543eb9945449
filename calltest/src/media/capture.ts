import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { ConfigError } from '../scenario/load.js';
import type { RtpPacket } from './rtp.js';

// tshark on the legs' media ports: media verdicts come from real packets.

const execFileP = promisify(execFile);

export class Capture {
  private proc?: ChildProcess;
  private stderr = '';
  constructor(
    readonly file: string,
    readonly iface: string,
    readonly filter: string,
  ) {}

  /** Starts tshark and waits (bounded) until it says it is capturing. */
  async start(timeoutMs = 8000, autostopSec?: number): Promise<void> {
    const limit = autostopSec !== undefined ? ['-a', `duration:${Math.ceil(autostopSec)}`] : [];
    const p = spawn(
      'tshark',
      ['-q', '-i', this.iface, '-f', this.filter, ...limit, '-w', this.file],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.proc = p;
    p.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    p.on('error', (e) => (this.stderr += `\n${e.message}`));
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (/Capturing on/i.test(this.stderr)) return;
      if (p.exitCode !== null || /ENOENT/.test(this.stderr))
        throw new ConfigError(
          `tshark could not capture on ${this.iface} (install Debian package "tshark"; capturing needs root or the wireshark group): ${this.stderr.trim()}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new ConfigError(`tshark did not start capturing within ${timeoutMs} ms: ${this.stderr}`);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise((r) => setTimeout(r, 300));
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

  /** Every RTP packet in the capture (heuristic RTP decoding), payload kept. */
  async rtp(): Promise<RtpPacket[]> {
    if (!existsSync(this.file) || statSync(this.file).size === 0) return [];
    const fields = [
      'frame.time_epoch',
      'ip.src',
      'udp.srcport',
      'ip.dst',
      'udp.dstport',
      'rtp.ssrc',
      'rtp.seq',
      'rtp.timestamp',
      'rtp.p_type',
      'rtp.marker',
      'rtp.payload',
      'rtpevent.event_id',
    ];
    const { stdout } = await execFileP(
      'tshark',
      [
        '-r',
        this.file,
        '-o',
        'rtp.heuristic_rtp:TRUE',
        '-Y',
        'rtp && !rtcp',
        '-T',
        'fields',
        ...fields.flatMap((f) => ['-e', f]),
      ],
      { maxBuffer: 512 * 1024 * 1024 },
    );
    const out: RtpPacket[] = [];
    for (const line of stdout.split('\n')) {
      if (!line.trim()) continue;
      const [t, sip, sport, dip, dport, ssrc, seq, ts, pt, marker, payload, ev] = line.split('\t');
      if (!ssrc || !seq) continue;
      let bytes: Uint8Array | undefined = payload
        ? Uint8Array.from(Buffer.from(payload.replace(/:/g, ''), 'hex'))
        : undefined;
      if (!bytes && ev) bytes = Uint8Array.from([Number(ev), 0, 0, 0]);
      out.push({
        t: Number(t),
        src: `${sip}:${sport}`,
        dst: `${dip}:${dport}`,
        ssrc: Number(ssrc),
        seq: Number(seq),
        ts: Number(ts),
        pt: Number(pt),
        marker: marker === '1' || marker === 'True',
        payload: bytes,
      });
    }
    return out;
  }
}
