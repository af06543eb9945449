// `npm run bench:gateway`: in one run on this machine, drive sipp over UDP at
// rising rates through (a) a bare Kamailio stateful proxy and (b) the full
// gateway (digest auth, registrar lookup, rtpengine offer/answer, TypeScript
// decision), and report for each the highest calls/s held for 30 s with zero
// failed calls, post-dial delay p50/p99 at half that rate, REGISTER/s with auth
// for (b), and the ratio (b)/(a). Loopback only; every run is bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSipp, clean, percentile, type SippResult } from './sippRun.js';
import { startGateway, type Gateway } from '../../gateway/src/main.js';
import { parseConfig } from '../../gateway/src/config/load.js';
import { waitReady } from '../../gateway/src/supervisor/supervisor.js';
import { createLogger } from '../../gateway/src/log.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const HOLD_SECONDS = Number(process.env.BENCH_HOLD_SECONDS ?? 30);
const PROBE_SECONDS = Number(process.env.BENCH_PROBE_SECONDS ?? 5);
const PDD_SECONDS = 15;

// Ports of this benchmark (25000+), apart from the dev stack and the tests.
const BARE_PROXY = '127.0.0.1:25060';
const UAS_PORT = 25070;
const UAC_PORT = 25080;
const GATEWAY_SIP_PORT = 25160;

const BARE_RATES = [250, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000];
const GATEWAY_RATES = [50, 100, 200, 300, 400, 500, 600, 800, 1000, 1250, 1500];
const REGISTER_RATES = [100, 250, 500, 750, 1000, 1500, 2000, 3000];

const BENCH_USERS = 3;
const benchUser = (i: number) => `b${String(i).padStart(4, '0')}`;
const benchPassword = (i: number) => `bench-pw-${i}`;

const log = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);

interface RateSearch {
  probes: { rate: number; clean: boolean; failed: number; successful: number }[];
  heldRate: number;
  held?: SippResult;
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
    const r = await run(rate, HOLD_SECONDS);
    log(
      `  hold ${rate}/s for ${HOLD_SECONDS}s: ${r.successful} ok, ${r.failed} failed, ${r.retransmissions} retransmissions`,
    );
    if (clean(r)) return { probes, heldRate: rate, held: r };
  }
  return { probes, heldRate: 0 };
}

/** Let transactions and rtpengine sessions of the previous run drain. */
const settle = () => new Promise((r) => setTimeout(r, 3000));

