import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { aggregate, cpsSeries, mosSeries, type Aggregates } from './report/aggregate.js';
import type { LoadAssertion, Report } from './report/write.js';
import { runScenario, type RunOptions } from './runner.js';
import { ConfigError, type LoadedScenario } from './scenario/load.js';

// Load: the same scenario, its calling leg placed many times by sipp's own
// rate control (-r, -rate_increase every -rate_interval up to -rate_max),
// always bounded by a call count (-m) and a duration (-timeout + watchdog).
// Media under load: the far end echoes (sipp -rtp_echo) and the caller
// streams a tone; the streams of the calls in the first --media-sample seconds
// (default 30 s) are captured and scored (tone decoded, loss, jitter, MOS), so a
// long soak never fills the disk with its capture.

export interface LoadArgs {
  cpsStart: number;
  cpsMax: number;
  step: number;
  stepSec: number;
  maxCalls: number;
  durationSec: number;
  /** Media captured and scored for the calls of the first N seconds (bounded disk and memory). */
  mediaSampleSec: number;
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new ConfigError(`duration "${s}": want e.g. 30s, 10m, 1h`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

export function parseLoadArgs(v: Record<string, unknown>): LoadArgs {
  const cps = String(v.cps ?? '5');
  const m = /^(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?$/.exec(cps);
  if (!m) throw new ConfigError(`--cps ${cps}: want START[:MAX], e.g. 5:50`);
  const cpsStart = Number(m[1]);
  const cpsMax = Number(m[2] ?? m[1]);
  if (!(cpsStart > 0) || cpsMax < cpsStart)
    throw new ConfigError(`--cps ${cps}: MAX must be ≥ START > 0`);
  const stepS = String(v.step ?? `${cpsMax - cpsStart || 1}/30s`);
  const sm = /^(\d+(?:\.\d+)?)\/(.+)$/.exec(stepS);
  if (!sm) throw new ConfigError(`--step ${stepS}: want N/INTERVAL, e.g. 5/30s`);
  const durationSec = parseDuration(String(v.duration ?? '60s'));
  const maxCalls =
    v['max-calls'] !== undefined ? Number(v['max-calls']) : Math.ceil(cpsMax * durationSec);
  if (!Number.isInteger(maxCalls) || maxCalls < 1)
    throw new ConfigError('--max-calls: a positive whole number');
  if (durationSec > 24 * 3600) throw new ConfigError('--duration: at most 24h');
  return {
    cpsStart,
    cpsMax,
    step: Number(sm[1]),
    stepSec: parseDuration(sm[2]!),
    maxCalls,
    durationSec,
    mediaSampleSec: parseDuration(String(v['media-sample'] ?? '30s')),
  };
}

export interface Assertion {
  expr: string;
  metric: string;
  op: '>=' | '<=' | '>' | '<' | '==';
  value: number;
}

const METRICS: Record<string, (a: Aggregates, asked: LoadArgs) => number | undefined> = {
  asr: (a) => a.asr,
  acd: (a) => a.acdMs,
  pdd_p50: (a) => a.pddP50,
  pdd_p95: (a) => a.pddP95,
  mos_p5: (a) => a.mosP5,
  mos_avg: (a) => a.mosAvg,
  loss_avg: (a) => a.lossAvgPct,
  calls: (a) => a.calls,
  cps: (a) => a.cpsAchieved,
  cps_peak: (a) => a.cpsPeak,
  cps_ratio: (a, asked) => a.cpsAchieved / asked.cpsMax,
  peak_concurrency: (a) => a.peakConcurrency,
  failed: (a) => Object.values(a.failuresByCode).reduce((x, y) => x + y, 0),
};

export function parseAssertions(s: string): Assertion[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((expr) => {
      const m = /^([a-z0-9_]+)\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)$/.exec(expr);
      if (!m) throw new ConfigError(`--assert "${expr}": want metric OP number, e.g. asr>=99`);
      if (!METRICS[m[1]!])
        throw new ConfigError(
          `--assert "${expr}": unknown metric ${m[1]} (${Object.keys(METRICS).join(', ')})`,
        );
      return { expr, metric: m[1]!, op: m[2] as Assertion['op'], value: Number(m[3]) };
    });
}

export function checkAssertions(
  list: Assertion[],
  a: Aggregates,
  asked: LoadArgs,
): LoadAssertion[] {
  return list.map((x) => {
    const v = METRICS[x.metric]!(a, asked);
    const ok =
      v !== undefined &&
      (x.op === '>='
        ? v >= x.value
        : x.op === '<='
          ? v <= x.value
          : x.op === '>'
            ? v > x.value
            : x.op === '<'
              ? v < x.value
              : v === x.value);
    return {
      expr: x.expr,
      ok,
      actual: v === undefined ? 'no data' : String(Math.round(v * 100) / 100),
    };
  });
}

/** sipp's -trace_stat CSV: the last line's counters, for progress. */
function progress(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  if (lines.length < 2) return undefined;
  const head = lines[0]!.split(';');
  const last = lines[lines.length - 1]!.split(';');
  const get = (n: string) => last[head.indexOf(n)] ?? '?';
  // CallRate(P): calls placed per second over sipp's last period (-fd 1: the last second)
  const now = Number(get('CallRate(P)'));
  return `placed ${get('TotalCallCreated')}, passed ${get('SuccessfulCall(C)')}, failed ${get('FailedCall(C)')}, up ${get('CurrentCall')}, ${Number.isFinite(now) ? now.toFixed(1) : '?'} calls/s now (target ${get('TargetRate')})`;
}

export async function runLoad(
  ls: LoadedScenario,
  o: RunOptions,
  la: LoadArgs,
  asserts: Assertion[],
  report: Report,
): Promise<void> {
  const s = structuredClone(ls.scenario);
  const caller = s.legs.find((l) => l.role === 'uac' && l.action === 'call');
  if (!caller) throw new ConfigError(`${s.name}: a load run needs a calling (uac) leg`);
  // under load: the far end echoes (sipp 3.6.1's rtp_stream shares one port across calls)
  for (const l of s.legs)
    if (l.role === 'uas') {
      l.media = { ...l.media, tone_hz: undefined, echo: true };
    }
  const rampSec = la.step > 0 ? Math.ceil((la.cpsMax - la.cpsStart) / la.step) * la.stepSec : 0;
  s.timeout_s = Math.ceil(la.durationSec + caller.hold_ms / 1000 + 20);
  // expectations per call stay; audio: the caller hears its own tone back
  const exp = s.expect[caller.id];
  if (exp?.audio?.tone_hz !== undefined && caller.media.tone_hz !== undefined)
    exp.audio.tone_hz = caller.media.tone_hz;
  const statFile = join(o.outDir, s.name, `${caller.id}-stats.csv`);
  const timer = setInterval(() => {
    const p = progress(statFile);
    if (p) o.log(`  … ${p}`);
  }, 5000);
  o.log(
    `▶ load ${s.name}: ${la.cpsStart}→${la.cpsMax} calls/s (+${la.step} every ${la.stepSec}s, ramp ${rampSec}s), at most ${la.maxCalls} calls in ${la.durationSec}s`,
  );
  let r;
  try {
    r = await runScenario(
      { ...ls, scenario: s },
      {
        ...o,
        load: {
          calls: la.maxCalls,
          rate: la.cpsStart,
          rateIncrease:
            la.step > 0 && la.cpsMax > la.cpsStart
              ? { step: la.step, everySec: la.stepSec, max: la.cpsMax }
              : undefined,
          durationSec: la.durationSec,
          statFile,
          mediaSampleSec: la.mediaSampleSec,
        },
      },
    );
  } finally {
    clearInterval(timer);
  }
  report.scenarios.push(r);
  const rows = r.calls.filter((c) => c.leg === caller.id);
  const agg = aggregate(rows);
  report.load = {
    asked: { ...la },
    aggregates: agg,
    assertions: checkAssertions(asserts, agg, la),
    cps: cpsSeries(rows),
    mos: mosSeries(rows),
  };
  o.log(
    `  calls ${agg.calls}, ASR ${agg.asr}%, ACD ${agg.acdMs} ms, PDD p50/p95 ${agg.pddP50}/${agg.pddP95} ms, MOS p5 ${agg.mosP5}, ${agg.cpsAchieved} calls/s achieved on average, ${agg.cpsPeak} in the busiest second (asked up to ${la.cpsMax}), peak ${agg.peakConcurrency} concurrent`,
  );
  r.loadAssertions = report.load.assertions;
  r.passed = r.passed && r.loadAssertions.every((a) => a.ok);
  for (const a of report.load.assertions)
    o.log(`  ${a.ok ? '✔' : '✘'} ${a.expr} (actual ${a.actual})`);
}
