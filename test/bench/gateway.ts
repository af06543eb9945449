// `npm run bench:gateway`: in one run on this machine, drive sipp over UDP at
// rising rates through (a) a bare Kamailio stateful proxy, (c) the same proxy
// with rtpengine offer/answer/delete on every call (no auth, no decision, no
// call events) and (b) the full gateway (digest auth, registrar lookup,
// rtpengine offer/answer, TypeScript decision, call events), and report for
// each the highest calls/s held for 30 s with zero failed calls, post-dial
// delay p50/p99 at half that rate, REGISTER/s with auth for (b), and the
// ratios (b)/(a) and (b)/(c): (b)/(c) isolates what auth, the decision round
// trip and the call events cost. (b0) is (b) with Kamailio's decision cache
// off (decision.cacheSeconds: 0) in the same run: the cache's cut as ratios.
// (c+auth) is (c) with the gateway's digest exchange on every INVITE and
// nothing more: (b)/(c+auth) is what the gateway costs beyond any
// authenticating proxy.
// CPU per call at one fixed rate every configuration holds is measured too:
// on a shared machine it compares where held rates drift with the load.
// BENCH_ONLY=cache runs only rounds of (c), (b0), (b) interleaved
// (gateway-cache.json/.md). Loopback only; every run is bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSipp, clean, percentile, type SippResult } from './sippRun.js';
import { cpuSnapshot, cpuPerCall } from './cpu.js';
import { mediaCapacity } from './mediaCapacity.js';
import { members, pssKb } from '../integration/harness/endurance.js';
import { Capture } from '../e2e/harness/capture.js';
import { startGateway, type Gateway } from '../../gateway/src/main.js';
import { parseConfig } from '../../gateway/src/config/load.js';
import { waitReady } from '../../gateway/src/supervisor/supervisor.js';
import { rtpengineArgs, ngPing } from '../../gateway/src/rtpengine/render.js';
import { KAMAILIO_MEMORY_ARGS } from '../../gateway/src/kamailio/render.js';
import { createLogger } from '../../gateway/src/log.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const HOLD_SECONDS = Number(process.env.BENCH_HOLD_SECONDS ?? 30);
const PROBE_SECONDS = Number(process.env.BENCH_PROBE_SECONDS ?? 5);
const PDD_SECONDS = 15;

// Ports of this benchmark (25000+), apart from the dev stack and the tests.
const BARE_PROXY = '127.0.0.1:25060';
const MEDIA_PROXY = '127.0.0.1:25062';
const MEDIA_NG_PORT = 25224;
const UAS_PORT = 25070;
const UAC_PORT = 25080;
const GATEWAY_SIP_PORT = 25160;

// Each list reaches past what its configuration held in the last run: a rate at
// the top of its list is a floor (the Markdown says "≥"), not the limit.
const BARE_RATES = [250, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000];
const GATEWAY_RATES = [50, 100, 200, 300, 400, 450, 500, 550, 600, 700, 800, 1000, 1250, 1500];
const MEDIA_RATES = [
  100, 200, 300, 400, 500, 600, 700, 800, 1000, 1250, 1500, 2000, 2500, 3000, 4000,
];
const REGISTER_RATES = [250, 500, 1000, 2000, 3000, 4000, 5000, 6000, 8000];

const BENCH_USERS = 3;
const benchUser = (i: number) => `b${String(i).padStart(4, '0')}`;
const benchPassword = (i: number) => `bench-pw-${i}`;

const log = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);

interface RateSearch {
  probes: { rate: number; clean: boolean; failed: number; successful: number }[];
  heldRate: number;
  /** Held at the top of its list: the configuration may hold more. */
  atTop?: boolean;
  held?: SippResult;
  /** CPU milliseconds per call of each part during the held run. */
  cpuMsPerCall?: Record<string, number>;
}

/** Rising short probes until one fails, then hold the best for HOLD_SECONDS (stepping down on failure). */
async function searchRate(
  rates: number[],
  run: (rate: number, seconds: number) => Promise<SippResult>,
): Promise<RateSearch> {
  const probes: RateSearch['probes'] = [];
  let bestIndex = -1;
  for (const [i, rate] of rates.entries()) {
    const r = await run(rate, PROBE_SECONDS);
    probes.push({ rate, clean: clean(r), failed: r.failed, successful: r.successful });
    log(`  probe ${rate}/s for ${PROBE_SECONDS}s: ${r.successful} ok, ${r.failed} failed`);
    if (!clean(r)) {
      log(`  first errors:\n${r.errors}`);
      break;
    }
    bestIndex = i;
    await settle();
  }
  for (let i = bestIndex; i >= 0 && i >= bestIndex - 2; i--) {
    const rate = rates[i]!;
    await settle();
    const before = cpuSnapshot();
    const r = await run(rate, HOLD_SECONDS);
    const cpuMsPerCall = cpuPerCall(before, cpuSnapshot(), r.successful);
    log(
      `  hold ${rate}/s for ${HOLD_SECONDS}s: ${r.successful} ok, ${r.failed} failed, ${r.retransmissions} retransmissions`,
    );
    if (clean(r)) {
      log(`  CPU ms per call: ${JSON.stringify(cpuMsPerCall)}`);
      return { probes, heldRate: rate, held: r, cpuMsPerCall, atTop: i === rates.length - 1 };
    }
  }
  return { probes, heldRate: 0 };
}

const CPU_RATE = Number(process.env.BENCH_CPU_RATE ?? 150);
const CPU_REGISTER_RATE = Number(process.env.BENCH_CPU_REGISTER_RATE ?? 300);
const CPU_SECONDS = 10;

interface FixedRate {
  rate: number;
  successful: number;
  failed: number;
  cpuMsPerCall: Record<string, number>;
}

/**
 * CPU ms per call (or REGISTER) of every part at one moderate rate that every
 * configuration holds: comparable between configurations on a shared machine,
 * where held rates move with other work's load.
 */
