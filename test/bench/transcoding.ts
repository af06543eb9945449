// `npm run bench:transcoding`: Opus ↔ G.711 transcoding capacity of the
// gateway's rtpengine, with a real Opus endpoint. baresip (registered as demo
// user 1001, offering Opus only) places N calls at once to a carrier number;
// the trunk takes PCMU only, so rtpengine transcodes both directions of every
// call (Opus → PCMU toward the carrier, PCMU → Opus back); the "carrier" is the
// gateway's echo service (sipp -rtp_echo), which sends every packet back. In
// the same run and at the same N, the same calls with baresip offering PCMU are
// the relayed baseline (no transcoding), so the report gives the cost of
// transcoding as a ratio, not an absolute time on a shared machine. While all N
// calls are up, every packet rtpengine sends is captured (loss from sequence
// numbers, RFC 3550 jitter at each stream's clock) and /proc gives rtpengine's
// CPU. N rises until loss reaches 0.1 %, jitter 20 ms, or a call is not set up.
// Ports 31000-35999 (its own loopback namespace, like every benchmark).
// Bounded: at most the steps given, each a few seconds of calls.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway, type Gateway } from '../../gateway/src/main.js';
import { parseConfig } from '../../gateway/src/config/load.js';
import { createLogger } from '../../gateway/src/log.js';
import { Baresip } from '../e2e/harness/baresip.js';
import { Capture } from '../e2e/harness/capture.js';
import { analyse } from './mediaCapacity.js';
import { cpuSnapshot } from './cpu.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const WINDOW_SECONDS = Number(process.env.BENCH_TRANSCODING_WINDOW ?? 6);
const STEPS = (process.env.BENCH_TRANSCODING_STEPS ?? '5,10,20,30,40,60,80').split(',').map(Number);
const RTP_MIN = 32000;
const RTP_MAX = 33999;
const CARRIER_NUMBER = '+15559990000';
/** The echo service's RTP port (services.mediaPortBase): the carrier side of every call. */
const ECHO_MEDIA_PORT = 31100;
const BARESIP_RTP = 35000;

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** Busy CPU seconds of the whole machine so far (every process, other work included). */
function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
  return (user + nice + system + irq + softirq + steal) / TICKS;
}

const log = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Mode = 'opus-transcoded' | 'pcmu-relayed';

export interface TranscodingStep {
  mode: Mode;
  calls: number;
  established: number;
  streams: number;
  packets: number;
  lossPct: number;
  maxJitterMs: number;
  /** rtpengine's CPU ms per call-second per direction while every call was up. */
  rtpengineMsPerCallSecondPerDirection: number;
  /** Every part's CPU (kamailio, rtpengine, the echo sipp, node) per call-second per direction. */
  cpuMsPerCallSecondPerDirection: Record<string, number>;
  captureDropped: number;
  /** Cores this benchmark's processes kept busy in the window (baresip, rtpengine, Kamailio, sipp, Node). */
  coresBusy: number;
  /** Cores busy on the whole machine in the window, other work included (2 = saturated). */
  machineCoresBusy: number;
  /** rtpengine sessions left 5 s after the calls ended. */
  sessionsLeft: number;
  ok: boolean;
}

