// `npm run bench:endurance`: the long mode of the endurance and fault suite
// (short mode: test/integration/endurance.test.ts). A soak of BENCH_WARMUP_SECONDS
// (default 330) then BENCH_SOAK_SECONDS measured (default 600) at half the
// gateway's held calls/s (results/gateway.json, or BENCH_ENDURANCE_RATE) with
// media on every call, memory of every component sampled every 10 s, then each
// fault under the same load. Writes results/endurance.json and endurance.md.
// Loopback only; bounded in calls and time.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  afterWarmup,
  runEndurance,
  type EnduranceResult,
} from '../integration/harness/endurance.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');

/** From the gateway benchmark: calls/s held (zero-length calls) and concurrent calls with media held. */
function gatewayFigures(): { held?: number; mediaCalls?: number } {
  const f = join(RESULTS, 'gateway.json');
  if (!existsSync(f)) return {};
  const r = JSON.parse(readFileSync(f, 'utf8')) as {
    gateway?: { heldCallsPerSecond?: number; mediaCapacity?: { maxCalls?: number } };
  };
  return { held: r.gateway?.heldCallsPerSecond, mediaCalls: r.gateway?.mediaCapacity?.maxCalls };
}

async function main(): Promise<void> {
  const { held, mediaCalls } = gatewayFigures();
  const holdMs = Number(process.env.BENCH_HOLD_MS ?? 3000);
  let rate = held ? Math.floor(held / 2) : 50;
  let rateNote = held
    ? `half the held ${held} calls/s`
    : 'no gateway benchmark results: 50 calls/s';
  // Calls with media last holdMs: rate × hold calls are up at once. Above what the
  // machine carries with media (same benchmark), the soak would measure only that.
  const cap = mediaCalls ? Math.floor((0.8 * mediaCalls) / (holdMs / 1000)) : undefined;
  if (cap !== undefined && cap >= 1 && rate > cap) {
    rateNote = `half the held rate would be ${rate}/s, i.e. ${Math.round((rate * holdMs) / 1000)} calls with media at once, above the ${mediaCalls} this machine carried with media in the gateway benchmark: ${cap}/s (80 % of that)`;
    rate = cap;
  }
  if (process.env.BENCH_ENDURANCE_RATE) {
    rate = Number(process.env.BENCH_ENDURANCE_RATE);
    rateNote = 'BENCH_ENDURANCE_RATE';
  }
  // Memory is judged after the bounded tables have filled. The longest fill is
  // Kamailio's `calls` htable: it keeps each ended call CALLS_KEEP_SEC (300 s,
  // infra/kamailio/kamailio.cfg) for the reconciliation, so it grows for 300 s at
  // any rate. Others fill sooner at 80/s: V8's young generation (~150 s), the
  // records' SQLite page cache (2 MB, ~2 minutes).
  const warmupSec = Number(process.env.BENCH_WARMUP_SECONDS ?? 330);
  const soakSec = warmupSec + Number(process.env.BENCH_SOAK_SECONDS ?? 600);
  const load = { before: loadavg()[0]! };
  const started = new Date();
  const result = await runEndurance({
    name: 'bench-endurance',
    base: 19500,
    // a media port range of its own for hundreds of calls at once (4 ports per call)
    rtpPorts: { min: 50000, max: 59999 },
    rate,
    holdMs,
    soakSec,
    warmupSec,
    faults: ['kamailio-killed', 'rtpengine-killed', 'rtpengine-hung', 'service-killed'],
    faultPhaseSec: Number(process.env.BENCH_FAULT_SECONDS ?? 60),
    faultAtSec: 15,
    sampleEveryMs: 10_000,
    traceSoak: rate * soakSec <= 10_000,
    log: (m) => process.stdout.write(`[endurance] ${m}\n`),
  });
  const out = {
    date: started.toISOString(),
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? '',
      node: process.version,
      loadAverage1mBefore: load.before,
      loadAverage1mAfter: loadavg()[0],
    },
    heldCallsPerSecondFromGatewayBench: held ?? null,
    mediaCallsFromGatewayBench: mediaCalls ?? null,
    rateNote,
    ...result,
  };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'endurance.json'), JSON.stringify(out, null, 2) + '\n');
  writeFileSync(join(RESULTS, 'endurance.md'), markdown(out));
  process.stdout.write(markdown(out));
  const ok = verdict(result);
  if (ok.length) {
    process.stdout.write(`\nNOT PASSED:\n- ${ok.join('\n- ')}\n`);
    process.exit(1);
  }
}

