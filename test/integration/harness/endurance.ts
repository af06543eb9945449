import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { REPO_ROOT } from '../../../gateway/src/paths.js';
import { RtpengineControl } from '../../../gateway/src/rtpengine/client.js';
import { kamcmd } from '../../../gateway/src/kamailio/rpc.js';
import { SIPP_DIR, ulawFile } from './sipp.js';
import { portsFor } from './stack.js';

// The gateway under sustained calls with media, and under its components
// failing one at a time while those calls go on. The service runs as its own
// process (as in production), so "the TypeScript service killed" is a real
// SIGKILL: its supervised children outlive it, as they would, and the restarted
// service replaces them. Each phase is one sipp caller run (authenticated calls
// to the echo service, RTP both ways through rtpengine); its Call-IDs carry
// sipp's pid, so a phase's records are found by Call-ID. Used by
// test/integration/endurance.test.ts (short mode) and test/bench/endurance.ts
// (long mode). Every run is bounded in calls and time.

/**
 * Memory growth of one component over a soak (fraction: 0.05 = 5 %), from its
 * low points: the minimum of the first third of the samples against the
 * minimum of the last third. A garbage-collected heap (the Node service) is a
 * sawtooth: an average or a single sample lands anywhere on a tooth, so two
 * of them differ by a tooth's height with nothing leaking (seen: 11 % on a
 * soak whose last sample was below its first). What survives collection is the
 * floor of the teeth; a leak raises that floor. Each third must span a few
 * collections (10 minutes at 10 s samples: 20 samples a third).
 */
export function lowPointGrowth(samples: number[]): number {
  if (samples.length < 2) return 0;
  const window = Math.max(1, Math.floor(samples.length / 3));
  const first = Math.min(...samples.slice(0, window));
  const last = Math.min(...samples.slice(-window));
  return first > 0 ? Math.round(((last - first) / first) * 10000) / 10000 : 0;
}

/** The soak's memory samples from the end of its warm-up on: what the growth rule judges. */
export function afterWarmup(memory: MemorySample[], warmupSec: number): MemorySample[] {
  const soak = memory.filter((m) => m.phase === 'soak');
  const from = (soak[0]?.t ?? 0) + warmupSec * 1000;
  return soak.filter((m) => m.t >= from);
}

export type Fault = 'kamailio-killed' | 'rtpengine-killed' | 'rtpengine-hung' | 'service-killed';

export interface EnduranceOptions {
  name: string;
  base: number;
  /** rtpengine's media ports (4 per call). */
  rtpPorts: { min: number; max: number };
  rate: number;
  holdMs: number;
  soakSec: number;
  /** Memory growth is measured from this many seconds into the soak. */
  warmupSec: number;
  faults: Fault[];
  faultPhaseSec: number;
  /** When, into its phase, each fault happens. */
  faultAtSec: number;
  sampleEveryMs: number;
  /** Keep sipp's message log of the soak (per-call outcomes); fault phases always keep it. */
  traceSoak: boolean;
  log?: (msg: string) => void;
}

export interface CallOutcome {
  callId: string;
  invitedAt: number;
  ok: boolean;
}

export interface PhaseResult {
  phase: 'soak' | Fault;
  rate: number;
  seconds: number;
  created: number;
  successful: number;
  failed: number;
  /** Per Call-ID outcomes, when the phase was traced. */
  traced: boolean;
  records: { total: number; open: number; ended: number; failed: number };
  /** Successful calls without an ended, answered record (traced phases). */
  successfulWithoutRecord: string[];
  /** Records whose Call-ID sipp never placed (traced phases). */
  recordsWithoutCall: string[];
  leftover: { rtpengineSessions: number; kamailioDialogs: number };
  fault?: {
    at: number;
    /** Fault → /healthz 200 again. */
    healthyAfterMs?: number;
    /** Fault → the first call that succeeded with every later call succeeding too. */
    callsOkAfterMs?: number;
    /** Failed calls placed before the fault could have touched them (before fault − hold − 1 s). */
    failedBeforeFault: number;
    /** The phase's last calls all succeeded: it recovered by itself. */
    recovered: boolean;
    restarts: Record<string, number>;
  };
}

