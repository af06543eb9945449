// `npm run bench:contactcenter`: how many callers can wait in a queue at once,
// each hearing music on hold played by rtpengine, before the music toward them
// loses packets or jitters; what one waiting caller costs in CPU against a
// plain relayed call measured in the same run (the ratio); and the time from
// an agent becoming available to the caller's first audio from that agent.
//
// The callers are a carrier on the trunk's address (a Node SIP client, one RTP
// socket per caller that sends 20 ms PCMU and measures what comes back: loss
// from RTP sequence numbers, interarrival jitter as RFC 3550 §6.4.1 defines it).
// Loopback only; every loop is bounded in count and time.
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack, portsFor, type Stack } from '../integration/harness/stack.js';
import { SipUA, plainSdp, type Dialog } from '../integration/harness/sipua.js';
import { udpUser } from '../integration/harness/phones.js';
import { RtpEndpoint, sdpAudio } from '../integration/harness/rtp.js';
import { CallMedia } from '../../gateway/src/callcontrol/media.js';
import { cpuSnapshot } from './cpu.js';
import { percentile } from './sippRun.js';
import { carrierTrunk, carrierUA } from '../integration/harness/carrier.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const BASE = 26000;
const ports = portsFor(BASE);
const DID = '+15550100900';
/**
 * Callers' RTP sockets 10000 + i and the far ends from 12000: below Linux's
 * ephemeral range (32768+), where any process's random port could take them,
 * and apart from every product and test range.
 */
const CALLER_RTP = 10000;
const FAR_RTP = 12000;

