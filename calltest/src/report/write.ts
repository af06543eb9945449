import { writeFileSync } from 'node:fs';
import type { ScenarioResult } from '../runner.js';
import { aggregate, cpsSeries, mosSeries, type Aggregates } from './aggregate.js';

// JUnit XML (one testcase per scenario, one per load assertion), JSON, and one
// self-contained HTML file (inline CSS and SVG, no scripts or external files).

export interface LoadAssertion {
  expr: string;
  ok: boolean;
  actual: string;
}

export interface Report {
  tool: 'calltest';
  version: string;
  target: string;
  startedAt: string;
  durationMs: number;
  passed: boolean;
  scenarios: ScenarioResult[];
  load?: {
    asked: {
      cpsStart: number;
      cpsMax: number;
      step: number;
      stepSec: number;
      durationSec: number;
      maxCalls: number;
    };
    aggregates: Aggregates;
    assertions: LoadAssertion[];
    cps: { t: number; cps: number }[];
    mos: { t: number; mos: number }[];
  };
}

export const esc = (s: unknown) =>
  String(s ?? '').replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

export function junit(r: Report): string {
  const cases: string[] = [];
  let failures = 0;
  let errors = 0;
  for (const s of r.scenarios) {
    const failed = s.checks.filter((c) => !c.ok);
    let inner = '';
    if (s.error) {
      errors++;
      inner = `<error message="${esc(s.error)}">${esc(s.error)}</error>`;
    } else if (failed.length) {
      failures++;
      const msg = failed.map((c) => `${c.leg}: ${c.name}: ${c.detail}`).join('; ');
      const ladders = s.calls
        .filter((c) => c.failed && c.ladder)
        .map((c) => `${c.leg} ${c.callId}\n${c.ladder!.join('\n')}`)
        .join('\n\n');
      inner = `<failure message="${esc(msg)}">${esc(`${msg}\n\n${ladders}`)}</failure>`;
    }
    const out = s.checks
      .map((c) => `${c.ok ? 'PASS' : 'FAIL'} ${c.leg}: ${c.name}: ${c.detail}`)
      .join('\n');
    cases.push(
      `  <testcase classname="calltest.${esc(s.name)}" name="${esc(s.name)}" time="${(s.durationMs / 1000).toFixed(3)}">${inner}<system-out>${esc(out)}</system-out></testcase>`,
    );
  }
  for (const a of r.scenarios.flatMap((s) => s.loadAssertions ?? [])) {
    if (!a.ok) failures++;
    cases.push(
      `  <testcase classname="calltest.load" name="${esc(a.expr)}" time="0">${a.ok ? '' : `<failure message="${esc(`${a.expr}: actual ${a.actual}`)}"/>`}<system-out>${esc(`actual ${a.actual}`)}</system-out></testcase>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="calltest" tests="${cases.length}" failures="${failures}" errors="${errors}" time="${(r.durationMs / 1000).toFixed(3)}">
<testsuite name="calltest ${esc(r.target)}" tests="${cases.length}" failures="${failures}" errors="${errors}" timestamp="${esc(r.startedAt)}">
${cases.join('\n')}
</testsuite>
</testsuites>
`;
}

function chart(
  points: { x: number; y: number }[],
  title: string,
  yLabel: string,
  yMax?: number,
): string {
  const W = 600;
  const H = 180;
  const P = 32;
  if (!points.length) return `<p>${esc(title)}: no data</p>`;
  const xMax = Math.max(1, ...points.map((p) => p.x));
  const yTop = yMax ?? Math.max(1, ...points.map((p) => p.y)) * 1.1;
  const sx = (x: number) => P + (x / xMax) * (W - 2 * P);
  const sy = (y: number) => H - P - (y / yTop) * (H - 2 * P);
  const path = points
    .map((p, i) => `${i ? 'L' : 'M'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
    .join(' ');
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">
<line x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}" stroke="#999"/><line x1="${P}" y1="${P}" x2="${P}" y2="${H - P}" stroke="#999"/>
<text x="${P}" y="${P - 8}" font-size="11">${esc(yLabel)} (max ${yTop.toFixed(1)})</text><text x="${W - P}" y="${H - 8}" font-size="11" text-anchor="end">${xMax} s</text>
<path d="${path}" fill="none" stroke="#1565c0" stroke-width="2"/></svg></figure>`;
}

const fmt = (v: unknown) => (v === undefined || v === null ? '—' : esc(v));

export function html(r: Report): string {
  const rows = r.scenarios.flatMap((s) => s.calls.map((c) => ({ s: s.name, c })));
  const agg = r.load?.aggregates ?? aggregate(r.scenarios.flatMap((s) => s.calls));
  const cps = r.load?.cps ?? cpsSeries(r.scenarios.flatMap((s) => s.calls));
  const mos = r.load?.mos ?? mosSeries(r.scenarios.flatMap((s) => s.calls));
  const maxRows = 2000;
  const scen = r.scenarios
    .map(
      (s) =>
        `<tr class="${s.passed ? 'ok' : 'bad'}"><td>${esc(s.name)}</td><td>${s.error ? 'ERROR' : s.passed ? 'PASS' : 'FAIL'}</td><td>${(s.durationMs / 1000).toFixed(1)} s</td><td>${
          s.error
            ? esc(s.error)
            : s.checks
                .map(
                  (c) =>
                    `<div class="${c.ok ? 'ok' : 'bad'}">${c.ok ? '✔' : '✘'} ${esc(c.leg)}: ${esc(c.name)} — ${esc(c.detail)}</div>`,
                )
                .join('')
        }</td></tr>`,
    )
    .join('\n');
  const calls = rows
    .slice(0, maxRows)
    .map(
      ({ s, c }) =>
        `<tr class="${c.failed ? 'bad' : ''}"><td>${esc(s)}</td><td>${esc(c.leg)}</td><td><code>${esc(c.callId)}</code></td><td>${esc(c.method)}</td><td>${fmt(c.finalCode)} ${fmt(c.finalReason)}</td><td>${fmt(c.pddMs)}</td><td>${fmt(c.durationMs)}</td><td>${fmt(c.hangupBy)}</td><td>${fmt(c.rtpSent)}</td><td>${fmt(c.rtpReceived)}</td><td>${fmt(c.lossPct)}</td><td>${fmt(c.jitterMs)}</td><td>${fmt(c.mos)}</td><td>${fmt(c.audio)}</td></tr>`,
    )
    .join('\n');
  const ladders = rows
    .filter(({ c }) => c.failed && c.ladder)
    .slice(0, 50)
    .map(
      ({ s, c }) =>
        `<h3>${esc(s)} / ${esc(c.leg)} — <code>${esc(c.callId)}</code></h3><pre>${esc(c.ladder!.join('\n'))}</pre>`,
    )
    .join('\n');
  const asserts = r.scenarios
    .flatMap((s) => s.loadAssertions ?? [])
    .map(
      (a) =>
        `<tr class="${a.ok ? 'ok' : 'bad'}"><td><code>${esc(a.expr)}</code></td><td>${a.ok ? 'PASS' : 'FAIL'}</td><td>${esc(a.actual)}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>calltest ${r.passed ? 'PASS' : 'FAIL'} — ${esc(r.target)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.ok{color:#1b5e20}.bad{color:#b71c1c}tr.bad td{background:#fff3f3}pre{background:#f7f7f7;padding:8px;overflow:auto}
.verdict{font-size:22px;font-weight:600}figure{display:inline-block;margin:8px 16px 8px 0}
</style></head><body>
<h1>calltest report</h1>
<p class="verdict ${r.passed ? 'ok' : 'bad'}">${r.passed ? 'PASS' : 'FAIL'}</p>
<p>Target <code>${esc(r.target)}</code>, started ${esc(r.startedAt)}, ${(r.durationMs / 1000).toFixed(1)} s.</p>
<h2>Scenarios</h2><table><tr><th>scenario</th><th>verdict</th><th>time</th><th>checks</th></tr>${scen}</table>
${asserts ? `<h2>Load assertions</h2><table><tr><th>assertion</th><th>verdict</th><th>actual</th></tr>${asserts}</table>` : ''}
<h2>Aggregates</h2><table>
<tr><th>calls</th><td>${agg.calls}</td><th>answered</th><td>${agg.answered}</td><th>ASR</th><td>${agg.asr}%</td><th>ACD</th><td>${agg.acdMs} ms</td></tr>
<tr><th>PDD p50</th><td>${fmt(agg.pddP50)} ms</td><th>PDD p95</th><td>${fmt(agg.pddP95)} ms</td><th>MOS avg</th><td>${fmt(agg.mosAvg)}</td><th>MOS p5</th><td>${fmt(agg.mosP5)}</td></tr>
<tr><th>calls/s achieved (avg / peak second)</th><td>${agg.cpsAchieved} / ${agg.cpsPeak}</td><th>calls/s asked</th><td>${r.load ? `${r.load.asked.cpsStart} → ${r.load.asked.cpsMax}` : '—'}</td><th>peak concurrency</th><td>${agg.peakConcurrency}</td><th>failures by code</th><td>${esc(
    Object.entries(agg.failuresByCode)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ') || 'none',
  )}</td></tr>
</table>
<h2>Charts</h2>
${chart(
  cps.map((p) => ({ x: p.t, y: p.cps })),
  'Calls started per second',
  'calls/s',
)}
${chart(
  mos.map((p) => ({ x: p.t, y: p.mos })),
  'MOS (E-model) of calls started each second',
  'MOS',
  5,
)}
<h2>Calls</h2>
<table><tr><th>scenario</th><th>leg</th><th>Call-ID</th><th>request</th><th>final</th><th>PDD ms</th><th>duration ms</th><th>hung up by</th><th>RTP sent</th><th>RTP received</th><th>loss %</th><th>jitter ms</th><th>MOS</th><th>audio</th></tr>
${calls}</table>${rows.length > maxRows ? `<p>${rows.length - maxRows} more calls in the JSON report.</p>` : ''}
<h2>SIP ladders of failed calls</h2>${ladders || '<p>none</p>'}
<p><small>MOS: ITU-T G.107 E-model, R = 93.2 − Id − Ie,eff with G.711 (Ie 0, Bpl 25.1), delay = ptime + 2 × jitter; MOS = 1 + 0.035R + 7·10⁻⁶ R(R−60)(100−R).</small></p>
</body></html>
`;
}

export function writeReports(
  r: Report,
  files: { junit?: string; json?: string; html?: string },
): void {
  if (files.junit) writeFileSync(files.junit, junit(r));
  if (files.json) writeFileSync(files.json, JSON.stringify(r, null, 2));
  if (files.html) writeFileSync(files.html, html(r));
}