/** What the suite requires, as a list of what did not hold. */
export function verdict(r: EnduranceResult): string[] {
  const bad: string[] = [];
  const soak = r.phases.find((p) => p.phase === 'soak');
  if (soak) {
    if (soak.failed > 0) bad.push(`soak: ${soak.failed} failed calls`);
    if (soak.records.total !== soak.created || soak.records.open > 0)
      bad.push(`soak: ${soak.records.total} records for ${soak.created} calls`);
    for (const [c, g] of Object.entries(r.memoryGrowth))
      if (g >= 0.05) bad.push(`soak: ${c} memory grew ${(g * 100).toFixed(1)} %`);
  }
  for (const p of r.phases) {
    if (p.leftover.rtpengineSessions !== 0 || p.leftover.kamailioDialogs !== 0)
      bad.push(`${p.phase}: left ${JSON.stringify(p.leftover)}`);
    if (p.successfulWithoutRecord.length > 0)
      bad.push(`${p.phase}: ${p.successfulWithoutRecord.length} successful calls without a record`);
    if (p.records.open > 0) bad.push(`${p.phase}: ${p.records.open} records left open`);
    if (p.fault && (!p.fault.recovered || p.fault.failedBeforeFault > 0))
      bad.push(`${p.phase}: did not recover cleanly`);
  }
  return bad;
}

function markdown(
  r: EnduranceResult & {
    rateNote: string;
    date: string;
    machine: {
      cores: number;
      cpu: string;
      node: string;
      loadAverage1mBefore: number;
      loadAverage1mAfter?: number;
    };
  },
): string {
  const soak = r.phases.find((p) => p.phase === 'soak');
  const mem = (phase: string) => r.memory.filter((m) => m.phase === phase);
  const soakMem = mem('soak');
  const comps = Object.keys(soakMem[0]?.pssKb ?? {});
  const warm = afterWarmup(r.memory, r.options.warmupSec)[0];
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  const faultRows = r.phases
    .filter((p) => p.fault)
    .map(
      (p) =>
        `| ${p.phase} | ${p.created} | ${p.failed} | ${p.fault!.healthyAfterMs ?? '—'} | ${p.fault!.callsOkAfterMs ?? 0} | ${JSON.stringify(p.fault!.restarts)} | ${p.records.total} (${p.records.open} open) | ${p.successfulWithoutRecord.length} | ${p.leftover.rtpengineSessions} / ${p.leftover.kamailioDialogs} |`,
    )
    .join('\n');
  const quiet =
    r.machine.loadAverage1mBefore > 2.5
      ? `**The machine was loaded (1-minute load ${r.machine.loadAverage1mBefore.toFixed(2)} before the run): CPU figures are noise.**`
      : `Machine quiet before the run (1-minute load ${r.machine.loadAverage1mBefore.toFixed(2)}).`;
  return `# Endurance and faults under load

${r.date} · ${r.machine.cores} cores (${r.machine.cpu}) · Node ${r.machine.node}. ${quiet}

Calls: sipp over UDP, digest-authenticated INVITE to the echo service (9196), RTP
both ways through rtpengine (sipp streams G.711, the echo service sends it back),
${r.options.holdMs} ms each, ${r.options.rate} calls/s (${r.rateNote}). The service runs as its own process.

## Soak: ${r.options.soakSec} s (${r.options.warmupSec} s of warm-up, then ${r.options.soakSec - r.options.warmupSec} s measured)

| | |
|---|---|
| calls placed / succeeded / failed | ${soak?.created} / ${soak?.successful} / ${soak?.failed} |
| call records (open) | ${soak?.records.total} (${soak?.records.open}) |
| rtpengine sessions / Kamailio dialogs left | ${soak?.leftover.rtpengineSessions} / ${soak?.leftover.kamailioDialogs} |
| CPU seconds over the soak | ${Object.entries(r.soakCpuSec)
    .map(([c, s]) => `${c} ${s}`)
    .join(', ')} |

Memory (PSS, MB; sampled every ${r.options.sampleEveryMs / 1000} s; growth after ${r.options.warmupSec} s of warm-up, lowest sample of the first third vs lowest of the last third: a collected heap is a sawtooth, its floor is what a leak raises):

| component | soak start | warm-up end | last | growth after warm-up |
|---|---|---|---|---|
${comps
  .map(
    (c) =>
      `| ${c} | ${mb(soakMem[0]?.pssKb[c] ?? 0)} | ${mb(warm?.pssKb[c] ?? 0)} | ${mb(soakMem[soakMem.length - 1]?.pssKb[c] ?? 0)} | ${((r.memoryGrowth[c] ?? 0) * 100).toFixed(2)} % |`,
  )
  .join('\n')}

## Faults, one at a time, under the same load (${r.options.faultPhaseSec} s each, fault at ${r.options.faultAtSec} s)

| fault | calls | failed | /healthz 200 after (ms) | calls succeed again after (ms) | restarted | records (open) | successful calls without record | rtpengine / dialogs left |
|---|---|---|---|---|---|---|---|---|
${faultRows}

"Calls succeed again after": from the fault to the first call placed after the last
failed one. Kamailio killed: sipp retransmits over UDP, and the restarted
Kamailio (about a second) takes the retransmissions and the in-dialog BYEs
(loose routing needs no dialog state), so few or no calls fail; its call events
for calls in flight are gone with it, and the records are closed by the
reconciliation when the service reconnects. rtpengine killed: calls fail until it
is back and Kamailio retries it (\`rtpengine_disable_tout\` 5 s). rtpengine hung:
the supervisor's ng ping misses ${'3'} in a row (1 s apart here) before SIGKILL and
restart, then the same. Service killed: Kamailio answers 503 while the decision
service is down; the restarted service reads the old Kamailio's call states before
it replaces it.
`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