async function atFixedRate(
  rate: number,
  run: (rate: number, seconds: number) => Promise<SippResult>,
): Promise<FixedRate> {
  await settle();
  const before = cpuSnapshot();
  const r = await run(rate, CPU_SECONDS);
  const cpuMsPerCall = cpuPerCall(before, cpuSnapshot(), r.successful);
  log(
    `  fixed ${rate}/s for ${CPU_SECONDS}s: ${r.successful} ok, ${r.failed} failed, CPU ms each: ${JSON.stringify(cpuMsPerCall)}`,
  );
  return { rate, successful: r.successful, failed: r.failed, cpuMsPerCall };
}

/** A baseline's Kamailio (in `dir`) with the gateway's memory manager and sizes. */
function baselineKamailio(cfg: string, dir: string, defines: string[] = []): ChildProcess {
  return spawn(
    'kamailio',
    [
      '-DD',
      '-E',
      ...KAMAILIO_MEMORY_ARGS,
      '-m',
      '512',
      '-M',
      '16',
      ...defines.flatMap((d) => ['-A', d]),
      '-f',
      join(HERE, cfg),
    ],
    // Its own process group: Kamailio forks its workers, and all of them must go at the end.
    { cwd: dir, stdio: 'ignore', detached: true },
  );
}

/** Let transactions and rtpengine sessions of the previous run drain. */
const settle = () => new Promise((r) => setTimeout(r, 3000));

function startUas(): ChildProcess {
  return spawn(
    'sipp',
    [
      '-sf',
      join(HERE, 'sipp', 'uas.xml'),
      '-i',
      '127.0.0.1',
      '-p',
      String(UAS_PORT),
      '-mp',
      String(UAS_PORT + 2000),
      '-nostdin',
    ],
    {
      stdio: 'ignore',
    },
  );
}

async function benchBare(): Promise<{ search: RateSearch; pdd: Pdd }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bare-'));
  const kamailio = baselineKamailio('kamailio-bare.cfg', dir);
  try {
    await waitReady({ kind: 'udp', host: '127.0.0.1', port: 25060, payload: options() }, 10_000);
    const run = (rate: number, seconds: number) =>
      runSipp({
        target: BARE_PROXY,
        scenario: join(HERE, 'sipp', 'uac-plain.xml'),
        injection: ['caller;pw;callee;'],
        rate,
        seconds,
        localPort: UAC_PORT,
      });
    const search = await searchRate(BARE_RATES, run);
    await settle();
    const pdd = await measurePdd(search.heldRate / 2, run);
    return { search, pdd };
  } finally {
    await stopProcess(kamailio);
  }
}

/** (c): Kamailio + rtpengine offer/answer/delete, nothing of the gateway's own work. */
/**
 * (c) Kamailio + rtpengine; with `auth`, (c+auth): the gateway's digest exchange
 * on every INVITE too (kamailio-rtpengine.cfg WITH_AUTH), the caller answering
 * the 407 as (b)'s does.
 */
async function benchMedia(
  opts: { auth?: boolean } = {},
): Promise<{ search: RateSearch; pdd: Pdd; fixed: FixedRate }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-media-'));
  // The gateway's own rtpengine command line, on this baseline's ng port.
  const rtpCfg = parseConfig({
    dataDir: dir,
    rtpengine: { ngPort: MEDIA_NG_PORT, portMin: 40000, portMax: 49999, deleteDelay: 0 },
    log: { level: 'warn' },
  });
  const rtpengine = spawn('rtpengine', rtpengineArgs(rtpCfg), {
    cwd: dir,
    stdio: 'ignore',
    detached: true,
  });
  let kamailio: ChildProcess | undefined;
  const uas = startUas();
  try {
    // Kamailio disables an rtpengine that does not answer at its start.
    await waitReady(
      { kind: 'udp', host: '127.0.0.1', port: MEDIA_NG_PORT, payload: ngPing() },
      10_000,
    );
    kamailio = baselineKamailio('kamailio-rtpengine.cfg', dir, opts.auth ? ['WITH_AUTH'] : []);
    await waitReady({ kind: 'udp', host: '127.0.0.1', port: 25062, payload: options() }, 10_000);
    // (c+auth) checks the password of (b)'s caller account (BENCH_PASSWORD in the cfg).
    const caller = { username: benchUser(1), password: benchPassword(1) };
    const run = (rate: number, seconds: number) =>
      runSipp({
        target: MEDIA_PROXY,
        ...(opts.auth
          ? {
              scenario: join(HERE, 'sipp', 'uac-auth.xml'),
              injection: [`${caller.username};;callee;`],
              auth: caller,
            }
          : {
              scenario: join(HERE, 'sipp', 'uac-plain.xml'),
              injection: ['caller;pw;callee;'],
            }),
        rate,
        seconds,
        localPort: UAC_PORT,
      });
    const fixed = await atFixedRate(CPU_RATE, run);
    const search = await searchRate(MEDIA_RATES, run);
    await settle();
    const pdd = await measurePdd(search.heldRate / 2, run);
    return { search, pdd, fixed };
  } finally {
    if (kamailio) await stopProcess(kamailio);
    await stopProcess(rtpengine);
    await stopProcess(uas);
  }
}

