import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Capture } from '../e2e/harness/capture.js';
import { ensureUlawTone } from '../../gateway/src/services/render.js';
import { REPO_ROOT } from '../../gateway/src/paths.js';
import { cpuSnapshot } from './cpu.js';

// Concurrent calls with media flowing through the gateway: N authenticated
// calls to the echo service held at once, G.711 both ways through rtpengine
// (sipp streams, the echo service sends it back). While all N are up, a capture
// of every packet rtpengine sends (both directions of every call) gives loss
// (RFC 3550: expected from sequence numbers vs received) and interarrival
// jitter per stream, and /proc gives the CPU. N rises until loss reaches 0.1 %
// or jitter 20 ms (or a call fails). Plain RTP on both sides only.

export interface MediaStep {
  calls: number;
  failedCalls: number;
  streams: number;
  packets: number;
  lossPct: number;
  /** Largest RFC 3550 jitter of any stream at the end of the window (ms). */
  maxJitterMs: number;
  /** CPU ms per call-second per direction, by part, while every call was up. */
  cpuMsPerCallSecondPerDirection: Record<string, number>;
  /** Cores busy in that window (all parts). */
  coresBusy: number;
  /** Packets the capture itself dropped (then loss is not rtpengine's). */
  captureDropped: number;
  ok: boolean;
}

const WINDOW_SECONDS = 6;

interface Stream {
  arrivals: { t: number; seq: number; ts: number }[];
  /** RTP clock rate (Hz) of the stream's payload type. */
  clock: number;
}

/**
 * Loss and RFC 3550 jitter per stream from captured RTP rows (udp.srcport,
 * udp.dstport, rtp.seq, rtp.timestamp, frame.time_epoch[, rtp.p_type]);
 * `clockHz` gives a payload type's clock (G.711: 8000, Opus: 48000).
 */
export function analyse(
  rows: string[][],
  clockHz: (payloadType: number) => number = () => 8000,
): {
  streams: number;
  packets: number;
  lossPct: number;
  maxJitterMs: number;
} {
  const streams = new Map<string, Stream>();
  for (const [src, dst, seq, ts, time, pt] of rows) {
    const key = `${src}>${dst}`;
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { arrivals: [], clock: clockHz(Number(pt ?? 0)) }));
    s.arrivals.push({ t: Number(time), seq: Number(seq), ts: Number(ts) });
  }
  let expected = 0;
  let received = 0;
  let maxJitter = 0;
  for (const s of streams.values()) {
    if (s.arrivals.length < 10) continue; // a call starting or ending at the window's edge
    // unwrap 16-bit sequence numbers in arrival order
    let last = s.arrivals[0]!.seq;
    let ext = last;
    let min = ext;
    let max = ext;
    let jitter = 0;
    for (let i = 0; i < s.arrivals.length; i++) {
      const a = s.arrivals[i]!;
      if (i > 0) {
        let d = a.seq - last;
        if (d < -32768) d += 65536;
        if (d > 32768) d -= 65536;
        ext += d;
        last = a.seq;
        min = Math.min(min, ext);
        max = Math.max(max, ext);
        const p = s.arrivals[i - 1]!;
        let dts = a.ts - p.ts;
        if (dts < -(2 ** 31)) dts += 2 ** 32; // 32-bit RTP timestamp wrapped
        const D = (a.t - p.t) * s.clock - dts;
        jitter += (Math.abs(D) - jitter) / 16;
      }
    }
    expected += max - min + 1;
    received += s.arrivals.length;
    maxJitter = Math.max(maxJitter, jitter / (s.clock / 1000));
  }
  return {
    streams: streams.size,
    packets: received,
    lossPct: expected > 0 ? Math.max(0, ((expected - received) / expected) * 100) : 100,
    maxJitterMs: Math.round(maxJitter * 100) / 100,
  };
}