function startUas(): ChildProcess {
  return spawn(
    'sipp',
    [
      '-sn',
      'uas',
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

async function benchBare(): Promise<{ search: RateSearch; pdd: SippResult }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-bare-'));
  const kamailio = spawn(
    'kamailio',
    ['-DD', '-E', '-m', '512', '-M', '16', '-f', join(HERE, 'kamailio-bare.cfg')],
    {
      cwd: dir,
      stdio: 'ignore',
    },
  );
  try {
    await waitReady({ kind: 'udp', host: '127.0.0.1', port: 25060, payload: options() }, 10_000);
    const run = (rate: number, seconds: number, traceRtt = false) =>
      runSipp({
        target: BARE_PROXY,
        scenario: join(HERE, 'sipp', 'uac-plain.xml'),
        injection: ['caller;pw;callee;'],
        rate,
        seconds,
        localPort: UAC_PORT,
        traceRtt,
      });
    const search = await searchRate(BARE_RATES, run);
    await settle();
    const pdd = await run(Math.max(1, Math.round(search.heldRate / 2)), PDD_SECONDS, true);
    return { search, pdd };
  } finally {
    await stopProcess(kamailio);
  }
}

async function benchGateway(): Promise<{
  search: RateSearch;
  pdd: SippResult;
  register: RateSearch;
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
    decision: { port: 25181 },
    rtpengine: { ngPort: 25223, portMin: 40000, portMax: 49999 },
    turn: { enabled: false },
    services: { echoPort: 25190, tonePort: 25192, mediaPortBase: 25300 },
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
      const run = (rate: number, seconds: number, traceRtt = false) =>
        runSipp({
          target,
          scenario: join(HERE, 'sipp', 'uac-auth.xml'),
          injection: [`${caller.username};;${benchUser(0)};`],
          auth: caller,
          rate,
          seconds,
          localPort: UAC_PORT,
          traceRtt,
        });
      const search = await searchRate(GATEWAY_RATES, run);
      await settle();
      const pdd = await run(Math.max(1, Math.round(search.heldRate / 2)), PDD_SECONDS, true);
      log(`REGISTER with digest auth`);
      const registrant = { username: benchUser(2), password: benchPassword(2) };
      const register = await searchRate(REGISTER_RATES, (rate, seconds) =>
        runSipp({
          target,
          scenario: join(HERE, 'sipp', 'register-auth.xml'),
          injection: [`${registrant.username};;;600;`],
          auth: registrant,
          rate,
          seconds,
          localPort: UAC_PORT + 5,
        }),
      );
      return { search, pdd, register, gateway: cfg };
    } finally {
      await stopProcess(uas);
    }
  } finally {
    await gateway.stop();
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

function options(): Buffer {
  return Buffer.from(
    'OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKbench\r\nFrom: <sip:bench@127.0.0.1>;tag=1\r\n' +
      'To: <sip:127.0.0.1>\r\nCall-ID: bench-ping\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 1\r\nContent-Length: 0\r\n\r\n',
  );
}

const pddSummary = (r: SippResult) => ({
  rate: r.rate,
  calls: r.successful,
  failed: r.failed,
  p50Ms: percentile(r.rttMs, 50),
  p99Ms: percentile(r.rttMs, 99),
});

async function main(): Promise<void> {
  const started = new Date();
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
  log(`(b) full gateway`);
  const full = await benchGateway();

  const result = {
    date: started.toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version },
    method: {
      holdSeconds: HOLD_SECONDS,
      probeSeconds: PROBE_SECONDS,
      pddSeconds: PDD_SECONDS,
      transport: 'UDP over loopback, sipp UAC → proxy → sipp UAS, all on this machine',
      pdd: 'first INVITE sent → 180/200 received (includes the 407 round trip for the gateway)',
    },
    bare: {
      heldCallsPerSecond: bare.search.heldRate,
      probes: bare.search.probes,
      pdd: pddSummary(bare.pdd),
    },
    gateway: {
      heldCallsPerSecond: full.search.heldRate,
      probes: full.search.probes,
      pdd: pddSummary(full.pdd),
      registersPerSecond: full.register.heldRate,
      registerProbes: full.register.probes,
      children: full.gateway.sip.children,
      asyncWorkers: full.gateway.sip.asyncWorkers,
    },
    ratio: bare.search.heldRate ? full.search.heldRate / bare.search.heldRate : null,
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
  bare: { heldCallsPerSecond: number; pdd: ReturnType<typeof pddSummary> };
  gateway: {
    heldCallsPerSecond: number;
    pdd: ReturnType<typeof pddSummary>;
    registersPerSecond: number;
    children: number;
    asyncWorkers: number;
  };
  ratio: number | null;
}): string {
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
  return `# Gateway benchmark

${r.date} · ${r.machine.cores} cores (${r.machine.cpu}) · Node ${r.machine.node}

| | (a) bare Kamailio proxy | (b) full gateway |
|---|---|---|
| calls/s held ${r.method.holdSeconds} s, zero failed | ${r.bare.heldCallsPerSecond} | ${r.gateway.heldCallsPerSecond} |
| post-dial delay p50 at half rate (ms) | ${f(r.bare.pdd.p50Ms)} @ ${r.bare.pdd.rate}/s | ${f(r.gateway.pdd.p50Ms)} @ ${r.gateway.pdd.rate}/s |
| post-dial delay p99 at half rate (ms) | ${f(r.bare.pdd.p99Ms)} | ${f(r.gateway.pdd.p99Ms)} |
| REGISTER/s with digest auth, zero failed | — | ${r.gateway.registersPerSecond} |

Ratio (b)/(a): **${r.ratio === null ? 'n/a' : r.ratio.toFixed(2)}**.
(b) does per call: a 407 challenge round trip, a digest check against the HA1
the TypeScript service returns, a registrar lookup, rtpengine offer and answer,
and three call-record events; Kamailio ${r.gateway.children} children per listener,
${r.gateway.asyncWorkers} async workers. sipp, Kamailio, rtpengine and Node share
the same cores.
`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
