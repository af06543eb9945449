import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readCreds, type Cred } from './creds.js';
import { runLoad, parseAssertions, parseLoadArgs } from './load.js';
import { builtinNames, ConfigError, loadRefs, BUILTIN_DIR } from './scenario/load.js';
import { legPorts, runScenario, type RunOptions, type Target } from './runner.js';
import { uacCall, uacOptions, uacRegister, uas } from './sipp/generate.js';
import { writeReports, type Report } from './report/write.js';

// calltest: sipp-based call tests against any PBX, trunk or this gateway.
// Exit codes: 0 everything passed, 1 an expectation or assertion failed,
// 2 configuration or infrastructure error (bad YAML, sipp/tshark missing,
// a port in use).

const HELP = `calltest — call tests with real audio checks, driven by sipp

Usage:
  calltest list
  calltest explain <scenario.yaml | builtin:NAME>
  calltest run <suite.yaml | scenario.yaml | builtin:NAME> --target sip:host[:port] [options]
  calltest load builtin:basic-call --target sip:host[:port] --cps 5:50 --step 5/30s
                [--max-calls N] [--duration 10m] [--assert "asr>=99,pdd_p95<2000,mos_p5>=3.8"]
                [--media-sample 30s]   (media of the calls in the first 30 s is captured and scored)

Options:
  --target sip:host[:port]   where the calls go (PBX, trunk, this gateway); port 5060 by default
  --transport udp|tcp        SIP transport of sipp/baresip legs (WSS: a browser leg; sipp has no WebSocket)
  --creds users.csv          user,password[,domain] per line; legs pick rows with "creds: N"
  --var name=value           set a scenario variable (repeatable), e.g. --var callee=2001
  --junit f.xml --json f.json --html f.html   reports
  --pcap                     keep each scenario's media capture (media.pcap) in --out
  --out DIR                  working files, SIP message logs (default ./calltest-results)
  --port-base N              first of the local UDP ports used (default 41000; ~200 ports)
  --local-ip IP              local address for SIP and RTP (default 127.0.0.1)
  --iface NAME               capture interface for tshark (default lo)
  --browser-url URL          the softphone page for browser legs (default https://<target host>:8443/)
  --quiet                    no progress lines (also when CI is set)

Exit codes: 0 all passed, 1 an expectation/assertion failed, 2 configuration or infrastructure error.
`;

function parseTarget(t: string | undefined): Target {
  if (!t) throw new ConfigError('--target sip:host[:port] is required');
  const m = /^(?:sips?:)?(?:[^@]+@)?(\[[^\]]+\]|[^:;]+)(?::(\d+))?(?:;.*)?$/.exec(t);
  if (!m) throw new ConfigError(`--target ${t}: want sip:host[:port]`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 5060 };
}

function parseVars(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of list ?? []) {
    const i = v.indexOf('=');
    if (i < 1) throw new ConfigError(`--var ${v}: want name=value`);
    out[v.slice(0, i)] = v.slice(i + 1);
  }
  return out;
}