export async function mediaCapacity(o: {
  target: string;
  auth: { username: string; password: string };
  rtpMin: number;
  rtpMax: number;
  localPort: number;
  mediaPort: number;
  steps: number[];
  log: (m: string) => void;
}): Promise<{ steps: MediaStep[]; maxCalls: number; limit: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-media-capacity-'));
  ensureUlawTone(join(dir, 'caller.ulaw'), 1000, 10);
  const steps: MediaStep[] = [];
  let maxCalls = 0;
  let limit = `not reached up to ${o.steps[o.steps.length - 1]} calls`;
  for (const n of o.steps) {
    const rate = Math.min(n, 50);
    const rampSec = n / rate;
    const holdMs = Math.round((rampSec + WINDOW_SECONDS + 6) * 1000);
    const sipp = spawn(
      'sipp',
      [
        o.target,
        '-sf',
        join(REPO_ROOT, 'test', 'sipp', 'uac-call.xml'),
        '-i',
        '127.0.0.1',
        '-p',
        String(o.localPort),
        '-mp',
        String(o.mediaPort),
        '-cp',
        String(o.localPort + 1),
        '-s',
        '9196',
        '-au',
        o.auth.username,
        '-ap',
        o.auth.password,
        '-key',
        'domain',
        'localhost',
        '-key',
        'from_user',
        o.auth.username,
        '-d',
        String(holdMs),
        '-r',
        String(rate),
        '-m',
        String(n),
        '-l',
        String(n),
        '-timeout',
        `${Math.ceil(holdMs / 1000 + rampSec + 30)}s`,
        '-recv_timeout',
        '10000',
        '-trace_stat',
        '-stf',
        join(dir, `stat-${n}.csv`),
        '-nostdin',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((r) => sipp.once('exit', (c) => r(c)));
    await new Promise((r) => setTimeout(r, (rampSec + 2) * 1000));
    // dumpcap with a large buffer: at thousands of packets a second tshark's
    // default buffer drops packets, which would read as RTP loss
    const pcap = join(dir, `media-${n}.pcap`);
    const capture = new Capture(pcap, '');
    const dumpcap = spawn(
      'dumpcap',
      ['-i', 'lo', '-B', '64', '-f', `udp and src portrange ${o.rtpMin}-${o.rtpMax}`, '-w', pcap],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let dumpcapErr = '';
    dumpcap.stderr.on('data', (d: Buffer) => (dumpcapErr += d.toString()));
    const dumpcapExit = new Promise((r) => dumpcap.once('exit', r));
    for (let i = 0; i < 80 && !/Capturing on/i.test(dumpcapErr); i++)
      await new Promise((r) => setTimeout(r, 100));
    const before = cpuSnapshot();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, WINDOW_SECONDS * 1000));
    const after = cpuSnapshot();
    const seconds = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 300));
    dumpcap.kill('SIGINT');
    await dumpcapExit;
    // "Packets received/dropped on interface 'lo': 61234/0 (…)"
    const captureDropped = Number(
      /dropped on interface[^:]*:\s*\d+\/(\d+)/.exec(dumpcapErr)?.[1] ?? 0,
    );
    const code = await exited;
    const stat = readFileSync(join(dir, `stat-${n}.csv`), 'utf8')
      .trim()
      .split('\n');
    const header = (stat[0] ?? '').split(';');
    const last = (stat[stat.length - 1] ?? '').split(';');
    const failedCalls = Number(last[header.indexOf('FailedCall(C)')] ?? 0);
    const a = analyse(
      capture.fields('rtp', [
        'udp.srcport',
        'udp.dstport',
        'rtp.seq',
        'rtp.timestamp',
        'frame.time_epoch',
      ]),
    );
    const cpu: Record<string, number> = {};
    let busy = 0;
    for (const [part, end] of Object.entries(after)) {
      const s = end - (before[part] ?? 0);
      busy += s;
      cpu[part] = Math.round(((s * 1000) / (n * 2 * seconds)) * 1000) / 1000;
    }
    const ok = failedCalls === 0 && a.lossPct < 0.1 && a.maxJitterMs < 20 && a.streams >= n * 2;
    const step: MediaStep = {
      calls: n,
      failedCalls,
      ...a,
      cpuMsPerCallSecondPerDirection: cpu,
      coresBusy: Math.round((busy / seconds) * 100) / 100,
      captureDropped,
      ok,
    };
    steps.push(step);
    o.log(
      `  ${n} calls with media: ${failedCalls} failed (sipp exit ${code}), ${a.streams} streams, loss ${a.lossPct.toFixed(3)} %, max jitter ${a.maxJitterMs} ms, ${step.coresBusy} cores busy, capture dropped ${captureDropped}`,
    );
    await new Promise((r) => setTimeout(r, 3000));
    if (!ok) {
      limit =
        failedCalls > 0
          ? `${failedCalls} of ${n} calls failed`
          : a.lossPct >= 0.1
            ? `loss ${a.lossPct.toFixed(3)} % at ${n} calls`
            : a.maxJitterMs >= 20
              ? `jitter ${a.maxJitterMs} ms at ${n} calls`
              : `only ${a.streams} of ${n * 2} streams seen at ${n} calls`;
      if (step.coresBusy > 1.8) limit += ` (CPU: ${step.coresBusy} of 2 cores busy)`;
      break;
    }
    maxCalls = n;
  }
  return { steps, maxCalls, limit };
}