async function benchGateway(
  opts: {
    /** Kamailio's decision cache (decision.cacheSeconds); 0 = a round trip per REGISTER and call. */
    cacheSeconds?: number;
    /** Also the concurrent-calls-with-media steps. */
    withMedia?: boolean;
  } = {},
): Promise<{
  search: RateSearch;
  pdd: Pdd;
  register: RateSearch;
  fixed: FixedRate;
  fixedRegister: FixedRate;
  media?: Awaited<ReturnType<typeof mediaCapacity>>;
  gateway: Gateway['cfg'];
}> {
  const users = Array.from({ length: BENCH_USERS }, (_, i) => ({
    username: benchUser(i),
    password: benchPassword(i),
  }));
  const cfg = parseConfig({
    dataDir: mkdtempSync(join(tmpdir(), 'bench-gateway-')),
    http: { port: 25443 },
    sip: { port: GATEWAY_SIP_PORT, wsPort: 25166 },
    decision: { port: 25181, eventsPort: 25182, cacheSeconds: opts.cacheSeconds ?? 300 },
    rtpengine: { ngPort: 25223, portMin: 40000, portMax: 49999 },
    turn: { enabled: false },
    services: { echoPort: 25190, tonePort: 25192, mediaPortBase: 25300 },
    contactCenter: { port: 25170 },
    protection: { pikeReqsDensity: 100_000, failedAuthLimit: 100_000 },
    log: { level: 'warn', kamailioDebug: -1 },
    users,
  });
  const gateway = await startGateway(cfg, { log: createLogger('warn') });
  try {
    const target = `127.0.0.1:${GATEWAY_SIP_PORT}`;
    // The callee registers from the UAS's own port, so the registrar's lookup sends calls there.
    const reg = await runSipp({
      target,
      scenario: join(HERE, 'sipp', 'register-auth.xml'),
      injection: [`${benchUser(0)};;;3600;`],
      auth: { username: benchUser(0), password: benchPassword(0) },
      rate: 1,
      seconds: 1,
      localPort: UAS_PORT,
    });
    if (reg.successful !== 1)
      throw new Error('the callee could not register; is the gateway stack healthy?');
    const uas = startUas();
    await new Promise((r) => setTimeout(r, 500));
    try {
      // One caller account places every call: sipp 3.6.1 cannot take per-call credentials.
      const caller = { username: benchUser(1), password: benchPassword(1) };
      const run = (rate: number, seconds: number) =>
        runSipp({
          target,
          scenario: join(HERE, 'sipp', 'uac-auth.xml'),
          injection: [`${caller.username};;${benchUser(0)};`],
          auth: caller,
          rate,
          seconds,
          localPort: UAC_PORT,
        });
      const fixed = await atFixedRate(CPU_RATE, run);
      const search = await searchRate(GATEWAY_RATES, run);
      await settle();
      const pdd = await measurePdd(search.heldRate / 2, run);
      log(`REGISTER with digest auth`);
      const registrant = { username: benchUser(2), password: benchPassword(2) };
      const registerRun = (rate: number, seconds: number) =>
        runSipp({
          target,
          scenario: join(HERE, 'sipp', 'register-auth.xml'),
          injection: [`${registrant.username};;;600;`],
          auth: registrant,
          rate,
          seconds,
          localPort: UAC_PORT + 5,
        });
      const fixedRegister = await atFixedRate(CPU_REGISTER_RATE, registerRun);
      const register = await searchRate(REGISTER_RATES, registerRun);
      if (opts.withMedia === false)
        return { search, pdd, register, fixed, fixedRegister, gateway: cfg };
      log(`concurrent calls with media (plain RTP both sides)`);
      const media = await mediaCapacity({
        target,
        auth: caller,
        rtpMin: cfg.rtpengine.portMin,
        rtpMax: cfg.rtpengine.portMax,
        localPort: UAC_PORT + 10,
        mediaPort: 25500,
        steps: (process.env.BENCH_MEDIA_STEPS ?? '25,50,100,200,300,400,600,800')
          .split(',')
          .map(Number),
        log,
      });
      return { search, pdd, register, fixed, fixedRegister, media, gateway: cfg };
    } finally {
      await stopProcess(uas);
    }
  } finally {
    await gateway.stop();
  }
}

interface Wss {
  clients: number;
  registered: number;
  connectSeconds: number;
  /** PSS growth per registered client (kB): the TLS terminator (the service's process) and Kamailio. */
  terminatorKbPerClient: number;
  kamailioKbPerClient: number;
  refresh: {
    rate: number;
    ok: number;
    failed: number;
    p50Ms: number;
    p99Ms: number;
    cpuMsPerRefresh: Record<string, number>;
  }[];
  /** The first refresh rate whose p99 passed 200 ms (or that failed a request), if reached. */
  p99Over200msAt?: number;
}

/** Registered WebSocket clients over WSS through the terminator: memory per connection, CPU and latency per refresh. */
async function benchWss(): Promise<Wss> {
  const n = Number(process.env.BENCH_WSS_CLIENTS ?? 5000);
  const password = 'bench-wss-pw';
  const user = (i: number) => `w${String(i).padStart(5, '0')}`;
  const httpPort = 25443;
  const cfg = parseConfig({
    dataDir: mkdtempSync(join(tmpdir(), 'bench-wss-')),
    http: { port: httpPort },
    sip: { port: GATEWAY_SIP_PORT, wsPort: 25166, sharedMemoryMb: 512 },
    decision: { port: 25181, eventsPort: 25182 },
    rtpengine: { ngPort: 25223, portMin: 40000, portMax: 49999 },
    turn: { enabled: false },
    services: { echoPort: 25190, tonePort: 25192, mediaPortBase: 25300 },
    contactCenter: { port: 25170 },
    protection: { pikeReqsDensity: 100_000, failedAuthLimit: 100_000 },
    log: { level: 'warn', kamailioDebug: -1 },
    users: Array.from({ length: n }, (_, i) => ({ username: user(i), password })),
  });
  const gateway = await startGateway(cfg, { log: createLogger('warn') });
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'wssClients.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      wake?.();
    }
  });
  const ask = async <T>(cmd: Record<string, unknown>, timeoutMs: number): Promise<T> => {
    child.stdin.write(JSON.stringify(cmd) + '\n');
    const end = Date.now() + timeoutMs;
    while (!lines.length) {
      if (Date.now() > end || child.exitCode !== null)
        throw new Error(`WSS clients: no answer to ${String(cmd.cmd)}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 500);
      });
    }
    return JSON.parse(lines.shift()!) as T;
  };
  const kamailioPss = () => {
    const pid = gateway.supervisor.status().find((c) => c.name === 'kamailio')?.pid;
    return pid ? members(pid).reduce((a, p) => a + pssKb(p), 0) : 0;
  };
  const selfPss = () => pssKb(process.pid);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const before = { self: selfPss(), kamailio: kamailioPss() };
    const t0 = Date.now();
    let registered = 0;
    const batch = 1000;
    for (let from = 0; from < n; from += batch) {
      const r = await ask<{ connected: number; registered: number; failed: number }>(
        {
          cmd: 'connect',
          url: `wss://127.0.0.1:${httpPort}/ws`,
          origin: `https://127.0.0.1:${httpPort}`,
          from,
          count: Math.min(batch, n - from),
          password,
        },
        300_000,
      );
      registered += r.registered;
      log(`  ${registered} WSS clients registered (${r.failed} failed in this batch)`);
    }
    const connectSeconds = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 3000));
    const after = { self: selfPss(), kamailio: kamailioPss() };
    const perClient = (a: number, b: number) =>
      registered ? Math.round(((b - a) / registered) * 100) / 100 : NaN;
    const refresh: Wss['refresh'] = [];
    let p99Over200msAt: number | undefined;
    for (const rate of [100, 250, 500, 1000, 1500, 2000, 3000]) {
      const c0 = cpuSnapshot();
      const r = await ask<{ ok: number; failed: number; p50Ms: number; p99Ms: number }>(
        { cmd: 'refresh', rate, seconds: 10 },
        120_000,
      );
      const c1 = cpuSnapshot();
      const cpu = cpuPerCall(c0, c1, r.ok);
      refresh.push({ rate, ...r, cpuMsPerRefresh: cpu });
      log(
        `  REGISTER refresh ${rate}/s over WSS: ${r.ok} ok, ${r.failed} failed, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms`,
      );
      if (r.p99Ms > 200 || r.failed > 0) {
        p99Over200msAt = rate;
        break;
      }
      await new Promise((res) => setTimeout(res, 2000));
    }
    return {
      clients: n,
      registered,
      connectSeconds,
      terminatorKbPerClient: perClient(before.self, after.self),
      kamailioKbPerClient: perClient(before.kamailio, after.kamailio),
      refresh,
      p99Over200msAt,
    };
  } finally {
    child.stdin.write(JSON.stringify({ cmd: 'quit' }) + '\n');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await new Promise((r) => child.once('exit', r));
    clearTimeout(t);
    await gateway.stop();
  }
}