export interface MemorySample {
  t: number;
  phase: string;
  /** Proportional set size (kB) per component: shared memory split among its processes. */
  pssKb: Record<string, number>;
}

export interface EnduranceResult {
  options: Omit<EnduranceOptions, 'log'>;
  phases: PhaseResult[];
  memory: MemorySample[];
  /** Soak: growth of each component's memory after warm-up, low point to low point (`lowPointGrowth`). */
  memoryGrowth: Record<string, number>;
  /** CPU seconds per component over the soak. */
  soakCpuSec: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The gateway as a child process started from source, with its own config file. */
class GatewayProcess {
  child?: ChildProcess;
  constructor(
    private readonly configFile: string,
    private readonly logFile: string,
  ) {}

  start(): void {
    const out = openSync(this.logFile, 'a');
    this.child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(REPO_ROOT, 'gateway', 'src', 'main.ts'),
        '--config',
        this.configFile,
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', out, out] },
    );
    closeSync(out);
  }

  /** As a crash: SIGKILL to the service alone (its exit hook cannot run, its children stay). */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
}

function healthz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
    req.end();
  });
}

async function waitHealthy(port: number, timeoutMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if ((await healthz(port)) === 200) return Date.now() - start;
    await sleep(200);
  }
  throw new Error(`gateway not healthy within ${timeoutMs} ms`);
}

/** Process group of a supervised component, from the pid file the supervisor writes. */
function groupOf(run: string, component: string): number | undefined {
  const f = join(run, `${component}.pid`);
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8'));
  return Number.isFinite(pid) && pid > 0 ? pid : undefined;
}

/** Pids whose process group is `pgid`. */
export function members(pgid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[2]) === pgid) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

export function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function cpuSec(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ 100 on Linux
  } catch {
    return 0;
  }
}

interface SippRun {
  pid: number;
  done: Promise<{ created: number; successful: number; failed: number; messages?: string }>;
}

function startCaller(
  o: EnduranceOptions,
  dir: string,
  label: string,
  seconds: number,
  trace: boolean,
): SippRun {
  const ports = portsFor(o.base);
  const calls = Math.round(o.rate * seconds);
  const stat = join(dir, `${label}-stat.csv`);
  const messages = join(dir, `${label}-messages.log`);
  rmSync(stat, { force: true });
  rmSync(messages, { force: true });
  const args = [
    `127.0.0.1:${ports.sip}`,
    '-sf',
    join(SIPP_DIR, 'uac-call.xml'),
    '-i',
    '127.0.0.1',
    '-p',
    String(ports.client(0)),
    '-mp',
    String(ports.clientMedia(0)),
    // never sipp's default control port 8888
    '-cp',
    String(ports.client(1)),
    '-s',
    '9196',
    '-au',
    '1001',
    '-ap',
    'demo-1001-pw',
    '-key',
    'domain',
    'localhost',
    '-key',
    'from_user',
    '1001',
    '-d',
    String(o.holdMs),
    '-r',
    String(o.rate),
    '-m',
    String(calls),
    '-timeout',
    `${seconds + Math.ceil(o.holdMs / 1000) + 40}s`,
    '-recv_timeout',
    '10000',
    '-nostdin',
    '-trace_stat',
    '-stf',
    stat,
    '-fd',
    '1',
  ];
  if (trace) args.push('-trace_msg', '-message_file', messages);
  const child = spawn('sipp', args, { cwd: dir, stdio: 'ignore' });
  const done = new Promise<{ created: number; successful: number; failed: number }>((resolve) => {
    child.once('exit', () => {
      const rows = existsSync(stat) ? readFileSync(stat, 'utf8').trim().split('\n') : [];
      const header = (rows[0] ?? '').split(';');
      const last = (rows[rows.length - 1] ?? '').split(';');
      const col = (n: string) => Number(last[header.indexOf(n)] ?? 0);
      resolve({
        created: col('TotalCallCreated'),
        successful: col('SuccessfulCall(C)'),
        failed: col('FailedCall(C)'),
      });
    });
  }).then((r) => ({
    ...r,
    messages: trace && existsSync(messages) ? readFileSync(messages, 'utf8') : undefined,
  }));
  return { pid: child.pid ?? 0, done };
}