const log = (msg: string) => process.stdout.write(`[bench:cc] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface BenchOptions {
  steps: number[];
  settleSec: number;
  windowSec: number;
  agentRuns: number;
  /** Where to write contactcenter.json/.md (absent: not written). */
  resultsDir?: string;
}

export const LONG: BenchOptions = {
  steps: [25, 50, 100, 200, 300, 400, 500, 600, 800],
  settleSec: 3,
  windowSec: 10,
  agentRuns: 10,
  resultsDir: RESULTS,
};

/** Loss and jitter of one received stream (RFC 3550 §6.4.1 interarrival jitter). */
class StreamStats {
  received = 0;
  private firstSeq = -1;
  private maxSeq = -1;
  private cycles = 0;
  private transit: number | undefined;
  /** In RTP timestamp units (8 kHz). */
  jitter = 0;

  packet(seq: number, ts: number, arrivalMs: number): void {
    this.received++;
    if (this.firstSeq < 0) {
      this.firstSeq = seq;
      this.maxSeq = seq;
    } else if (seq > this.maxSeq || this.maxSeq - seq > 30000) {
      if (seq < this.maxSeq) this.cycles += 65536;
      this.maxSeq = seq;
    }
    const arrival = arrivalMs * 8; // ms → 8 kHz units
    const transit = arrival - ts;
    if (this.transit !== undefined) {
      const d = Math.abs(transit - this.transit);
      this.jitter += (d - this.jitter) / 16;
    }
    this.transit = transit;
  }

  get expected(): number {
    return this.firstSeq < 0 ? 0 : this.cycles + this.maxSeq - this.firstSeq + 1;
  }

  get jitterMs(): number {
    return this.jitter / 8;
  }
}

interface Caller {
  sock: Socket;
  port: number;
  dialog?: Dialog;
  target?: { host: string; port: number };
  stats: StreamStats;
  seq: number;
  ts: number;
  ssrc: number;
}

async function openCaller(i: number): Promise<Caller> {
  const sock = createSocket('udp4');
  const port = CALLER_RTP + i;
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, '127.0.0.1', () => resolve());
  });
  const c: Caller = { sock, port, stats: new StreamStats(), seq: 0, ts: 0, ssrc: 0x10000 + i };
  sock.on('message', (m) => {
    if ((m[1]! & 0x7f) !== 0) return;
    c.stats.packet(
      m.readUInt16BE(2),
      m.readUInt32BE(4),
      performance.timeOrigin + performance.now(),
    );
  });
  return c;
}

/** All callers send one 20 ms silence frame each tick (a carrier's RTP keeps flowing while it waits). */
function startSending(callers: Caller[]): NodeJS.Timeout {
  const payload = Buffer.alloc(160, 0xff);
  return setInterval(() => {
    for (const c of callers) {
      if (!c.target) continue;
      const h = Buffer.alloc(12);
      h[0] = 0x80;
      h[1] = 0;
      h.writeUInt16BE(c.seq++ & 0xffff, 2);
      h.writeUInt32BE(c.ts >>> 0, 4);
      h.writeUInt32BE(c.ssrc, 8);
      c.ts += 160;
      c.sock.send(Buffer.concat([h, payload]), c.target.port, c.target.host);
    }
  }, 20);
}

/** A caller dials the queue's DID through Kamailio, like a carrier. */
async function call(carrier: SipUA, c: Caller): Promise<boolean> {
  const r = await carrier.request('INVITE', {
    uri: `sip:${DID}@127.0.0.1:${ports.sip}`,
    from: `<sip:+1555020${String(c.port).slice(-4)}@127.0.0.2>`,
    body: plainSdp(c.port),
    contentType: 'application/sdp',
    authenticate: false,
    timeoutMs: 10_000,
  });
  if (r.final.status !== 200 || !r.dialog) return false;
  c.dialog = r.dialog;
  c.target = sdpAudio(r.final.body);
  return true;
}

interface StepResult {
  callers: number;
  established: number;
  lossPct: number;
  jitterMsP50: number;
  jitterMsP99: number;
  jitterMsMax: number;
  cpuMsPerCallerSecond: Record<string, number>;
  ok: boolean;
}

/** Grow to `n` callers, let them settle, then measure a window. */
async function measureStep(
  callers: Caller[],
  n: number,
  connect: (c: Caller) => Promise<boolean>,
  o: BenchOptions,
): Promise<StepResult> {
  while (callers.length < n) {
    const batch: Promise<void>[] = [];
    // at most 25 set-ups in flight: a carrier ramps, it does not burst
    for (let k = 0; k < 25 && callers.length < n; k++) {
      const c = await openCaller(callers.length);
      callers.push(c);
      batch.push(connect(c).then(() => undefined));
    }
    await Promise.all(batch);
  }
  await sleep(o.settleSec * 1000);
  const live = callers.filter((c) => c.target);
  for (const c of live) c.stats = new StreamStats();
  const before = cpuSnapshot();
  await sleep(o.windowSec * 1000);
  const after = cpuSnapshot();
  const expected = live.reduce((s, c) => s + c.stats.expected, 0);
  const received = live.reduce((s, c) => s + Math.min(c.stats.received, c.stats.expected), 0);
  const lossPct = expected ? ((expected - received) / expected) * 100 : 100;
  const jitters = live.map((c) => c.stats.jitterMs).sort((a, b) => a - b);
  const cpu: Record<string, number> = {};
  for (const part of ['rtpengine', 'kamailio', 'node (decision service + harness)']) {
    const sec = (after[part] ?? 0) - (before[part] ?? 0);
    cpu[part] = Math.round(((sec * 1000) / Math.max(1, live.length) / o.windowSec) * 1000) / 1000;
  }
  const r: StepResult = {
    callers: n,
    established: live.length,
    lossPct: Math.round(lossPct * 1000) / 1000,
    jitterMsP50: Math.round(percentile(jitters, 50) * 100) / 100,
    jitterMsP99: Math.round(percentile(jitters, 99) * 100) / 100,
    jitterMsMax: Math.round((jitters[jitters.length - 1] ?? 0) * 100) / 100,
    cpuMsPerCallerSecond: cpu,
    ok: live.length === n && lossPct < 0.1 && percentile(jitters, 99) < 20,
  };
  log(
    `  ${n} callers: ${live.length} up, loss ${r.lossPct}%, jitter p50 ${r.jitterMsP50} / p99 ${r.jitterMsP99} ms, rtpengine ${cpu.rtpengine} ms CPU per caller-second`,
  );
  return r;
}

async function hangUpAll(carrier: SipUA, callers: Caller[]): Promise<void> {
  for (let i = 0; i < callers.length; i += 25) {
    await Promise.all(
      callers
        .slice(i, i + 25)
        .map((c) =>
          c.dialog ? carrier.inDialog(c.dialog, 'BYE').catch(() => undefined) : undefined,
        ),
    );
  }
  for (const c of callers) c.sock.close();
  callers.length = 0;
}

/**
 * The baseline: a connected call, the same rtpengine relaying the caller's RTP
 * to a far end that echoes it back (two directions relayed, nothing played).
 * Set up with the call-control tier's own media API, no SIP.
 */
function relayed(stack: Stack, medias: CallMedia[]) {
  return async (c: Caller): Promise<boolean> => {
    const media = new CallMedia(stack.gw.rtpengine, `bench-relay-${c.port}`, 'caller', '127.0.0.1');
    medias.push(media);
    c.target = sdpAudio(await media.answerCaller(plainSdp(c.port)));
    await media.offerToward('far');
    await media.answerFrom('far', plainSdp(FAR_RTP));
    return true;
  };
}

/** Agent 1003 (a Node SIP client answering at once with a 600 Hz tone) becomes available; the waiting caller's clock runs until it hears 600 Hz. */
async function agentToFirstAudio(stack: Stack, carrier: SipUA, runs: number): Promise<number[]> {
  const cc = stack.gw.contactCenter!;
  const ua = await udpUser(stack, '1003', 1);
  const agentRtp = await RtpEndpoint.open(FAR_RTP + 500, 600);
  ua.onRequest((req) => {
    if (req.msg.method === 'INVITE') {
      req.reply(200, 'OK', { body: plainSdp(agentRtp.port), contentType: 'application/sdp' });
      const to = sdpAudio(req.msg.body);
      agentRtp.sendTo(to.host, to.port);
    } else if (req.msg.method !== 'ACK') req.reply(200, 'OK');
  });
  await ua.register({ expires: 300 });
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const callerRtp = await RtpEndpoint.open(FAR_RTP + 600 + i, 1000);
    const r = await carrier.request('INVITE', {
      uri: `sip:${DID}@127.0.0.1:${ports.sip}`,
      from: `<sip:+15550207${String(i).padStart(3, '0')}@127.0.0.2>`,
      body: plainSdp(callerRtp.port),
      contentType: 'application/sdp',
      authenticate: false,
    });
    const to = sdpAudio(r.final.body);
    callerRtp.sendTo(to.host, to.port);
    await sleep(500); // the caller hears music for a while
    const start = Date.now();
    cc.setState('1003', 'available');
    const deadline = start + 10_000;
    while (Date.now() < deadline && callerRtp.toneFrom(600, start).length === 0) await sleep(2);
    const first = callerRtp.toneFrom(600, start)[0];
    if (first) times.push(first.at - start);
    if (r.dialog) await carrier.inDialog(r.dialog, 'BYE').catch(() => undefined);
    await callerRtp.close();
    // after-call work, then offline for the next run
    for (let k = 0; k < 100 && cc.view('1003').state !== 'wrap-up'; k++) await sleep(20);
    const row = cc.store
      .queueCalls()
      .find((q) => q.agent === '1003' && !q.disposition && q.endedAt);
    if (row) cc.saveWrapUp('1003', row.id, 'Resolved');
    cc.setState('1003', 'offline');
  }
  agentRtp.stopSending();
  await ua.register({ expires: 0 }).catch(() => undefined);
  await ua.close();
  await agentRtp.close();
  return times;
}

export interface BenchResult {
  date: string;
  machine: string;
  method: string;
  moh: StepResult[];
  relayed: StepResult[];
  heldWaitingCallers: number;
  cpuRatioWaitingVsRelayed: number | null;
  agentAvailableToFirstAudioMs: { runs: number[]; p50: number; p95: number };
}

export async function runContactCenterBench(o: BenchOptions): Promise<BenchResult> {
  log('starting the gateway stack');
  const stack = await startStack('bench-contactcenter', BASE, {
    rtpengine: { portMin: 27000, portMax: 29999, deleteDelay: 0 },
    sip: { children: 4 },
    trunks: [carrierTrunk(ports)],
    contactCenter: {
      port: ports.callControl,
      queues: [
        {
          name: 'bench',
          dids: [DID],
          announce: { everySec: 0 },
          maxLength: 1000,
          maxWaitSec: 7200,
          wrapUpSec: 0,
        },
      ],
      ivrs: [],
      agents: [{ username: '1003', queues: [{ name: 'bench', penalty: 0 }] }],
    },
  } as never);
  const carrier = await carrierUA(ports, '+15550200000');
  // the baseline's far end: every packet goes straight back where it came from
  const relayFar = createSocket('udp4');
  await new Promise<void>((r) => relayFar.bind(FAR_RTP, '127.0.0.1', () => r()));
  relayFar.on('message', (m, r) => relayFar.send(m, r.port, r.address));
  const medias: CallMedia[] = [];

  const callers: Caller[] = [];
  const sender = startSending(callers);
  const moh: StepResult[] = [];
  const relayedSteps: StepResult[] = [];
  const relayedCall = relayed(stack, medias);
  try {
    log('music on hold: waiting callers in queue "bench", rising');
    for (const n of o.steps) {
      const r = await measureStep(callers, n, (c) => call(carrier, c), o);
      moh.push(r);
      if (!r.ok) break;
    }
    await hangUpAll(carrier, callers);
    const baselineN = Math.min(moh.filter((s) => s.ok).at(-1)?.callers ?? o.steps[0]!, 200);
    log(`baseline: ${baselineN} relayed calls (no media played)`);
    relayedSteps.push(await measureStep(callers, baselineN, relayedCall, o));
    await Promise.all(medias.map((m) => m.delete()));
    await hangUpAll(carrier, callers);
  } finally {
    clearInterval(sender);
  }
  log('agent available → caller hears the agent');
  const agentRuns = await agentToFirstAudio(stack, carrier, o.agentRuns);
  await carrier.close();
  relayFar.close();
  await stack.stop();

  const held = moh.filter((s) => s.ok).at(-1);
  const base = relayedSteps[0];
  const atSame = moh.find((s) => s.callers === base?.callers);
  const ratio =
    atSame && base && base.cpuMsPerCallerSecond.rtpengine! > 0
      ? Math.round(
          (atSame.cpuMsPerCallerSecond.rtpengine! / base.cpuMsPerCallerSecond.rtpengine!) * 100,
        ) / 100
      : null;
  const sorted = [...agentRuns].sort((a, b) => a - b);
  const result: BenchResult = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    method:
      'Callers: one Node SIP client on the trunk address, one RTP socket per caller sending 20 ms PCMU; each joins queue "bench" (no agent) and hears macroform-cold_day.wav played by rtpengine. Per step: settle, then a measuring window; loss from RTP sequence numbers, jitter per RFC 3550 §6.4.1 at the end of the window; a step passes with every caller up, loss < 0.1 % and jitter p99 < 20 ms. Baseline in the same run: the same rtpengine relaying connected calls both ways (caller ↔ an echoing far end, nothing played). Everything (rtpengine, Kamailio, Node service and the callers) shares this machine.',
    moh,
    relayed: relayedSteps,
    heldWaitingCallers: held?.callers ?? 0,
    cpuRatioWaitingVsRelayed: ratio,
    agentAvailableToFirstAudioMs: {
      runs: agentRuns,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
    },
  };
  if (o.resultsDir) writeResults(o.resultsDir, result, o);
  return result;
}

function writeResults(dir: string, r: BenchResult, o: BenchOptions): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'contactcenter.json'), JSON.stringify(r, null, 2) + '\n');
  const rows = r.moh
    .map(
      (s) =>
        `| ${s.callers} | ${s.established} | ${s.lossPct} | ${s.jitterMsP50} / ${s.jitterMsP99} / ${s.jitterMsMax} | ${s.cpuMsPerCallerSecond.rtpengine} | ${s.ok ? 'yes' : '**no**'} |`,
    )
    .join('\n');
  const b = r.relayed[0];
  const md = `# Contact center benchmark

${r.date}, ${r.machine}. Command: \`npm run bench:contactcenter\` (steps ${o.steps.join(', ')}; ${o.settleSec} s settle + ${o.windowSec} s window each).

${r.method}

## Waiting callers hearing music on hold

| callers | up | loss % | jitter ms p50 / p99 / max | rtpengine CPU ms per caller-second | passes |
|---|---|---|---|---|---|
${rows}

**Held at once: ${r.heldWaitingCallers} waiting callers** (the last step that passed; the run stops at the first that does not, or at the last step).

Baseline, same run: ${b ? `${b.callers} relayed calls, rtpengine ${b.cpuMsPerCallerSecond.rtpengine} ms CPU per call-second, loss ${b.lossPct} %` : 'not measured'}.
A waiting caller costs rtpengine **${r.cpuRatioWaitingVsRelayed ?? 'n/a'}×** a relayed call (decoding the WAV and encoding PCMU for each caller, against forwarding packets).

## Agent available → the caller's first audio from the agent

${r.agentAvailableToFirstAudioMs.runs.length} runs: p50 **${r.agentAvailableToFirstAudioMs.p50} ms**, p95 ${r.agentAvailableToFirstAudioMs.p95} ms
(agent state set available → offer → INVITE through Kamailio → the agent (a Node SIP client) answers at once → rtpengine re-pointed → first packet of the agent's 600 Hz tone at the caller). A browser agent adds its own answer and ICE/DTLS time.

Raw: [contactcenter.json](contactcenter.json)
`;
  writeFileSync(join(dir, 'contactcenter.md'), md);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  runContactCenterBench(LONG).then(
    (r) => {
      log(
        `held ${r.heldWaitingCallers} waiting callers; agent → audio p50 ${r.agentAvailableToFirstAudioMs.p50} ms`,
      );
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