interface GatewaySummary {
  heldCallsPerSecond: number;
  registersPerSecond: number;
  cpuMsPerCall?: Record<string, number>;
  cpuMsPerRegister?: Record<string, number>;
  /** At CPU_RATE calls/s and CPU_REGISTER_RATE REGISTER/s (comparable under load). */
  fixed: FixedRate;
  fixedRegister: FixedRate;
  pdd: Pdd;
}

function summary(g: Awaited<ReturnType<typeof benchGateway>>): GatewaySummary {
  return {
    heldCallsPerSecond: g.search.heldRate,
    registersPerSecond: g.register.heldRate,
    cpuMsPerCall: g.search.cpuMsPerCall,
    cpuMsPerRegister: g.register.cpuMsPerCall,
    fixed: g.fixed,
    fixedRegister: g.fixedRegister,
    pdd: g.pdd,
  };
}

const total = (c?: Record<string, number>) => Object.values(c ?? {}).reduce((a, b) => a + b, 0);
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);

/**
 * a's total CPU per call over b's. With a baseline as a, the capacity ratio of
 * b that CPU implies: the rate a configuration holds on given cores goes as
 * 1 / its CPU per call.
 */
const cpuRatio = (a: FixedRate, b: FixedRate) =>
  ratio(total(a.cpuMsPerCall), total(b.cpuMsPerCall));

/** What the decision cache changes, cached over uncached (same run). */
function cut(cached: GatewaySummary, uncached: GatewaySummary) {
  return {
    callsPerSecond: ratio(cached.heldCallsPerSecond, uncached.heldCallsPerSecond),
    registersPerSecond: ratio(cached.registersPerSecond, uncached.registersPerSecond),
    /** CPU per call and per REGISTER at the fixed rates, all parts. */
    cpuPerCall: cpuRatio(cached.fixed, uncached.fixed),
    cpuPerRegister: cpuRatio(cached.fixedRegister, uncached.fixedRegister),
    pddP50: ratio(cached.pdd.p50Ms, uncached.pdd.p50Ms),
  };
}

/**
 * `BENCH_ONLY=cache`: the decision cache's cut alone, interleaved so a machine
 * whose load changes (other work on it) weighs on each configuration alike:
 * each round measures (c), (b0) cache off and (b) cache on, one after the other.
 */
async function cacheOnly(): Promise<void> {
  const started = new Date();
  const loadBefore = loadavg()[0]!;
  const rounds = Number(process.env.BENCH_CACHE_ROUNDS ?? 2);
  const results: {
    round: number;
    media: number;
    mediaFixed: FixedRate;
    mediaAuth: number;
    mediaAuthFixed: FixedRate;
    uncached: GatewaySummary;
    cached: GatewaySummary;
  }[] = [];
  for (let round = 1; round <= rounds; round++) {
    log(`round ${round}: (c) Kamailio + rtpengine`);
    const media = await benchMedia();
    await settle();
    log(`round ${round}: (c+auth) Kamailio + rtpengine + digest`);
    const mediaAuth = await benchMedia({ auth: true });
    await settle();
    log(`round ${round}: (b0) full gateway, cache off`);
    const uncached = summary(await benchGateway({ cacheSeconds: 0, withMedia: false }));
    await settle();
    log(`round ${round}: (b) full gateway, cache on`);
    const cached = summary(await benchGateway({ withMedia: false }));
    await settle();
    results.push({
      round,
      media: media.search.heldRate,
      mediaFixed: media.fixed,
      mediaAuth: mediaAuth.search.heldRate,
      mediaAuthFixed: mediaAuth.fixed,
      uncached,
      cached,
    });
  }
  const result = {
    date: started.toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version },
    holdSeconds: HOLD_SECONDS,
    probeSeconds: PROBE_SECONDS,
    cpuRate: CPU_RATE,
    cpuRegisterRate: CPU_REGISTER_RATE,
    loadAverage1mBefore: loadBefore,
    loadAverage1mAfter: loadavg()[0]!,
    rounds: results.map((r) => ({
      ...r,
      cut: cut(r.cached, r.uncached),
      cachedToMedia: ratio(r.cached.heldCallsPerSecond, r.media),
      uncachedToMedia: ratio(r.uncached.heldCallsPerSecond, r.media),
      // the rate a configuration holds on given cores goes as 1 / its CPU per call
      cachedToMediaByCpu: cpuRatio(r.mediaFixed, r.cached.fixed),
      uncachedToMediaByCpu: cpuRatio(r.mediaFixed, r.uncached.fixed),
      cachedToMediaAuth: ratio(r.cached.heldCallsPerSecond, r.mediaAuth),
      cachedToMediaAuthByCpu: cpuRatio(r.mediaAuthFixed, r.cached.fixed),
      mediaAuthToMediaByCpu: cpuRatio(r.mediaFixed, r.mediaAuthFixed),
    })),
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'gateway-cache.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(RESULTS, 'gateway-cache.md'), cacheMarkdown(result));
  log(`written ${join(RESULTS, 'gateway-cache.json')} and gateway-cache.md`);
  process.stdout.write(cacheMarkdown(result));
}