/** Per Call-ID from a caller's message log: when its first INVITE left, and whether its BYE got a 200. */
export function outcomes(messages: string): CallOutcome[] {
  const calls = new Map<string, CallOutcome>();
  const blocks = messages.split(/^-{10,} /m);
  for (const b of blocks) {
    const nl = b.indexOf('\n');
    if (nl < 0) continue;
    const at = new Date(b.slice(0, nl).trim().replace(' ', 'T')).getTime();
    const callId = /^Call-ID:\s*(\S+)/im.exec(b)?.[1];
    if (!callId) continue;
    const sent = /message sent/.test(b.slice(0, 200));
    let c = calls.get(callId);
    if (!c) {
      c = { callId, invitedAt: NaN, ok: false };
      calls.set(callId, c);
    }
    if (sent && /^\s*INVITE /m.test(b) && Number.isNaN(c.invitedAt)) c.invitedAt = at;
    if (!sent && /^SIP\/2\.0 200/m.test(b) && /^CSeq:\s*\d+ BYE/im.test(b)) c.ok = true;
  }
  return [...calls.values()].filter((c) => !Number.isNaN(c.invitedAt));
}

function dbRecords(dbFile: string, sippPid: number) {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `SELECT call_id AS callId, status, answered_at AS answeredAt, ended_at AS endedAt
         FROM call_records WHERE call_id LIKE ?`,
      )
      .all(`%-${sippPid}@%`) as {
      callId: string;
      status: string;
      answeredAt: string | null;
      endedAt: string | null;
    }[];
  } finally {
    db.close();
  }
}

async function dialogs(run: string): Promise<number> {
  const text = await kamcmd(run, ['dlg.stats_active']);
  return Number(/all:\s*(\d+)/.exec(text)?.[1] ?? NaN);
}

function restartsFrom(logFile: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (!existsSync(logFile)) return out;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('component back')) continue;
    try {
      const c = (JSON.parse(line) as { component?: string }).component;
      if (c) out[c] = (out[c] ?? 0) + 1;
    } catch {
      // not JSON
    }
  }
  return out;
}