async function step(gw: Gateway, mode: Mode, n: number, index: number): Promise<TranscodingStep> {
  // baresip also listens on sipPort + 1 (SIP over TLS): keep ctrl_tcp clear of it
  const sipPort = 34000 + index * 10;
  const phone = new Baresip({
    user: '1001',
    password: 'demo-1001-pw',
    proxy: `127.0.0.1:${gw.cfg.sip.port}`,
    sipPort,
    ctrlPort: sipPort + 5,
    rtpPort: BARESIP_RTP,
    toneHz: 1000,
    codecs: mode === 'opus-transcoded' ? 'opus' : 'g711',
    maxCalls: n,
    record: false,
  });
  const dir = mkdtempSync(join(tmpdir(), 'bench-transcoding-'));
  try {
    await phone.start();
    await phone.waitRegistered();
    const since = phone.events.length;
    for (let i = 0; i < n; i++) {
      const r = await phone
        .command('dial', `sip:${CARRIER_NUMBER}@127.0.0.1:${gw.cfg.sip.port}`)
        .catch((err: unknown) => {
          throw new Error(`${String(err)}\n${phone.output.slice(-3000)}`);
        });
      if (!r.ok) log(`  dial ${i + 1} refused: ${r.data}`);
      await sleep(40);
    }
    const end = Date.now() + 10_000 + n * 200;
    const established = () =>
      phone.events.slice(since).filter((e) => e.type === 'CALL_ESTABLISHED').length;
    while (established() < n && Date.now() < end) await sleep(200);
    await sleep(2000);
    const pcap = join(dir, `${mode}-${n}.pcap`);
    const capture = new Capture(pcap, '');
    const dumpcap = spawn(
      'dumpcap',
      ['-i', 'lo', '-B', '64', '-f', `udp and src portrange ${RTP_MIN}-${RTP_MAX}`, '-w', pcap],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let dumpcapErr = '';
    dumpcap.stderr.on('data', (d: Buffer) => (dumpcapErr += d.toString()));
    const dumpcapExit = new Promise((r) => dumpcap.once('exit', r));
    for (let i = 0; i < 80 && !/Capturing on/i.test(dumpcapErr); i++) await sleep(100);
    const before = cpuSnapshot();
    const machineBefore = machineBusySeconds();
    const t0 = Date.now();
    await sleep(WINDOW_SECONDS * 1000);
    const after = cpuSnapshot();
    const machineBusy = machineBusySeconds() - machineBefore;
    const seconds = (Date.now() - t0) / 1000;
    const up = established();
    await sleep(300);
    dumpcap.kill('SIGINT');
    await dumpcapExit;
    const captureDropped = Number(
      /dropped on interface[^:]*:\s*\d+\/(\d+)/.exec(dumpcapErr)?.[1] ?? 0,
    );
    // RTP by destination (the echo's port, baresip's range), not by heuristics,
    // which miss an occasional stream
    const rows = capture.fields(
      'rtp',
      ['udp.srcport', 'udp.dstport', 'rtp.seq', 'rtp.timestamp', 'frame.time_epoch', 'rtp.p_type'],
      [
        '-d',
        `udp.port==${ECHO_MEDIA_PORT},rtp`,
        '-d',
        `udp.port==${BARESIP_RTP}-${BARESIP_RTP + 399},rtp`,
      ],
    );
    if (process.env.BENCH_DEBUG) {
      const seen = new Map<string, number>();
      for (const [src, dst, , , , pt] of rows)
        seen.set(`${src}>${dst} pt ${pt}`, (seen.get(`${src}>${dst} pt ${pt}`) ?? 0) + 1);
      log(`  streams: ${JSON.stringify([...seen])}`);
    }
    // G.711 payload types 0 and 8 run an 8 kHz clock; Opus (dynamic) 48 kHz
    const a = analyse(rows, (pt) => (pt === 0 || pt === 8 ? 8000 : 48000));
    const cpu: Record<string, number> = {};
    let busy = 0;
    for (const [part, value] of Object.entries(after)) {
      const s = value - (before[part] ?? 0);
      busy += s;
      cpu[part] = Math.round(((s * 1000) / (Math.max(1, up) * 2 * seconds)) * 1000) / 1000;
    }
    await phone.stop();
    await sleep(5000);
    const sessionsLeft = await gw.rtpengine.sessionCount();
    const ok = up === n && a.lossPct < 0.1 && a.maxJitterMs < 20 && a.streams >= n * 2;
    const result: TranscodingStep = {
      mode,
      calls: n,
      established: up,
      ...a,
      rtpengineMsPerCallSecondPerDirection: cpu.rtpengine ?? 0,
      cpuMsPerCallSecondPerDirection: cpu,
      captureDropped,
      coresBusy: Math.round((busy / seconds) * 100) / 100,
      machineCoresBusy: Math.round((machineBusy / seconds) * 100) / 100,
      sessionsLeft,
      ok,
    };
    log(
      `  ${mode} ${n} calls: ${up} up, ${a.streams} streams, loss ${a.lossPct.toFixed(3)} %, max jitter ${a.maxJitterMs} ms, rtpengine ${result.rtpengineMsPerCallSecondPerDirection} ms CPU per call-second per direction, baresip ${cpu.baresip ?? 0} ms, ${result.coresBusy} cores busy (machine ${result.machineCoresBusy}), ${sessionsLeft} sessions left`,
    );
    return result;
  } finally {
    await phone.stop();
  }
}

export async function runTranscodingBench(steps = STEPS) {
  const cfg = parseConfig({
    dataDir: mkdtempSync(join(tmpdir(), 'bench-transcoding-gw-')),
    http: { port: 31443 },
    sip: { port: 31060, wsPort: 31066 },
    decision: { port: 31081, eventsPort: 31082 },
    rtpengine: { ngPort: 31223, portMin: RTP_MIN, portMax: RTP_MAX, deleteDelay: 0 },
    turn: { enabled: false },
    services: { echoPort: 31090, tonePort: 31092, mediaPortBase: ECHO_MEDIA_PORT },
    contactCenter: { port: 31170 },
    protection: { pikeReqsDensity: 100_000, failedAuthLimit: 100_000 },
    log: { level: 'warn', kamailioDebug: -1 },
    // The carrier takes PCMU only: rtpengine transcodes an Opus-only caller.
    trunks: [
      {
        name: 'pcmu-carrier',
        host: '127.0.0.1',
        port: 31090,
        prefixes: ['+1555999'],
        inboundAddresses: [],
        codecs: ['PCMU'],
      },
    ],
  });
  const gw = await startGateway(cfg, { log: createLogger('warn') });
  const rows: { calls: number; transcoded: TranscodingStep; relayed: TranscodingStep }[] = [];
  let maxCalls = 0;
  let limit = `not reached up to ${steps[steps.length - 1]} calls`;
  try {
    for (const [i, n] of steps.entries()) {
      // interleaved at each N: the baseline sees the same machine load
      const transcoded = await step(gw, 'opus-transcoded', n, i * 2);
      await sleep(2000);
      const relayed = await step(gw, 'pcmu-relayed', n, i * 2 + 1);
      await sleep(2000);
      rows.push({ calls: n, transcoded, relayed });
      if (!transcoded.ok) {
        limit =
          transcoded.established < n
            ? `${n - transcoded.established} of ${n} transcoded calls not set up`
            : transcoded.lossPct >= 0.1
              ? `loss ${transcoded.lossPct.toFixed(3)} % at ${n} transcoded calls`
              : transcoded.maxJitterMs >= 20
                ? `jitter ${transcoded.maxJitterMs} ms at ${n} transcoded calls`
                : `only ${transcoded.streams} of ${n * 2} streams at ${n} transcoded calls`;
        limit += ` (machine ${transcoded.machineCoresBusy} of ${cpus().length} cores busy, ${transcoded.coresBusy} of them this benchmark's processes; rtpengine ${Math.round(transcoded.rtpengineMsPerCallSecondPerDirection * n * 2) / 1000} cores)`;
        break;
      }
      maxCalls = n;
    }
  } finally {
    await gw.stop();
  }
  return { rows, maxCalls, limit };
}

function markdown(r: {
  date: string;
  machine: { cores: number; cpu: string };
  loadAverage1mBefore: number;
  loadAverage1mAfter: number;
  windowSeconds: number;
  maxCalls: number;
  limit: string;
  rtpengineMsTranscoded: number;
  rtpengineMsRelayed: number;
  transcodedCallsPerCore: number;
  relayedCallsPerCore: number;
  rows: {
    calls: number;
    transcoded: TranscodingStep;
    relayed: TranscodingStep;
    cpuRatio: number | null;
  }[];
}): string {
  const line = (s: TranscodingStep) =>
    `${s.established}/${s.calls} | ${s.streams} | ${s.lossPct.toFixed(3)} | ${s.maxJitterMs} | ${s.rtpengineMsPerCallSecondPerDirection} | ${s.cpuMsPerCallSecondPerDirection.baresip ?? 0} | ${s.coresBusy} / ${s.machineCoresBusy}`;
  return `# Opus ↔ G.711 transcoding capacity

${r.date} · ${r.machine.cores} cores (${r.machine.cpu}) · 1-minute load ${r.loadAverage1mBefore.toFixed(2)} at the start, ${r.loadAverage1mAfter.toFixed(2)} at the end (other work shared the machine: read the ratios, not absolute CPU)

baresip 1.0 (demo user 1001, Opus only) places N calls at once through the full
gateway to a carrier number; the trunk takes PCMU only, so rtpengine decodes and
encodes both directions of every call; the carrier is the gateway's echo
service (sipp \`-rtp_echo\`). Baseline at the same N in the same run: baresip
offering PCMU, relayed without transcoding. All N calls up, ${r.windowSeconds} s window: every
packet rtpengine sends captured (loss from sequence numbers, RFC 3550 jitter at
8 kHz for G.711, 48 kHz for Opus), rtpengine's CPU from /proc.

Most transcoded calls with loss under 0.1 % and jitter under 20 ms on every
stream: **${r.maxCalls}** (limit: ${r.limit}).

CPU in ms per call-second per direction; cores busy: this benchmark's processes / the whole machine (other work included).

| N | transcoded: up | streams | loss % | max jitter ms | rtpengine CPU | baresip CPU | cores busy | relayed: up | streams | loss % | max jitter ms | rtpengine CPU | baresip CPU | cores busy | rtpengine transcoded / relayed |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
${r.rows.map((x) => `| ${x.calls} | ${line(x.transcoded)} | ${line(x.relayed)} | **${x.cpuRatio ?? 'n/a'}** |`).join('\n')}

baresip itself encodes and decodes Opus for every call on the same two cores
(its CPU is in the table), so on this machine the endpoint and any other work
compete with rtpengine for the CPU; on a real gateway the endpoints are
elsewhere. What rtpengine's own CPU implies (an estimate from the figures, not a
measured limit): at ${r.rtpengineMsTranscoded} ms per transcoded call-second per direction, one
core carries about **${r.transcodedCallsPerCore}** transcoded calls (both directions), against
about ${r.relayedCallsPerCore} relayed ones at ${r.rtpengineMsRelayed} ms.
`;
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = loadavg()[0]!;
  const r = await runTranscodingBench();
  // mean over the steps, weighted by calls
  const mean = (pick: (x: (typeof r.rows)[number]) => number) => {
    const calls = r.rows.reduce((a, x) => a + x.calls, 0);
    return calls
      ? Math.round((r.rows.reduce((a, x) => a + pick(x) * x.calls, 0) / calls) * 100) / 100
      : 0;
  };
  const msT = mean((x) => x.transcoded.rtpengineMsPerCallSecondPerDirection);
  const msR = mean((x) => x.relayed.rtpengineMsPerCallSecondPerDirection);
  const estimate = {
    rtpengineMsTranscoded: msT,
    rtpengineMsRelayed: msR,
    transcodedCallsPerCore: msT ? Math.round(1000 / (2 * msT)) : 0,
    relayedCallsPerCore: msR ? Math.round(1000 / (2 * msR)) : 0,
  };
  const result = {
    ...estimate,
    date: started.toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version },
    loadAverage1mBefore: loadBefore,
    loadAverage1mAfter: loadavg()[0]!,
    windowSeconds: WINDOW_SECONDS,
    maxCalls: r.maxCalls,
    limit: r.limit,
    rows: r.rows.map((x) => ({
      ...x,
      cpuRatio:
        x.relayed.rtpengineMsPerCallSecondPerDirection > 0
          ? Math.round(
              (x.transcoded.rtpengineMsPerCallSecondPerDirection /
                x.relayed.rtpengineMsPerCallSecondPerDirection) *
                100,
            ) / 100
          : null,
    })),
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'transcoding.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(RESULTS, 'transcoding.md'), markdown(result));
  log(`written ${join(RESULTS, 'transcoding.json')} and transcoding.md`);
  process.stdout.write(markdown(result));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