function cacheMarkdown(r: {
  date: string;
  machine: { cores: number; cpu: string };
  holdSeconds: number;
  cpuRate: number;
  cpuRegisterRate: number;
  loadAverage1mBefore: number;
  loadAverage1mAfter: number;
  rounds: {
    round: number;
    media: number;
    mediaFixed: FixedRate;
    mediaAuth: number;
    mediaAuthFixed: FixedRate;
    uncached: GatewaySummary;
    cached: GatewaySummary;
    cut: ReturnType<typeof cut>;
    cachedToMediaAuth: number | null;
    cachedToMediaAuthByCpu: number | null;
    mediaAuthToMediaByCpu: number | null;
    cachedToMedia: number | null;
    uncachedToMedia: number | null;
    cachedToMediaByCpu: number | null;
    uncachedToMediaByCpu: number | null;
  }[];
}): string {
  const n = (x: number | null) => (x === null ? 'n/a' : x.toFixed(2));
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
  const cpu = (c?: Record<string, number>) =>
    Object.entries(c ?? {})
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(', ');
  const rows = (line: (x: (typeof r.rounds)[number]) => string) => r.rounds.map(line).join('\n');
  return `# Gateway benchmark: Kamailio's decision cache (\`BENCH_ONLY=cache\`)

${r.date} · ${r.machine.cores} cores (${r.machine.cpu}) · 1-minute load ${r.loadAverage1mBefore.toFixed(2)} at the start, ${r.loadAverage1mAfter.toFixed(2)} at the end (other work shared the machine: compare within a round, not absolute rates)

Each round measures, one after the other: (c) Kamailio + rtpengine with no
auth and no decision service, (b0) the full gateway with \`decision.cacheSeconds: 0\`
(every REGISTER and call asks the TypeScript service over HTTP, as before the
cache), (b) the full gateway as shipped (users' HA1 and routing answers kept in
Kamailio's htables, emptied when the directory changes).

CPU per call of every part (sipp caller, Kamailio, rtpengine, the service's
Node process) at ${r.cpuRate} calls/s, and per REGISTER at ${r.cpuRegisterRate}/s, rates every
configuration holds: on a shared machine this is the comparable figure, and the
rate a configuration holds on given cores goes as 1 / its CPU per call, so the
"by CPU" columns are the capacity ratios that CPU implies.

| round | CPU ms per call (c) | (b0) | (b) | (b)/(b0) per call | (b0)/(c) by CPU | **(b)/(c) by CPU** | CPU ms per REGISTER (b0) | (b) | (b)/(b0) per REGISTER |
|---|---|---|---|---|---|---|---|---|---|
${rows((x) => `| ${x.round} | ${f(total(x.mediaFixed.cpuMsPerCall))} | ${f(total(x.uncached.fixed.cpuMsPerCall))} | ${f(total(x.cached.fixed.cpuMsPerCall))} | **${n(x.cut.cpuPerCall)}** | ${n(x.uncachedToMediaByCpu)} | **${n(x.cachedToMediaByCpu)}** | ${f(total(x.uncached.fixedRegister.cpuMsPerCall))} | ${f(total(x.cached.fixedRegister.cpuMsPerCall))} | **${n(x.cut.cpuPerRegister)}** |`)}

Held rates (${r.holdSeconds} s with zero failed calls; they move with the machine's load):

| round | (c) calls/s | (b0) calls/s | (b) calls/s | (b0)/(c) | (b)/(c) | (b)/(b0) calls | (b0) REGISTER/s | (b) REGISTER/s | (b)/(b0) REGISTER | PDD p50 (b0) → (b) ms |
|---|---|---|---|---|---|---|---|---|---|---|
${rows((x) => `| ${x.round} | ${x.media} | ${x.uncached.heldCallsPerSecond} | ${x.cached.heldCallsPerSecond} | ${n(x.uncachedToMedia)} | ${n(x.cachedToMedia)} | ${n(x.cut.callsPerSecond)} | ${x.uncached.registersPerSecond} | ${x.cached.registersPerSecond} | ${n(x.cut.registersPerSecond)} | ${f(x.uncached.pdd.p50Ms)} → ${f(x.cached.pdd.p50Ms)} |`)}

CPU ms per call at ${r.cpuRate}/s, by part:

| round | (c) | (b0) cache off | (b) cache on |
|---|---|---|---|
${rows((x) => `| ${x.round} | ${cpu(x.mediaFixed.cpuMsPerCall)} | ${cpu(x.uncached.fixed.cpuMsPerCall)} | ${cpu(x.cached.fixed.cpuMsPerCall)} |`)}

What the digest exchange alone costs: (c+auth) is (c) plus the gateway's
challenge and check on every INVITE (a 407, its ACK, the INVITE again, the
digest checked against one account's password in the Kamailio config), nothing
else. (b)/(c+auth) is then what the gateway costs beyond what any
authenticating proxy pays: the decision (cache lookups, JSON), registrar
lookup, dialog, call events and records.

| round | (c) CPU ms per call | (c+auth) | (b) | (c+auth)/(c) by CPU | **(b)/(c+auth) by CPU** | (c+auth) calls/s held | (b)/(c+auth) held |
|---|---|---|---|---|---|---|---|
${rows((x) => `| ${x.round} | ${f(total(x.mediaFixed.cpuMsPerCall))} | ${f(total(x.mediaAuthFixed.cpuMsPerCall))} | ${f(total(x.cached.fixed.cpuMsPerCall))} | ${n(x.mediaAuthToMediaByCpu)} | **${n(x.cachedToMediaAuthByCpu)}** | ${x.mediaAuth} | ${n(x.cachedToMediaAuth)} |`)}

| round | (c+auth) CPU ms per call by part |
|---|---|
${rows((x) => `| ${x.round} | ${cpu(x.mediaAuthFixed.cpuMsPerCall)} |`)}

CPU ms per REGISTER at ${r.cpuRegisterRate}/s, by part:

| round | (b0) cache off | (b) cache on |
|---|---|---|
${rows((x) => `| ${x.round} | ${cpu(x.uncached.fixedRegister.cpuMsPerCall)} | ${cpu(x.cached.fixedRegister.cpuMsPerCall)} |`)}
`;
}