const options = {
  target: { type: 'string' },
  transport: { type: 'string', default: 'udp' },
  creds: { type: 'string' },
  var: { type: 'string', multiple: true },
  junit: { type: 'string' },
  json: { type: 'string' },
  html: { type: 'string' },
  pcap: { type: 'boolean', default: false },
  out: { type: 'string', default: 'calltest-results' },
  'port-base': { type: 'string', default: '41000' },
  'local-ip': { type: 'string', default: '127.0.0.1' },
  iface: { type: 'string', default: 'lo' },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  cps: { type: 'string' },
  step: { type: 'string' },
  'max-calls': { type: 'string' },
  duration: { type: 'string' },
  assert: { type: 'string' },
  'media-sample': { type: 'string' },
  'browser-url': { type: 'string' },
} as const;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    console.error(`calltest: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const [cmd, ref] = positionals;
  if (v.help || !cmd || cmd === 'help') {
    console.log(HELP);
    return 0;
  }
  try {
    if (cmd === 'list') {
      for (const n of builtinNames()) {
        const [l] = loadRefs(`builtin:${n}`);
        console.log(`builtin:${n.padEnd(22)} ${l!.scenario.description.split('\n')[0]}`);
      }
      console.log(`\n(${BUILTIN_DIR})`);
      return 0;
    }
    if (!ref) throw new ConfigError(`calltest ${cmd}: which scenario? (calltest list)`);
    if (cmd === 'explain') {
      explain(ref);
      return 0;
    }
    if (cmd !== 'run' && cmd !== 'load')
      throw new ConfigError(`unknown command "${cmd}" (calltest --help)`);
    const transport = v.transport;
    if (transport === 'wss')
      throw new ConfigError(
        '--transport wss: sipp 3.6.1 has no WebSocket; use a leg with engine: browser (it speaks WSS)',
      );
    if (transport === 'tls')
      throw new ConfigError(
        '--transport tls: sipp 3.6.1 has no TLS; put transport: tls (and tls_ca) on a baresip leg',
      );
    if (transport !== 'udp' && transport !== 'tcp')
      throw new ConfigError(`--transport ${transport}: udp or tcp`);
    const target = parseTarget(v.target);
    const creds: Cred[] = v.creds ? readCreds(v.creds) : [];
    const outDir = resolve(v.out);
    mkdirSync(outDir, { recursive: true });
    // working files never end up in a git commit by accident
    writeFileSync(join(outDir, '.gitignore'), '*\n');
    const quiet = v.quiet || !!process.env.CI;
    const o: RunOptions = {
      target,
      transport,
      creds,
      vars: parseVars(v.var),
      outDir,
      portBase: Number(v['port-base']),
      localIp: v['local-ip'],
      iface: v.iface,
      keepPcap: v.pcap,
      browserUrl: v['browser-url'],
      log: (l) => {
        if (!quiet) console.log(l);
      },
    };
    if (!Number.isInteger(o.portBase) || o.portBase < 1024 || o.portBase > 65000)
      throw new ConfigError(`--port-base ${v['port-base']}: a port between 1024 and 65000`);
    const started = Date.now();
    const report: Report = {
      tool: 'calltest',
      version: '0.1.0',
      target: `sip:${target.host}:${target.port};transport=${transport}`,
      startedAt: new Date(started).toISOString(),
      durationMs: 0,
      passed: false,
      scenarios: [],
    };
    const list = loadRefs(ref);
    if (cmd === 'load' && list.length !== 1)
      throw new ConfigError('calltest load takes one scenario (not a suite)');
    for (const [i, ls] of list.entries()) {
      const sl = ls.scenario.load;
      if (cmd === 'load' || sl) {
        // CLI flags override the scenario's own load block
        const la = parseLoadArgs({
          cps: v.cps ?? sl?.cps,
          step: v.step ?? sl?.step,
          duration: v.duration ?? sl?.duration,
          'max-calls': v['max-calls'] ?? sl?.max_calls,
          'media-sample': v['media-sample'],
        });
        const asserts = parseAssertions(v.assert ?? sl?.assert ?? '');
        await runLoad(ls, o, la, asserts, report);
        continue;
      }
      o.log(`▶ ${ls.scenario.name} (${i + 1}/${list.length})`);
      const r = await runScenario(ls, o);
      report.scenarios.push(r);
      const bad = r.checks.filter((c) => !c.ok);
      o.log(
        `${r.error ? '⚠ ERROR' : r.passed ? '✔ PASS ' : '✘ FAIL '} ${r.name} (${(r.durationMs / 1000).toFixed(1)} s)` +
          (r.error
            ? `: ${r.error}`
            : bad.length
              ? `: ${bad.map((c) => `${c.leg} ${c.name}: ${c.detail}`).join('; ')}`
              : ''),
      );
    }
    report.durationMs = Date.now() - started;
    const errored = report.scenarios.some((s) => s.error);
    report.passed = !errored && report.scenarios.every((s) => s.passed);
    writeReports(report, { junit: v.junit, json: v.json, html: v.html });
    // always a one-line verdict, even when quiet
    const failed = report.scenarios.filter((s) => !s.passed);
    for (const s of failed)
      if (quiet) {
        const bad = s.checks.filter((c) => !c.ok);
        console.log(
          `FAIL ${s.name}: ${s.error ?? bad.map((c) => `${c.leg} ${c.name}: ${c.detail}`).join('; ')}`,
        );
      }
    console.log(
      `calltest: ${report.passed ? 'PASS' : 'FAIL'} — ${report.scenarios.length - failed.length}/${report.scenarios.length} scenarios passed` +
        (report.load
          ? `, load assertions ${report.scenarios.flatMap((s) => s.loadAssertions ?? []).filter((a) => a.ok).length}/${report.scenarios.flatMap((s) => s.loadAssertions ?? []).length}`
          : '') +
        (v.html ? `, report ${v.html}` : ''),
    );
    if (errored) return 2;
    return report.passed ? 0 : 1;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`calltest: ${err.message}`);
      return 2;
    }
    console.error(`calltest: internal error: ${(err as Error).stack ?? String(err)}`);
    return 2;
  }
}

function explain(ref: string): void {
  for (const ls of loadRefs(ref)) {
    const s = ls.scenario;
    console.log(`# ${s.name}\n${s.description}\n`);
    console.log('## Plan');
    // the scenario's own var defaults filled in; what only --var or the run sets stays as ${name}
    const v = (t: string | undefined) =>
      t?.replace(/\$\{(\w+)\}/g, (m, name: string) => String(s.vars[name] ?? m));
    s.legs.forEach((leg0, i) => {
      const leg = {
        ...leg0,
        to: v(leg0.to),
        refer: leg0.refer && { ...leg0.refer, to: v(leg0.refer.to)! },
        attended_transfer: leg0.attended_transfer && {
          ...leg0.attended_transfer,
          consult: v(leg0.attended_transfer.consult)!,
        },
      };
      const p = legPorts(41000, i);
      const what =
        leg.role === 'uas'
          ? `answers${leg.register ? ' (after REGISTER)' : ''} with ${leg.answer.never ? 'ringing, never answering' : leg.answer.code}${leg.answer.calls > 1 ? ` (${leg.answer.calls} calls)` : ''}`
          : leg.attended_transfer
            ? `calls ${leg.to}, puts it on hold ${leg.attended_transfer.at_ms} ms after the answer and calls ${leg.attended_transfer.consult} (consultation); ${leg.attended_transfer.refer_after_ms} ms after that answer REFERs ${leg.to} to it with Refer-To …?Replaces=<the consultation dialog> (attended transfer, RFC 5589), waits for the NOTIFY sipfrag and for the target to end the consultation call`
            : leg.action === 'call'
              ? `calls ${leg.to}${leg.cancel_after_ms !== undefined ? `, cancels after ${leg.cancel_after_ms} ms` : `, hangs up after ${leg.hold_ms} ms`}${leg.refer ? `; ${leg.refer.at_ms} ms after the answer REFERs the far end to ${leg.refer.to} (blind transfer)` : ''}`
              : `sends ${leg.action.toUpperCase()}`;
      const media = [
        leg.media.tone_hz ? `streams ${leg.media.tone_hz} Hz` : '',
        leg.media.echo ? 'echoes RTP' : '',
        leg.media.dtmf ? `RFC 4733 DTMF ${leg.media.dtmf}` : '',
        leg.media.info_dtmf ? `INFO DTMF ${leg.media.info_dtmf}` : '',
      ].filter(Boolean);
      console.log(
        `${i + 1}. ${leg.id} [${leg.engine}, ${leg.role}${leg.creds === undefined ? '' : typeof leg.creds === 'number' ? `, creds row ${leg.creds}` : `, creds rows ${leg.creds.join(', ')} (one per call, in turn)`}] ${what}${media.length ? `; ${media.join(', ')}` : ''} (SIP port base+${p.sip - 41000})`,
      );
      const e = s.expect[leg.id];
      if (e) console.log(`   expect: ${JSON.stringify(e)}`);
    });
    for (const leg of s.legs) {
      if (leg.engine !== 'sipp' && !leg.xml) {
        console.log(
          `\n## ${leg.id}: ${leg.engine === 'browser' ? 'headless Chromium running the softphone core (softphone/src/phone) over WSS' : 'baresip, driven over ctrl_tcp'} — no sipp XML`,
        );
        continue;
      }
      const g = {
        finals: s.expect[leg.id]?.final ?? [200],
        toneFile: leg.media.tone_hz ? `tone-${leg.media.tone_hz}.ulaw` : undefined,
      };
      const xml = leg.xml
        ? readFileSync(resolve(ls.dir, leg.xml), 'utf8')
        : leg.role === 'uas'
          ? uas(leg, g)
          : leg.action === 'register'
            ? uacRegister(g)
            : leg.action === 'options'
              ? uacOptions(g)
              : uacCall(leg, {
                  ...g,
                  finals: s.expect[leg.id]?.final ?? [
                    leg.cancel_after_ms !== undefined ? 487 : 200,
                  ],
                });
      console.log(
        `\n## sipp XML: ${leg.id}${leg.xml ? ` (raw, ${leg.xml})` : ' (generated)'}\n${xml}`,
      );
    }
  }
}

process.exitCode = await main(process.argv.slice(2));