export async function runEndurance(o: EnduranceOptions): Promise<EnduranceResult> {
  const log = o.log ?? (() => undefined);
  const ports = portsFor(o.base);
  const dataDir = join(REPO_ROOT, 'test', 'artifacts', 'integration', o.name);
  rmSync(dataDir, { recursive: true, force: true });
  const dir = join(dataDir, 'sipp');
  mkdirSync(dir, { recursive: true });
  ulawFile(dir, 'caller.ulaw', 1000);
  const run = join(dataDir, 'run');
  const configFile = join(dataDir, '..', `${o.name}-config.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      dataDir,
      http: { port: ports.http },
      sip: {
        port: ports.sip,
        wsPort: ports.ws,
        children: 4,
        asyncWorkers: 4,
        sharedMemoryMb: 256,
        privateMemoryMb: 16,
      },
      decision: { port: ports.decision, eventsPort: ports.events, timeoutMs: 1000 },
      rtpengine: {
        ngPort: ports.ng,
        portMin: o.rtpPorts.min,
        portMax: o.rtpPorts.max,
        deleteDelay: 0,
        // a hung rtpengine is found within about 3 s here (default: 4 misses, 5 s apart)
        hangCheck: { everyMs: 1000, timeoutMs: 1000, misses: 3 },
      },
      turn: { enabled: false, port: ports.turn },
      services: {
        echoPort: ports.echo,
        tonePort: ports.tone,
        mediaPortBase: ports.servicesMedia,
      },
      contactCenter: { enabled: false, port: ports.callControl },
      protection: { pikeReqsDensity: 100_000, failedAuthLimit: 100_000 },
      log: { level: 'info', kamailioDebug: 1 },
    }),
  );
  const serviceLog = join(dataDir, 'service.log');
  const gw = new GatewayProcess(configFile, serviceLog);
  const ng = new RtpengineControl('127.0.0.1', ports.ng);
  const memory: MemorySample[] = [];
  const phases: PhaseResult[] = [];
  let phaseName = 'start';
  let sampler: NodeJS.Timeout | undefined;
  const components = () => {
    const out: Record<string, number[]> = {};
    for (const c of ['kamailio', 'rtpengine', 'echo']) {
      const g = groupOf(run, c);
      out[c] = g ? members(g) : [];
    }
    out.service = gw.child?.pid ? [gw.child.pid] : [];
    return out;
  };
  const sample = () => {
    const pss: Record<string, number> = {};
    for (const [c, pids] of Object.entries(components()))
      pss[c] = pids.reduce((a, p) => a + pssKb(p), 0);
    memory.push({ t: Date.now(), phase: phaseName, pssKb: pss });
  };
  const cpuNow = () => {
    const out: Record<string, number> = {};
    for (const [c, pids] of Object.entries(components()))
      out[c] = pids.reduce((a, p) => a + cpuSec(p), 0);
    return out;
  };

  gw.start();
  try {
    await waitHealthy(ports.http, 60_000);
    log(`gateway up (${o.name}); soak ${o.soakSec} s at ${o.rate}/s, calls of ${o.holdMs} ms`);
    sampler = setInterval(sample, o.sampleEveryMs);
    sample();

    const phase = async (
      name: PhaseResult['phase'],
      seconds: number,
      trace: boolean,
      fault?: () => Promise<void>,
    ): Promise<PhaseResult> => {
      phaseName = name;
      const caller = startCaller(o, dir, name, seconds, trace);
      let faultInfo: PhaseResult['fault'];
      const restartsBefore = restartsFrom(serviceLog);
      if (fault) {
        await sleep(o.faultAtSec * 1000);
        const at = Date.now();
        log(`  ${name}`);
        await fault();
        // Right after a kill /healthz may still say 200 (the supervisor has not seen the exit yet).
        await sleep(300);
        let healthyAfterMs: number | undefined;
        try {
          await waitHealthy(ports.http, 60_000);
          healthyAfterMs = Date.now() - at;
        } catch {
          healthyAfterMs = undefined;
        }
        faultInfo = {
          at,
          healthyAfterMs,
          failedBeforeFault: 0,
          recovered: false,
          restarts: {},
        };
      }
      const r = await caller.done;
      // Calls are over: what they held must be gone, and their records closed.
      const deadline = Date.now() + 30_000;
      let leftover = { rtpengineSessions: -1, kamailioDialogs: -1 };
      let recs = dbRecords(join(dataDir, 'gateway.sqlite'), caller.pid);
      while (Date.now() < deadline) {
        leftover = {
          rtpengineSessions: await ng.sessionCount().catch(() => -1),
          kamailioDialogs: await dialogs(run).catch(() => -1),
        };
        recs = dbRecords(join(dataDir, 'gateway.sqlite'), caller.pid);
        if (
          leftover.rtpengineSessions === 0 &&
          leftover.kamailioDialogs === 0 &&
          recs.every((x) => x.endedAt)
        )
          break;
        await sleep(500);
      }
      const calls = r.messages ? outcomes(r.messages) : [];
      const byId = new Map(recs.map((x) => [x.callId, x]));
      const placed = new Set(calls.map((c) => c.callId));
      const result: PhaseResult = {
        phase: name,
        rate: o.rate,
        seconds,
        created: r.created,
        successful: r.successful,
        failed: r.failed,
        traced: !!r.messages,
        records: {
          total: recs.length,
          open: recs.filter((x) => !x.endedAt).length,
          ended: recs.filter((x) => x.status === 'ended').length,
          failed: recs.filter((x) => x.status === 'failed').length,
        },
        successfulWithoutRecord: calls
          .filter((c) => c.ok)
          .filter((c) => {
            const rec = byId.get(c.callId);
            return !rec || rec.status !== 'ended' || !rec.answeredAt;
          })
          .map((c) => c.callId),
        recordsWithoutCall: r.messages
          ? recs.filter((x) => !placed.has(x.callId)).map((x) => x.callId)
          : [],
        leftover,
      };
      if (faultInfo) {
        const sorted = [...calls].sort((a, b) => a.invitedAt - b.invitedAt);
        const lastBad = sorted.map((c) => c.ok).lastIndexOf(false);
        const firstGoodAfter = sorted[lastBad + 1];
        faultInfo.callsOkAfterMs =
          lastBad >= 0 && firstGoodAfter ? firstGoodAfter.invitedAt - faultInfo.at : undefined;
        faultInfo.failedBeforeFault = sorted.filter(
          (c) => !c.ok && c.invitedAt < faultInfo!.at - o.holdMs - 1000,
        ).length;
        // a second of calls at the end, all fine
        const tail = sorted.slice(-Math.max(5, Math.round(o.rate)));
        faultInfo.recovered = tail.length > 0 && tail.every((c) => c.ok);
        const after = restartsFrom(serviceLog);
        for (const [c, n] of Object.entries(after))
          if (n - (restartsBefore[c] ?? 0) > 0)
            faultInfo.restarts[c] = n - (restartsBefore[c] ?? 0);
        result.fault = faultInfo;
      }
      log(
        `  ${name}: ${r.successful}/${r.created} ok, ${r.failed} failed; records ${result.records.total} (${result.records.open} open); left: ${JSON.stringify(leftover)}${
          faultInfo
            ? `; healthy after ${faultInfo.healthyAfterMs} ms, calls ok after ${faultInfo.callsOkAfterMs ?? 0} ms`
            : ''
        }`,
      );
      return result;
    };

    const cpu0 = cpuNow();
    phases.push(await phase('soak', o.soakSec, o.traceSoak));
    const cpu1 = cpuNow();
    const soakCpuSec: Record<string, number> = {};
    for (const [c, v] of Object.entries(cpu1))
      soakCpuSec[c] = Math.round((v - (cpu0[c] ?? 0)) * 100) / 100;

    const signalComponent = (c: string, sig: NodeJS.Signals) => {
      const g = groupOf(run, c);
      if (!g) throw new Error(`${c} has no pid file`);
      process.kill(-g, sig);
    };
    const actions: Record<Fault, () => Promise<void>> = {
      'kamailio-killed': () => Promise.resolve(signalComponent('kamailio', 'SIGKILL')),
      'rtpengine-killed': () => Promise.resolve(signalComponent('rtpengine', 'SIGKILL')),
      'rtpengine-hung': () => Promise.resolve(signalComponent('rtpengine', 'SIGSTOP')),
      // Whoever runs the service (systemd, npm start's loop) starts it again at once.
      'service-killed': async () => {
        await gw.kill();
        gw.start();
      },
    };
    for (const f of o.faults) phases.push(await phase(f, o.faultPhaseSec, true, actions[f]));
    clearInterval(sampler);

    const soakSamples = afterWarmup(memory, o.warmupSec);
    const memoryGrowth: Record<string, number> = {};
    if (soakSamples.length >= 2) {
      for (const c of Object.keys(soakSamples[0]!.pssKb)) {
        memoryGrowth[c] = lowPointGrowth(soakSamples.map((m) => m.pssKb[c] ?? 0));
      }
    }
    const { log: _log, ...options } = o;
    return { options, phases, memory, memoryGrowth, soakCpuSec };
  } finally {
    clearInterval(sampler);
    // a hung rtpengine left stopped would outlive everything
    const g = groupOf(run, 'rtpengine');
    if (g) {
      try {
        process.kill(-g, 'SIGCONT');
      } catch {
        // gone
      }
    }
    ng.close();
    await gw.stop();
  }
}