/** SIGKILL a child, and its whole process group when it was spawned detached. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL'); // not a group leader
  }
  await exited;
}

function options(): Buffer {
  return Buffer.from(
    'OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKbench\r\nFrom: <sip:bench@127.0.0.1>;tag=1\r\n' +
      'To: <sip:127.0.0.1>\r\nCall-ID: bench-ping\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 1\r\nContent-Length: 0\r\n\r\n',
  );
}

interface Pdd {
  rate: number;
  calls: number;
  failed: number;
  /** Calls whose INVITE and first 18x/200 were both on the wire capture. */
  measured: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Post-dial delay on the wire: a capture of the caller's port, from its first
 * INVITE to the first 180/183/200 for that Call-ID (microsecond timestamps; sipp's
 * own rtd timers tick in whole milliseconds and read 0 for the bare proxy).
 */
async function measurePdd(
  halfRate: number,
  run: (rate: number, seconds: number) => Promise<SippResult>,
): Promise<Pdd> {
  const rate = Math.max(1, Math.round(halfRate));
  const dir = mkdtempSync(join(tmpdir(), 'bench-pdd-'));
  const capture = new Capture(join(dir, 'pdd.pcap'), `udp port ${UAC_PORT}`);
  await capture.start();
  let r: SippResult;
  try {
    r = await run(rate, PDD_SECONDS);
  } finally {
    await capture.stop();
  }
  const rows = capture.fields(
    'sip.CSeq.method == "INVITE"',
    ['frame.time_epoch', 'sip.Call-ID', 'sip.Method', 'sip.Status-Code', 'udp.srcport'],
    // SIP on the caller's port; no RTP heuristics (there is no media here, and they are slow)
    ['-d', `udp.port==${UAC_PORT},sip`, '-o', 'rtp.heuristic_rtp:FALSE'],
  );
  const invited = new Map<string, number>();
  const delays: number[] = [];
  for (const [time, callId = '', method, status, srcPort] of rows) {
    const t = Number(time);
    if (method === 'INVITE' && Number(srcPort) === UAC_PORT) {
      if (!invited.has(callId)) invited.set(callId, t);
      continue;
    }
    const code = Number(status);
    const t0 = invited.get(callId);
    if (t0 !== undefined && t0 >= 0 && (code === 200 || (code >= 180 && code <= 183))) {
      delays.push((t - t0) * 1000);
      invited.set(callId, -1); // first answer only
    }
  }
  const p = (q: number) => Math.round(percentile(delays, q) * 1000) / 1000;
  log(`  post-dial delay at ${rate}/s: ${delays.length} calls, p50 ${p(50)} ms, p99 ${p(99)} ms`);
  return {
    rate,
    calls: r.successful,
    failed: r.failed,
    measured: delays.length,
    p50Ms: p(50),
    p99Ms: p(99),
  };
}

async function main(): Promise<void> {
  const started = new Date();
  // CPU figures taken while other work loads the machine are noise: say so in the results.
  const loadBefore = loadavg()[0]!;
  log(`(a) bare Kamailio stateful proxy`);
  const uasBare = startUas();
  let bare;
  try {
    await new Promise((r) => setTimeout(r, 500));
    bare = await benchBare();
  } finally {
    await stopProcess(uasBare);
  }
  await settle();
  log(`(c) Kamailio + rtpengine offer/answer/delete, no auth, no decision service`);
  const media = await benchMedia();
  await settle();
  log(`(c+auth) Kamailio + rtpengine + the gateway's digest exchange, no decision service`);
  const mediaAuth = await benchMedia({ auth: true });
  await settle();
  log(`(b) full gateway`);
  const full = await benchGateway();
  if (!full.media) throw new Error('media capacity not measured');
  await settle();
  log(`(b0) full gateway with Kamailio's decision cache off (a round trip per REGISTER and call)`);
  const uncached = await benchGateway({ cacheSeconds: 0, withMedia: false });
  await settle();
  log(`registered WebSocket clients over WSS`);
  const wss = await benchWss();

  const result = {
    date: started.toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version },
    method: {
      holdSeconds: HOLD_SECONDS,
      probeSeconds: PROBE_SECONDS,
      pddSeconds: PDD_SECONDS,
      transport: 'UDP over loopback, sipp UAC → proxy → sipp UAS, all on this machine',
      pdd: 'on the wire at the caller: first INVITE sent → first 180/183/200 received (includes the 407 round trip for the gateway); the callee answers at once',
    },
    bare: {
      heldCallsPerSecond: bare.search.heldRate,
      atTop: bare.search.atTop ?? false,
      probes: bare.search.probes,
      pdd: bare.pdd,
      cpuMsPerCall: bare.search.cpuMsPerCall,
    },
    media: {
      heldCallsPerSecond: media.search.heldRate,
      atTop: media.search.atTop ?? false,
      probes: media.search.probes,
      pdd: media.pdd,
      cpuMsPerCall: media.search.cpuMsPerCall,
      fixed: media.fixed,
    },
    gateway: {
      heldCallsPerSecond: full.search.heldRate,
      probes: full.search.probes,
      pdd: full.pdd,
      cpuMsPerCall: full.search.cpuMsPerCall,
      fixed: full.fixed,
      registersPerSecond: full.register.heldRate,
      mediaCapacity: full.media,
      decisionCacheSeconds: full.gateway.decision.cacheSeconds,
      registerProbes: full.register.probes,
      children: full.gateway.sip.children,
      asyncWorkers: full.gateway.sip.asyncWorkers,
    },
    ratio: bare.search.heldRate ? full.search.heldRate / bare.search.heldRate : null,
    ratioToMedia: media.search.heldRate ? full.search.heldRate / media.search.heldRate : null,
    // the rate a configuration holds on given cores goes as 1 / its CPU per call
    ratioToMediaByCpu: cpuRatio(media.fixed, full.fixed),
    mediaAuth: {
      heldCallsPerSecond: mediaAuth.search.heldRate,
      atTop: mediaAuth.search.atTop ?? false,
      fixed: mediaAuth.fixed,
    },
    ratioToMediaAuth: ratio(full.search.heldRate, mediaAuth.search.heldRate),
    ratioToMediaAuthByCpu: cpuRatio(mediaAuth.fixed, full.fixed),
    cpuRate: CPU_RATE,
    uncached: summary(uncached),
    cacheCut: cut(summary(full), summary(uncached)),
    wss,
    loadAverage1mBefore: loadBefore,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'gateway.json'), JSON.stringify(result, null, 2) + '\n');
  writeFileSync(join(RESULTS, 'gateway.md'), markdown(result));
  log(`written ${join(RESULTS, 'gateway.json')} and gateway.md`);
  process.stdout.write(markdown(result));
}

function markdown(r: {
  date: string;
  machine: { cores: number; cpu: string; node: string };
  method: { holdSeconds: number };
  bare: {
    heldCallsPerSecond: number;
    atTop: boolean;
    pdd: Pdd;
    cpuMsPerCall?: Record<string, number>;
  };
  media: {
    heldCallsPerSecond: number;
    atTop: boolean;
    pdd: Pdd;
    cpuMsPerCall?: Record<string, number>;
    fixed: FixedRate;
  };
  mediaAuth: { heldCallsPerSecond: number; atTop: boolean; fixed: FixedRate };
  ratioToMediaAuth: number | null;
  ratioToMediaAuthByCpu: number | null;
  gateway: {
    heldCallsPerSecond: number;
    pdd: Pdd;
    cpuMsPerCall?: Record<string, number>;
    fixed: FixedRate;
    registersPerSecond: number;
    mediaCapacity: Awaited<ReturnType<typeof mediaCapacity>>;
    decisionCacheSeconds: number;
    children: number;
    asyncWorkers: number;
  };
  ratio: number | null;
  ratioToMedia: number | null;
  ratioToMediaByCpu: number | null;
  cpuRate: number;
  uncached: GatewaySummary;
  cacheCut: ReturnType<typeof cut>;
  loadAverage1mBefore: number;
  wss: Wss;
}): string {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '—');
  const parts = [
    ...new Set([
      ...Object.keys(r.bare.cpuMsPerCall ?? {}),
      ...Object.keys(r.media.cpuMsPerCall ?? {}),
      ...Object.keys(r.gateway.cpuMsPerCall ?? {}),
    ]),
  ];
  const cpuRows = parts
    .map(
      (p) =>
        `| ${p} | ${f(r.bare.cpuMsPerCall?.[p] ?? NaN)} | ${f(r.media.cpuMsPerCall?.[p] ?? NaN)} | ${f(r.gateway.cpuMsPerCall?.[p] ?? NaN)} |`,
    )
    .join('\n');
  const sum = (c?: Record<string, number>) => Object.values(c ?? {}).reduce((a, b) => a + b, 0);
  const fixedRows = [
    ...new Set([
      ...Object.keys(r.media.fixed.cpuMsPerCall),
      ...Object.keys(r.gateway.fixed.cpuMsPerCall),
    ]),
  ]
    .map(
      (p) =>
        `| ${p} | ${f(r.media.fixed.cpuMsPerCall[p] ?? NaN)} | ${f(r.gateway.fixed.cpuMsPerCall[p] ?? NaN)} |`,
    )
    .join('\n');
  return `# Gateway benchmark

${r.date} · ${r.machine.cores} cores (${r.machine.cpu}) · Node ${r.machine.node} · ${
    r.loadAverage1mBefore > 2.5
      ? `**machine loaded by other work (1-minute load ${r.loadAverage1mBefore.toFixed(2)} at the start): rates and CPU figures are low and noisy**`
      : `machine quiet at the start (1-minute load ${r.loadAverage1mBefore.toFixed(2)})`
  }

| | (a) bare Kamailio proxy | (c) Kamailio + rtpengine | (b) full gateway |
|---|---|---|---|
| calls/s held ${r.method.holdSeconds} s, zero failed | ${r.bare.atTop ? '≥ ' : ''}${r.bare.heldCallsPerSecond} | ${r.media.atTop ? '≥ ' : ''}${r.media.heldCallsPerSecond} | ${r.gateway.heldCallsPerSecond} |
| post-dial delay p50 at half rate (ms) | ${f(r.bare.pdd.p50Ms)} @ ${r.bare.pdd.rate}/s | ${f(r.media.pdd.p50Ms)} @ ${r.media.pdd.rate}/s | ${f(r.gateway.pdd.p50Ms)} @ ${r.gateway.pdd.rate}/s |
| post-dial delay p99 at half rate (ms) | ${f(r.bare.pdd.p99Ms)} | ${f(r.media.pdd.p99Ms)} | ${f(r.gateway.pdd.p99Ms)} |
| REGISTER/s with digest auth, zero failed | — | — | ${r.gateway.registersPerSecond} |

Ratios: (b)/(a) **${r.ratio === null ? 'n/a' : r.ratio.toFixed(2)}** (aim ≥ 0.4), (b)/(c)
**${r.ratioToMedia === null ? 'n/a' : r.ratioToMedia.toFixed(2)}** (aim ≥ 0.8): (c) does everything (b)
does with rtpengine (offer, answer, delete per call, the gateway's flags toward SIP)
and nothing else, so (b)/(c) is what auth, the decision round trip and the call
events cost.${
    r.bare.atTop || r.media.atTop
      ? ' A baseline held the top rate of its list ("≥"): the ratio against it is an upper bound; the CPU-per-call ratio below does not depend on it.'
      : ''
  }

Kamailio's decision cache (users' HA1 and routing answers in htables, emptied
when the directory changes; \`gateway/src/kamailio/DECISIONS.md\` "Cache"): (b) runs
with it, (b0) is the same gateway in the same run with \`decision.cacheSeconds: 0\`
(a round trip to the service per REGISTER and call): (b0) held
**${r.uncached.heldCallsPerSecond}** calls/s and **${r.uncached.registersPerSecond}** REGISTER/s; cached over
uncached: calls/s ×${r.cacheCut.callsPerSecond ?? 'n/a'}, REGISTER/s ×${r.cacheCut.registersPerSecond ?? 'n/a'}, CPU per
call ×${r.cacheCut.cpuPerCall ?? 'n/a'}, CPU per REGISTER ×${r.cacheCut.cpuPerRegister ?? 'n/a'}, post-dial delay p50
×${r.cacheCut.pddP50 ?? 'n/a'}. Rounds of (c)/(b0)/(b) interleaved: \`gateway-cache.md\`.

These calls carry no RTP and last zero seconds (INVITE, 200, ACK, BYE at once):
the figure is signalling capacity, with rtpengine opening and closing four media
ports per call. With media flowing, rtpengine's per-packet work is added per
call-second (see the endurance results, \`endurance.md\`).

Concurrent calls with media through (b), plain G.711 RTP on both sides (sipp
streams to the echo service, which sends it back), all calls up at once for 6 s
while every packet rtpengine sends is captured: the most calls with loss under
0.1 % and RFC 3550 jitter under 20 ms on every stream is
**${r.gateway.mediaCapacity.maxCalls}** (limit: ${r.gateway.mediaCapacity.limit}).

| calls | failed | streams | loss % | max jitter (ms) | cores busy | capture dropped | CPU ms per call-second per direction |
|---|---|---|---|---|---|---|---|
${r.gateway.mediaCapacity.steps
  .map(
    (s) =>
      `| ${s.calls} | ${s.failedCalls} | ${s.streams} | ${s.lossPct.toFixed(3)} | ${s.maxJitterMs} | ${s.coresBusy} | ${s.captureDropped} | ${Object.entries(
        s.cpuMsPerCallSecondPerDirection,
      )
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} |`,
  )
  .join('\n')}

Opus ↔ G.711 transcoding with real Opus endpoints (baresip): \`transcoding.md\`
(\`npm run bench:transcoding\`).

Registered WebSocket clients over WSS through the TLS terminator (the service's
HTTPS server, then Kamailio's plain WS listener), each its own TLS connection and
user, registered with digest: **${r.wss.registered} of ${r.wss.clients}** registered in
${r.wss.connectSeconds.toFixed(1)} s; memory (PSS growth per client) **${r.wss.terminatorKbPerClient} kB** in
the terminator (the service's process) and **${r.wss.kamailioKbPerClient} kB** in Kamailio. REGISTER
refreshes (each a 401 challenge and the authenticated REGISTER, decision round trip
included) spread over all clients, 10 s per rate:

| refreshes/s | ok | failed | p50 (ms) | p99 (ms) | CPU ms per refresh |
|---|---|---|---|---|---|
${r.wss.refresh
  .map(
    (x) =>
      `| ${x.rate} | ${x.ok} | ${x.failed} | ${x.p50Ms} | ${x.p99Ms} | ${Object.entries(
        x.cpuMsPerRefresh,
      )
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')} |`,
  )
  .join('\n')}

Registration latency p99 passes 200 ms at: **${r.wss.p99Over200msAt ? `${r.wss.p99Over200msAt}/s` : 'not reached'}**.

CPU milliseconds per call during the held run (where the cores went):

| part | (a) | (c) | (b) |
|---|---|---|---|
${cpuRows}
| **total** | ${f(sum(r.bare.cpuMsPerCall))} | ${f(sum(r.media.cpuMsPerCall))} | ${f(sum(r.gateway.cpuMsPerCall))} |

CPU milliseconds per call at ${r.cpuRate} calls/s, a rate (c) and (b) both hold (on a
shared machine the comparable figure: held rates move with other work's load, and
the rate a configuration holds on given cores goes as 1 / its CPU per call):

| part | (c) | (b) |
|---|---|---|
${fixedRows}
| **total** | ${f(sum(r.media.fixed.cpuMsPerCall))} | ${f(sum(r.gateway.fixed.cpuMsPerCall))} |

(b)/(c) by CPU: **${r.ratioToMediaByCpu === null ? 'n/a' : r.ratioToMediaByCpu.toFixed(2)}** (aim ≥ 0.8).

What the digest exchange alone costs: (c+auth) is (c) plus the gateway's
challenge and check on every INVITE (a 407, its ACK, the INVITE again, the
digest checked in the Kamailio config against one account's password) and
nothing else. It held ${r.mediaAuth.atTop ? '≥ ' : ''}${r.mediaAuth.heldCallsPerSecond} calls/s at
${f(sum(r.mediaAuth.fixed.cpuMsPerCall))} CPU ms per call at ${r.cpuRate}/s; (b)/(c+auth): **${r.ratioToMediaAuth?.toFixed(2) ?? 'n/a'}** held,
**${r.ratioToMediaAuthByCpu?.toFixed(2) ?? 'n/a'}** by CPU: what the gateway costs beyond what any
authenticating proxy pays (decision cache lookups, registrar lookup, dialog,
call events and records).

(b) does per call: a 407 challenge round trip (two more requests and a reply
through Kamailio and sipp than (c)), a digest check against the user's HA1 and
the routing answer, both kept in Kamailio's htables (the service is asked only on
a miss: \`gateway/src/kamailio/DECISIONS.md\` "Cache"), a registrar lookup, a
dialog, rtpengine offer, answer and delete (four media ports opened and closed),
and two call-record events (answered, ended) pushed over one evapi connection to the service,
which writes them in one SQLite transaction per 20 ms; Kamailio
${r.gateway.children} children per listener, ${r.gateway.asyncWorkers} async workers, its memory manager
TLSF (\`-x tlsf\`, also for (a) and (c)). Where the rest of (b)'s CPU goes and what
was cut: \`gateway/src/kamailio/DECISIONS.md\` "CPU per call". sipp, Kamailio,
rtpengine and Node share the same cores, so the held rate is roughly the cores
divided by the total CPU per call.
`;
}

(process.env.BENCH_ONLY === 'cache' ? cacheOnly() : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
