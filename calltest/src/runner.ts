import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { injectionText, type Cred } from './creds.js';
import { BaresipLeg, type BaresipEvent } from './engines/baresip.js';
import { BrowserLeg, type BrowserCallLog } from './engines/browser.js';
import { Capture } from './media/capture.js';
import { streamStats, type StreamStats } from './media/rtp.js';
import { ConfigError, expand, type LoadedScenario } from './scenario/load.js';
import type { Expectation, Leg, Scenario } from './scenario/schema.js';
import { uacCall, uacOptions, uacRegister, uas, type GenOptions } from './sipp/generate.js';
import { callRecords, readMessageLog, type CallRecord, type SipMessage } from './sipp/messages.js';
import {
  sippError,
  sippFatal,
  startSipp,
  waitBound,
  type SippProcess,
  type SippResult,
  type SippSpec,
} from './sipp/run.js';

// Runs one scenario: registers and starts the answering legs, runs the calling
// legs, captures their media with tshark, then judges every expectation from
// the SIP messages and the RTP packets. Nothing passes by timing out: a call
// that never got its expected event has no final code / no BYE answer / no
// packets, and the check naming it fails.

export interface Target {
  host: string;
  port: number;
}

export interface RunOptions {
  target: Target;
  transport: 'udp' | 'tcp';
  creds: Cred[];
  vars: Record<string, string>;
  outDir: string;
  /** First of the ~200 local UDP ports calltest uses (SIP, media, control). */
  portBase: number;
  localIp: string;
  iface: string;
  keepPcap: boolean;
  /** The softphone page for browser legs (default https://<target host>:8443/). */
  browserUrl?: string;
  log: (line: string) => void;
  /** Load run: the calling leg places many calls at a rate. */
  load?: {
    calls: number;
    rate: number;
    rateIncrease?: { step: number; everySec: number; max: number };
    durationSec: number;
    statFile: string;
    /** Media is captured and scored for calls within this many seconds from the start (bounded capture). */
    mediaSampleSec: number;
  };
}

export interface Check {
  leg: string;
  name: string;
  ok: boolean;
  detail: string;
}

export interface CallRow {
  leg: string;
  /** The leg placed this call (uac) or answered it (uas); aggregates count the placing side. */
  side?: 'uac' | 'uas';
  callId: string;
  method: string;
  finalCode?: number;
  finalReason?: string;
  pddMs?: number;
  durationMs?: number;
  hangupBy?: string;
  rtpSent?: number;
  rtpReceived?: number;
  lossPct?: number;
  jitterMs?: number;
  mos?: number;
  toneHz?: number;
  audio?: string;
  failed: boolean;
  /** What failed, for a failed call. */
  cause?: string;
  /** SIP ladder (failed calls only). */
  ladder?: string[];
  start: number;
}

export interface ScenarioResult {
  name: string;
  source: string;
  description: string;
  passed: boolean;
  /** Infrastructure or configuration problem: exit code 2. */
  error?: string;
  checks: Check[];
  /** Load scenarios: the aggregate assertions (each one a JUnit testcase). */
  loadAssertions?: { expr: string; ok: boolean; actual: string }[];
  calls: CallRow[];
  streams: StreamStats[];
  startedAt: number;
  durationMs: number;
  workDir: string;
}

const TONE_SECONDS = 60;

/** Raw 8 kHz u-law sine for sipp's rtp_stream (it wants raw, not WAV), made with sox. */
/** Connects to host:port over TLS and checks the certificate against `ca` (system CAs without it); the reason when it fails. */
function tlsVerify(hostPort: string, ca?: string): Promise<string | undefined> {
  const i = hostPort.lastIndexOf(':');
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(hostPort.slice(i + 1));
  return new Promise((resolveWhy) => {
    const sock = tlsConnect({
      host,
      port,
      ca: ca ? readFileSync(ca) : undefined,
      servername: isIP(host) ? undefined : host,
      rejectUnauthorized: true,
    });
    const t = setTimeout(() => {
      sock.destroy();
      resolveWhy(`no TLS handshake with ${hostPort} in 5 s`);
    }, 5000);
    sock.once('secureConnect', () => {
      clearTimeout(t);
      sock.end();
      resolveWhy(undefined);
    });
    sock.once('error', (err) => {
      clearTimeout(t);
      resolveWhy(`TLS to ${hostPort}: ${err.message}`);
    });
  });
}

/** A TLS CA file of a scenario (relative to the scenario's directory), which must exist. */
function caFile(f: string, dir: string): string {
  const abs = resolve(dir, f);
  if (!existsSync(abs)) throw new ConfigError(`tls_ca ${abs}: no such file`);
  return abs;
}

export function toneFile(dir: string, hz: number): string {
  const name = `tone-${hz}.ulaw`;
  const file = join(dir, name);
  if (!existsSync(file) || statSync(file).size !== 8000 * TONE_SECONDS) {
    try {
      execFileSync(
        'sox',
        [
          '-n',
          '-r',
          '8000',
          '-c',
          '1',
          '-t',
          'ul',
          file,
          'synth',
          String(TONE_SECONDS),
          'sine',
          String(hz),
        ],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
    } catch (err) {
      throw new ConfigError(
        `sox could not make ${file} (install Debian package "sox"): ${(err as Error).message}`,
      );
    }
  }
  return name;
}

const DTMF_PCAP_DIR = '/usr/share/sip-tester';
function dtmfPcap(d: string): string {
  const name = d === '#' ? 'pound' : d === '*' ? 'star' : d;
  const f = join(DTMF_PCAP_DIR, `dtmf_2833_${name}.pcap`);
  if (!existsSync(f)) throw new ConfigError(`${f} missing (Debian package "sip-tester" ships it)`);
  return f;
}

interface LegPorts {
  sip: number;
  media: number;
  control: number;
  /** A leg whose RTP port is not in its SDP log (baresip): its RTP port range. */
  rtpRange?: [number, number];
  /** A leg that measured its own media (browser, WebRTC getStats), per call id. */
  measured?: Map<string, { rx: StreamStats[]; tx: StreamStats[] }>;
}

export function legPorts(base: number, i: number): LegPorts {
  return { sip: base + i * 20, media: base + i * 20 + 4, control: base + i * 20 + 10 };
}

function finalsFor(leg: Leg, exp: Expectation | undefined): number[] {
  if (exp?.final) return exp.final;
  if (leg.cancel_after_ms !== undefined) return [487];
  return [200];
}

/** The leg's credentials, one per row it names (a list: one row per call, in turn). */
function legCredRows(leg: Leg, o: RunOptions, what: string): Cred[] {
  if (leg.creds === undefined) return [{ user: 'calltest', password: leg.password ?? '' }];
  const rows = typeof leg.creds === 'number' ? [leg.creds] : leg.creds;
  if (rows.length > 1 && (leg.engine !== 'sipp' || leg.role !== 'uac'))
    throw new ConfigError(
      `${what}: leg "${leg.id}": a list of creds rows (one per call) is for sipp calling legs (role: uac)`,
    );
  return rows.map((r) => {
    const c = o.creds[r];
    if (!c)
      throw new ConfigError(
        `${what}: leg "${leg.id}" wants row ${r} of --creds (${o.creds.length} rows given)`,
      );
    return leg.password !== undefined ? { ...c, password: leg.password } : c;
  });
}

function xmlFor(leg: Leg, exp: Expectation | undefined, g: GenOptions, dir: string): string {
  if (leg.xml) {
    const f = resolve(dir, leg.xml);
    if (!existsSync(f)) throw new ConfigError(`leg "${leg.id}": xml ${leg.xml} not found (${f})`);
    return readFileSync(f, 'utf8');
  }
  if (leg.role === 'uas') return uas(leg, g);
  if (leg.action === 'register') return uacRegister({ ...g, finals: finalsFor(leg, exp) });
  if (leg.action === 'options') return uacOptions({ ...g, finals: finalsFor(leg, exp) });
  return uacCall(leg, { ...g, finals: finalsFor(leg, exp) });
}

function ladder(msgs: SipMessage[], self: string): string[] {
  const t0 = msgs[0]?.t ?? 0;
  return msgs.map((m) => {
    const at = `${String(m.t - t0).padStart(6)} ms`;
    return m.dir === 'sent'
      ? `${at}  ${self} ──▶ target   ${m.firstLine}`
      : `${at}  ${self} ◀── target   ${m.firstLine}`;
  });
}

export async function runScenario(ls: LoadedScenario, o: RunOptions): Promise<ScenarioResult> {
  const s = ls.scenario;
  const startedAt = Date.now();
  const workDir = join(o.outDir, s.name);
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });
  const result: ScenarioResult = {
    name: s.name,
    source: ls.source,
    description: s.description,
    passed: false,
    checks: [],
    calls: [],
    streams: [],
    startedAt,
    durationMs: 0,
    workDir,
  };
  const procs: SippProcess[] = [];
  const baresipStops: BaresipLeg[] = [];
  const browserStops: BrowserLeg[] = [];
  let capture: Capture | undefined;
  try {
    await execute(
      s,
      ls.dir,
      o,
      workDir,
      result,
      procs,
      (c) => (capture = c),
      baresipStops,
      browserStops,
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    result.error = err.message;
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await Promise.all(baresipStops.map((b) => b.stop()));
    await Promise.all(browserStops.map((b) => b.stop()));
    await capture?.stop();
  }
  result.passed = !result.error && result.checks.every((c) => c.ok);
  result.durationMs = Date.now() - startedAt;
  return result;
}

async function execute(
  s: Scenario,
  dir: string,
  o: RunOptions,
  workDir: string,
  result: ScenarioResult,
  procs: SippProcess[],
  setCapture: (c: Capture) => void,
  baresipStops: BaresipLeg[] = [],
  browserStops: BrowserLeg[] = [],
): Promise<void> {
  const vars: Record<string, string | number> = {
    target_host: o.target.host,
    target_port: o.target.port,
    ...s.vars,
    ...o.vars,
  };
  const domain = String(vars.domain ?? o.target.host);
  const remote = `${o.target.host}:${o.target.port}`;
  const what = `scenario ${s.name}`;
  const timeoutSec = s.timeout_s;
  const deadline = Date.now() + timeoutSec * 1000;

  // media capture on every leg's local ports
  const needsMedia = s.legs.some((l) => l.action === 'call');
  let mediaCapture: Capture | undefined;
  // under load only the first mediaSampleSec are captured: calls ending after it are not media-judged
  const mediaUntil = o.load ? Date.now() + o.load.mediaSampleSec * 1000 : Infinity;
  if (needsMedia) {
    const lo = o.portBase;
    const hi = o.portBase + s.legs.length * 20;
    const cap = new Capture(join(workDir, 'media.pcap'), o.iface, `udp portrange ${lo}-${hi}`);
    setCapture(cap);
    mediaCapture = cap;
    await cap.start(8000, o.load?.mediaSampleSec);
  }

  const specs = new Map<string, SippSpec>();
  const baresips = new Map<string, BaresipLeg>();
  const browsers = new Map<string, BrowserLeg>();
  const baresipHangups = new Map<string, Set<string>>();
  const load = o.load;
  const uasProcs: { leg: Leg; proc: SippProcess }[] = [];
  const registrations: { leg: Leg; spec: SippSpec }[] = [];
  const results = new Map<string, SippResult>();

  for (const [i, leg] of s.legs.entries()) {
    const ports = legPorts(o.portBase, i);
    const credRows = legCredRows(leg, o, what);
    const cred = credRows[0]!;
    if (leg.transport === 'tls' && leg.engine !== 'baresip')
      throw new ConfigError(
        `leg "${leg.id}": transport tls needs engine: baresip (sipp 3.6.1 has no TLS; a browser leg speaks WSS)`,
      );
    if (leg.engine !== 'baresip' && leg.transport && leg.transport !== o.transport)
      throw new ConfigError(
        `leg "${leg.id}": transport ${leg.transport}: only baresip legs choose their own transport (--transport sets the sipp legs')`,
      );
    if (leg.tls_ca && leg.transport !== 'tls')
      throw new ConfigError(`leg "${leg.id}": tls_ca goes with transport: tls`);
    if (leg.engine === 'browser') {
      if (load) throw new ConfigError(`leg "${leg.id}": a load run drives sipp legs only`);
      const base = o.browserUrl ?? `https://${o.target.host}:8443/`;
      browsers.set(
        leg.id,
        new BrowserLeg({
          dir: join(workDir, `${leg.id}-browser`),
          baseUrl: base,
          wsUrl: `${base.replace(/^http/, 'ws').replace(/\/?$/, '/')}ws`,
          user: cred.user,
          password: cred.password,
          domain: cred.domain ?? domain,
          toneHz: leg.media.tone_hz ?? 440,
          chromium: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        }),
      );
      continue;
    }
    if (leg.engine === 'baresip') {
      if (load) throw new ConfigError(`leg "${leg.id}": a load run drives sipp legs only`);
      if (leg.role === 'uas' && leg.answer.code !== 200)
        throw new ConfigError(
          `leg "${leg.id}": a baresip leg answers 200 (use a sipp leg to refuse)`,
        );
      baresips.set(
        leg.id,
        new BaresipLeg({
          dir: join(workDir, `${leg.id}-baresip`),
          user: cred.user,
          password: cred.password,
          domain: cred.domain ?? domain,
          proxy: remote,
          transport: leg.transport ?? o.transport,
          caFile: leg.tls_ca
            ? caFile(expand(leg.tls_ca, vars, `${what}: leg ${leg.id}.tls_ca`), dir)
            : undefined,
          register: leg.register,
          localIp: leg.local_ip
            ? expand(leg.local_ip, vars, `${what}: leg ${leg.id}.local_ip`)
            : o.localIp,
          sipPort: ports.sip,
          ctrlPort: ports.control,
          rtpPort: ports.sip + 12,
          toneHz: leg.media.tone_hz ?? 440,
        }),
      );
      continue;
    }
    const exp = s.expect[leg.id];
    const g: GenOptions = {
      finals: finalsFor(leg, exp),
      toneFile: leg.media.tone_hz !== undefined ? toneFile(workDir, leg.media.tone_hz) : undefined,
      dtmfPcaps: leg.media.dtmf ? [...leg.media.dtmf].map(dtmfPcap) : undefined,
      referTo: leg.refer
        ? expand(leg.refer.to, vars, `${what}: leg ${leg.id}.refer.to`)
        : undefined,
    };
    const xml = xmlFor(leg, exp, g, dir);
    // tone files a raw XML names (tone-<hz>.ulaw) are made too
    for (const m of xml.matchAll(/tone-(\d+)\.ulaw/g)) toneFile(workDir, Number(m[1]));
    const xmlFile = join(workDir, `${leg.id}.xml`);
    writeFileSync(xmlFile, xml);
    const inf = join(workDir, `${leg.id}.csv`);
    writeFileSync(inf, injectionText(credRows, domain));
    const spec: SippSpec = {
      label: leg.id,
      xmlFile,
      remote: leg.role === 'uac' ? remote : undefined,
      transport: o.transport,
      localIp: leg.local_ip
        ? expand(leg.local_ip, vars, `${what}: leg ${leg.id}.local_ip`)
        : o.localIp,
      sipPort: ports.sip,
      mediaPort: ports.media,
      controlPort: ports.control,
      injectFile: inf,
      service: leg.to !== undefined ? expand(leg.to, vars, `${what}: leg ${leg.id}.to`) : cred.user,
      keys: { contact_port: ports.sip, expires: 300 },
      calls: load ? load.calls : leg.role === 'uas' ? leg.answer.calls : 1,
      rtpEcho: leg.media.echo,
      timeoutSec,
      cwd: workDir,
    };
    if (load && leg.role === 'uac') {
      spec.rate = load.rate;
      spec.rateIncrease = load.rateIncrease;
      spec.statFile = load.statFile;
      spec.limit = Math.max(
        10,
        Math.ceil((load.rateIncrease?.max ?? load.rate) * (leg.hold_ms / 1000 + 5)),
      );
    }
    specs.set(leg.id, spec);
    if (leg.role === 'uas' && leg.register) {
      const regXml = join(workDir, `${leg.id}-register.xml`);
      writeFileSync(regXml, uacRegister({ finals: [200] }));
      registrations.push({
        leg,
        spec: {
          ...spec,
          label: `${leg.id}-register`,
          xmlFile: regXml,
          remote,
          sipPort: ports.sip + 1,
          controlPort: ports.control + 1,
          mediaPort: ports.media + 8,
          rtpEcho: false,
          calls: 1,
          rate: undefined,
          rateIncrease: undefined,
          statFile: undefined,
          limit: undefined,
          timeoutSec: 10,
        },
      });
    }
  }

  // answering legs first: start them, then register their address
  for (const leg of s.legs.filter((l) => l.role === 'uas' && l.engine === 'sipp')) {
    const spec = specs.get(leg.id)!;
    const p = startSipp(spec);
    procs.push(p);
    await waitBound(p, spec.localIp, spec.sipPort, 5000, spec.transport);
    uasProcs.push({ leg, proc: p });
  }
  for (const r of registrations) {
    const res = await startSipp(r.spec).done;
    const fatal = sippFatal(res);
    if (fatal) throw new ConfigError(fatal);
    const rec = callRecords(readMessageLog(res.messageFile))[0];
    if (rec?.finalCode !== 200) {
      result.checks.push({
        leg: r.leg.id,
        name: 'registered',
        ok: false,
        detail: rec?.finalCode
          ? `REGISTER of ${r.leg.id} answered ${rec.finalCode} ${rec.finalReason}`
          : `REGISTER of ${r.leg.id} got no final answer (${sippError(res)})`,
      });
      return;
    }
  }

  // baresip legs: start, register, and (answering ones) answer every call after ring_ms
  let stopAnswering = false;
  const answerers: Promise<void>[] = [];
  for (const [id, b] of baresips) {
    const leg = s.legs.find((l) => l.id === id)!;
    if (b.o.transport === 'tls') {
      // baresip 1.0 loads sip_cafile but does not verify the server's certificate:
      // calltest checks the chain (and the name or address) itself before the call
      const why = await tlsVerify(b.o.proxy, b.o.caFile);
      result.checks.push({
        leg: id,
        name: 'TLS certificate',
        ok: !why,
        detail: why ?? `${b.o.proxy} presented a certificate that chains to the CA`,
      });
      if (why) return;
    }
    await b.start();
    baresipStops.push(b);
    if (leg.register && !(await b.registered(10_000))) {
      result.checks.push({
        leg: id,
        name: 'registered',
        ok: false,
        detail: `baresip ${id} did not register: ${b.output
          .split('\n')
          .filter((l) => /REGISTER|\d{3} /.test(l))
          .slice(-2)
          .join(' | ')}`,
      });
      return;
    }
    baresipHangups.set(id, new Set());
    if (leg.role === 'uas')
      answerers.push(
        (async () => {
          const done = new Set<string>();
          while (!stopAnswering && Date.now() < deadline) {
            const inc = b.events.find((e) => e.type === 'CALL_INCOMING' && !done.has(String(e.id)));
            if (!inc) {
              await new Promise((r) => setTimeout(r, 50));
              continue;
            }
            done.add(String(inc.id));
            await new Promise((r) => setTimeout(r, leg.answer.ring_ms));
            await b.command('accept').catch(() => undefined);
          }
        })(),
      );
  }
  // browser legs: sign in through the softphone; answering ones answer, measure, wait for the end
  for (const [id, b] of browsers) {
    const leg = s.legs.find((l) => l.id === id)!;
    browserStops.push(b);
    if (!(await b.start())) {
      result.checks.push({
        leg: id,
        name: 'registered',
        ok: false,
        detail: `the softphone (browser) did not reach "registered" over WSS: ${b.console.slice(-2).join(' | ')}`,
      });
      return;
    }
    if (leg.role === 'uas') answerers.push(browserAnswerer(b, leg, () => stopAnswering, deadline));
  }
  const browserRuns = Promise.all(
    [...browsers]
      .filter(([id]) => s.legs.find((l) => l.id === id)!.role === 'uac')
      .map(async ([id, b]) => {
        const leg = s.legs.find((l) => l.id === id)!;
        const to = expand(leg.to ?? '', vars, `${what}: leg ${id}.to`);
        const at = leg.attended_transfer;
        if (at) {
          const consult = expand(at.consult, vars, `${what}: leg ${id}.attended_transfer.consult`);
          await browserAttendedTransfer(b, leg, to, consult, deadline);
          return;
        }
        const n = await b.dial(to);
        if (n === undefined) return;
        const st = await b.watch(n, ['established', 'ended'], Date.now() + 15_000);
        if (st !== 'established') {
          await b.screenshot('not-established');
          return;
        }
        await new Promise((r) => setTimeout(r, Math.max(0, leg.hold_ms - 1600)));
        await b.measure(n, 1500);
        await b.hangup(n);
        await b.watch(n, ['ended'], Date.now() + 5000);
      }),
  );
  const baresipCalls = [...baresips].filter(
    ([id]) => s.legs.find((l) => l.id === id)!.role === 'uac',
  );

  // calling legs, all at once
  const uacs = s.legs.filter((l) => l.role === 'uac' && l.engine === 'sipp');
  const baresipRuns = Promise.all(
    baresipCalls.map(async ([id, b]) => {
      const leg = s.legs.find((l) => l.id === id)!;
      const to = expand(leg.to ?? '', vars, `${what}: leg ${id}.to`);
      await b.command('dial', `sip:${to}@${domain}`);
      const end = await b.waitEvent(
        (e) => e.type === 'CALL_ESTABLISHED' || e.type === 'CALL_CLOSED',
        15_000,
      );
      if (end?.type === 'CALL_ESTABLISHED') {
        await new Promise((r) => setTimeout(r, leg.hold_ms));
        baresipHangups.get(id)!.add(String(end.id));
        await b.command('hangup').catch(() => undefined);
        await b.waitEvent((e) => e.type === 'CALL_CLOSED', 5000);
      }
    }),
  );
  const runs = await Promise.all(
    uacs.map(async (leg) => {
      const p = startSipp(specs.get(leg.id)!);
      procs.push(p);
      // a load run stops placing calls after its duration (SIGUSR1: sipp's soft quit,
      // the calls up finish normally)
      const soft = load
        ? setTimeout(() => p.child.kill('SIGUSR1'), load.durationSec * 1000)
        : undefined;
      const r = await p.done;
      clearTimeout(soft);
      return [leg.id, r] as const;
    }),
  );
  for (const [id, r] of runs) {
    results.set(id, r);
    const fatal = sippFatal(r);
    if (fatal) throw new ConfigError(`leg ${id}: ${fatal}`);
  }
  // the baresip and browser calling legs end their calls too before the answering legs stop
  await baresipRuns;
  await browserRuns;
  // answering legs end by themselves after their call; give them a moment
  const grace = Math.min(3000, Math.max(0, deadline - Date.now()));
  await Promise.race([
    Promise.all(uasProcs.map((u) => u.proc.done)),
    new Promise((r) => setTimeout(r, grace)),
  ]);
  for (const u of uasProcs) results.set(u.leg.id, await u.proc.stop());
  stopAnswering = true;
  await Promise.all(answerers);
  for (const b of browsers.values()) await endBrowserCalls(b);
  for (const b of baresips.values()) await b.stop();
  for (const b of browsers.values()) await b.stop();
  // unregister
  for (const r of registrations) {
    await startSipp({
      ...r.spec,
      label: `${r.leg.id}-unregister`,
      keys: { ...r.spec.keys, expires: 0 },
    }).done;
  }

  // judge
  await mediaCapture?.stop();
  const cap = needsMedia ? await capture(workDir, o) : [];
  result.streams = cap;
  for (const [i, leg] of s.legs.entries()) {
    const ports = legPorts(o.portBase, i);
    const res = results.get(leg.id);
    const b = baresips.get(leg.id);
    const br = browsers.get(leg.id);
    const recs = br
      ? browserRecords(br.calls)
      : b
        ? baresipRecords(b.events, baresipHangups.get(leg.id) ?? new Set())
        : res
          ? callRecords(readMessageLog(res.messageFile))
          : [];
    if (br)
      ports.measured = new Map(
        [...br.media].map(([callId, m]) => [callId, { rx: [m.rx], tx: [m.tx] }]),
      );
    if (b) ports.rtpRange = [ports.sip + 12, ports.sip + 19];
    const exp = s.expect[leg.id];
    judgeLeg(leg, exp, recs, cap, ports, res, result, !!o.load, mediaUntil);
  }
}

async function capture(workDir: string, o: RunOptions): Promise<StreamStats[]> {
  const cap = new Capture(join(workDir, 'media.pcap'), o.iface, '');
  const stats = streamStats(await cap.rtp());
  if (!o.keepPcap) rmSync(join(workDir, 'media.pcap'), { force: true });
  return stats;
}

const port = (addr: string) => Number(addr.slice(addr.lastIndexOf(':') + 1));

/** Streams a leg received / sent in one call (by its SDP port, and the far end's when known). */
export function legStreams(
  rec: CallRecord | undefined,
  streams: StreamStats[],
  ports: LegPorts,
): { rx: StreamStats[]; tx: StreamStats[] } {
  const local = rec?.localMedia?.port ?? ports.media;
  const far = rec?.remoteMedia?.port;
  // within the call's lifetime: under load a far-end port is reused by later calls
  const from = (rec?.start ?? 0) - 100;
  // a stream of this call starts before the call ends (a reused port's next call starts after)
  const to = (rec?.endedAt ?? Infinity) + 50;
  const during = (st: StreamStats) => st.firstT * 1000 >= from && st.firstT * 1000 <= to;
  if (ports.measured) return ports.measured.get(rec?.callId ?? '') ?? { rx: [], tx: [] };
  if (ports.rtpRange) {
    // no SDP log for this leg: of the streams that started during the call, the
    // earliest in each direction is this call's (a transfer's next call starts later)
    const r = ports.rtpRange;
    const inR = (p: number) => p >= r[0] && p <= r[1];
    const first = (list: StreamStats[]) =>
      [...list].sort((a, b) => a.firstT - b.firstT).slice(0, 1);
    const after = (st: StreamStats) => st.firstT * 1000 >= (rec?.start ?? 0) - 100;
    return {
      rx: first(streams.filter((st) => inR(port(st.dst)) && after(st) && during(st))),
      tx: first(streams.filter((st) => inR(port(st.src)) && after(st) && during(st))),
    };
  }
  const mine = (p: number) =>
    ports.rtpRange ? p >= ports.rtpRange[0] && p <= ports.rtpRange[1] : p === local;
  const rx = streams.filter(
    (st) => mine(port(st.dst)) && (far === undefined || port(st.src) === far) && during(st),
  );
  const tx = streams.filter(
    (st) => mine(port(st.src)) && (far === undefined || port(st.dst) === far) && during(st),
  );
  return { rx, tx };
}

function judgeLeg(
  leg: Leg,
  exp: Expectation | undefined,
  recs: CallRecord[],
  streams: StreamStats[],
  ports: LegPorts,
  res: SippResult | undefined,
  out: ScenarioResult,
  load: boolean,
  mediaUntil = Infinity,
): void {
  // the call the per-call checks judge: the first, or (a transfer's second call) the last
  const invites = recs.filter((r) => r.method === 'INVITE');
  const main = (exp?.call === 'last' ? invites[invites.length - 1] : invites[0]) ?? recs[0];
  if (leg.role === 'uac' && !main)
    // sipp refused the scenario or could not send: not a verdict on the target
    throw new ConfigError(`leg ${leg.id}: sipp sent nothing${res ? `: ${sippError(res)}` : ''}`);
  if (exp && !recs.length) {
    // an expectation on a leg that never saw a call fails: nothing passes by not happening
    out.checks.push({
      leg: leg.id,
      name: 'call reached',
      ok: false,
      detail: `no call reached ${leg.id}`,
    });
    return;
  }
  if (!load) out.checks.push(...legChecks(leg, exp, recs));
  let failedCalls = 0;
  const causes = new Map<string, number>();
  for (const rec of recs) {
    const { rx, tx } = legStreams(rec, streams, ports);
    const best = [...rx].filter((st) => !st.eventsOnly).sort((a, b) => b.packets - a.packets)[0];
    // judged on media only when the whole call fell inside the capture
    const sampled = (rec.endedAt ?? rec.start) + 500 < mediaUntil;
    const checks = judgeCall(leg, exp, rec, streams, ports, sampled);
    const bad = checks.filter((c) => !c.ok);
    if (!load && rec === main) out.checks.push(...checks);
    if (bad.length) {
      failedCalls++;
      const k = `${bad[0]!.name}: ${bad[0]!.detail}`;
      causes.set(k, (causes.get(k) ?? 0) + 1);
    }
    const failed = load ? bad.length > 0 : out.checks.some((c) => c.leg === leg.id && !c.ok);
    out.calls.push({
      leg: leg.id,
      side: rec.side,
      callId: rec.callId,
      method: rec.method,
      finalCode: rec.finalCode,
      finalReason: rec.finalReason,
      pddMs: rec.pddMs,
      durationMs: rec.durationMs,
      hangupBy: rec.hangupBy,
      rtpSent: tx.reduce((n, st) => n + st.packets, 0),
      rtpReceived: rx.reduce((n, st) => n + st.packets, 0),
      lossPct: best?.lossPct,
      jitterMs: best?.jitterMs,
      mos: best?.mos,
      toneHz: best?.toneHz,
      audio: !sampled
        ? 'not sampled'
        : best
          ? best.toneHz
            ? `${best.toneHz} Hz`
            : 'audio'
          : 'none',
      failed,
      cause: bad.map((c) => `${c.name}: ${c.detail}`).join('; ') || undefined,
      start: rec.start,
      ladder: failed ? ladder(rec.messages, leg.id) : undefined,
    });
  }
  if (load && recs.length) {
    // under load the verdict is the aggregate assertions; this line says how many calls met every expectation
    const top = [...causes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
    out.checks.push({
      leg: leg.id,
      name: 'calls meeting every expectation',
      ok: true,
      detail: `${recs.length - failedCalls}/${recs.length}${top.length ? ` (most common failure: ${top.map(([k, n]) => `${n}× ${k}`).join('; ')})` : ''}`,
    });
  }
}

/** Expectations on a leg's calls taken together (not under load): how many, and an attended transfer's consultation. */
export function legChecks(leg: Leg, exp: Expectation | undefined, recs: CallRecord[]): Check[] {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) =>
    checks.push({ leg: leg.id, name, ok, detail });
  const invites = recs.filter((r) => r.method === 'INVITE');
  if (exp?.calls !== undefined) {
    const open = invites.findIndex((r) => !r.answeredAt || !r.endedAt);
    const bad = invites[open];
    add(
      'calls answered and ended',
      invites.length === exp.calls && !bad,
      invites.length !== exp.calls
        ? `${invites.length} call${invites.length === 1 ? '' : 's'} (expected ${exp.calls})`
        : bad
          ? `call ${open + 1} ${!bad.answeredAt ? `never answered (${bad.finalCode ?? ''} ${bad.finalReason ?? ''})`.replace(/\(\s*\)/, '').trim() : 'answered, but never ended'}`
          : `${invites.length} calls, each answered and ended`,
    );
  }
  if (leg.attended_transfer && exp?.transfer) {
    // RFC 3891 §3: the target that accepts an INVITE with Replaces ends the replaced
    // dialog itself (BYE); a target that ignores Replaces leaves the consultation up
    const c = invites.find((r) => r.consultation);
    add(
      'consultation replaced',
      !!c?.answeredAt && c.hangupBy === 'remote',
      !c
        ? 'no consultation call was placed'
        : !c.answeredAt
          ? `the consultation call was not answered (${c.finalCode ?? ''} ${c.finalReason ?? ''})`.trim()
          : c.hangupBy === 'remote'
            ? 'the target ended the consultation call (BYE after it took the INVITE with Replaces)'
            : c.endedAt
              ? `the consultation call was still up after the transfer and was ended by ${leg.id}: the target did not honour Replaces`
              : 'the consultation call never ended',
    );
  }
  return checks;
}

/** Every expectation of one leg checked on one of its calls. */
export function judgeCall(
  leg: Leg,
  exp: Expectation | undefined,
  rec: CallRecord,
  streams: StreamStats[],
  ports: LegPorts,
  /** Its media was captured (false: a load call outside the media sample). */
  sampled = true,
): Check[] {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) =>
    checks.push({ leg: leg.id, name, ok, detail });
  if (leg.role === 'uac') {
    const allowed = exp?.final ?? [leg.cancel_after_ms !== undefined ? 487 : 200];
    add(
      'final response',
      rec.finalCode !== undefined && allowed.includes(rec.finalCode),
      rec.finalCode === undefined
        ? `no final response to ${rec.method} (expected ${allowed.join(' or ')}): ${rec.finalReason ?? 'the far end never answered'}`
        : `${rec.finalCode} ${rec.finalReason ?? ''} (expected ${allowed.join(' or ')})`.trim(),
    );
    if (rec.method === 'INVITE' && rec.answeredAt && rec.hangupBy === 'self')
      add(
        'BYE answered',
        rec.byeAnswered === true,
        rec.byeAnswered ? 'BYE got 200' : 'BYE sent, never answered by the far end (dropped BYE)',
      );
    if (rec.method === 'INVITE' && rec.answeredAt && !rec.endedAt)
      add('call ended', false, 'answered, but no BYE was ever sent or received');
  }
  if (!exp) return checks;
  if (exp.headers && rec.finalText) {
    for (const [name, re] of Object.entries(exp.headers)) {
      const v = new RegExp(`^${name}\\s*:\\s*(.*)$`, 'im').exec(rec.finalText)?.[1];
      add(
        `header ${name}`,
        v !== undefined && new RegExp(re).test(v),
        v === undefined ? `no ${name} header` : `${name}: ${v}`,
      );
    }
  }
  if (exp.pdd_max_ms !== undefined)
    add(
      'post-dial delay',
      rec.pddMs !== undefined && rec.pddMs <= exp.pdd_max_ms,
      rec.pddMs === undefined ? 'no ringing or answer' : `${rec.pddMs} ms (max ${exp.pdd_max_ms})`,
    );
  if (exp.duration_ms) {
    const d = rec.durationMs;
    const { min = 0, max = Infinity } = exp.duration_ms;
    add(
      'call duration',
      d !== undefined && d >= min && d <= max,
      d === undefined ? 'call not answered and ended' : `${d} ms (${min}..${max})`,
    );
  }
  if (exp.transfer)
    add(
      'transfer completed',
      rec.notifyStatus.includes(200),
      rec.notifyStatus.length
        ? `NOTIFY sipfrag ${rec.notifyStatus.join(' → ')}`
        : rec.referCode
          ? `REFER refused: ${rec.referCode} (no NOTIFY follows)`
          : 'no NOTIFY with the transfer outcome arrived',
    );
  if (exp.hangup_by)
    add(
      'hung up by',
      rec.hangupBy === exp.hangup_by,
      `${rec.hangupBy ?? 'nobody'} (expected ${exp.hangup_by})`,
    );
  if (!sampled) return checks;
  const { rx, tx } = legStreams(rec, streams, ports);
  const best = [...rx].filter((st) => !st.eventsOnly).sort((a, b) => b.packets - a.packets)[0];
  if (exp.audio) {
    const a = exp.audio;
    if (a.none)
      add(
        'no audio',
        rx.length === 0,
        rx.length ? `${best?.packets} RTP packets received` : 'no RTP received',
      );
    if (a.both_ways) {
      const heard = best !== undefined && best.packets > 0 && (best.rms ?? 1) > 0.003;
      const sent = tx.some((t) => t.packets > 0);
      add(
        'audio both ways',
        heard && sent,
        `${leg.id} sent ${tx.reduce((n, t) => n + t.packets, 0)} RTP packets, received ${best?.packets ?? 0}` +
          (best && !heard ? ' (silent)' : '') +
          (!best ? ' — no RTP from the far end' : ''),
      );
    }
    if (a.tone_hz !== undefined)
      add(
        'tone',
        best?.toneHz !== undefined && Math.abs(best.toneHz - a.tone_hz) <= a.tolerance_hz,
        best?.toneHz !== undefined
          ? `received ${best.toneHz} Hz (expected ${a.tone_hz} ± ${a.tolerance_hz} Hz)`
          : 'no decodable audio received',
      );
    if (a.max_silence_ms !== undefined)
      add(
        'no long silence',
        best !== undefined && best.maxSilenceMs <= a.max_silence_ms,
        best
          ? `longest silence ${best.maxSilenceMs} ms (max ${a.max_silence_ms})`
          : 'no RTP received',
      );
  }
  if (exp.audio?.gap_min_ms !== undefined) {
    const min = exp.audio.gap_min_ms;
    add(
      'audio stopped and returned',
      best !== undefined && best.maxSilenceMs >= min,
      best
        ? `longest silence ${best.maxSilenceMs} ms (at least ${min} ms expected), then audio again`
        : 'no RTP received',
    );
  }
  if (exp.mos_min !== undefined)
    add(
      'MOS',
      best !== undefined && best.mos >= exp.mos_min,
      best
        ? `MOS ${best.mos} (loss ${best.lossPct}%, jitter ${best.jitterMs} ms; min ${exp.mos_min})`
        : 'no RTP received',
    );
  if (exp.dtmf !== undefined) {
    const got = `${rx.map((r) => r.dtmf).join('')}${rec.infoDigits ?? ''}`;
    add('DTMF', got.includes(exp.dtmf), `received "${got}" (expected "${exp.dtmf}")`);
  }
  return checks;
}

/** Call records of a baresip leg, from its ctrl_tcp events. */
export function baresipRecords(events: BaresipEvent[], hungUpHere: Set<string>): CallRecord[] {
  const by = new Map<string, BaresipEvent[]>();
  for (const e of events) {
    if (e.class !== 'call' || !e.id) continue;
    by.set(e.id, [...(by.get(e.id) ?? []), e]);
  }
  return [...by.entries()].map(([id, list]) => {
    const first = list[0]!;
    const est = list.find((e) => e.type === 'CALL_ESTABLISHED');
    const ring = list.find((e) => e.type === 'CALL_RINGING' || e.type === 'CALL_PROGRESS');
    const closed = list.find((e) => e.type === 'CALL_CLOSED');
    const code = est ? 200 : Number(/^(\d{3})/.exec(closed?.param ?? '')?.[1] ?? NaN);
    return {
      callId: id,
      method: 'INVITE',
      side: first.type === 'CALL_INCOMING' || first.direction === 'incoming' ? 'uas' : 'uac',
      start: first.t,
      finalCode: Number.isNaN(code) ? undefined : code,
      finalReason: est ? 'OK' : closed?.param,
      pddMs: (ring ?? est) ? (ring ?? est)!.t - first.t : undefined,
      answeredAt: est?.t,
      endedAt: closed?.t,
      durationMs: est && closed ? closed.t - est.t : undefined,
      hangupBy: closed ? (hungUpHere.has(id) ? 'self' : 'remote') : undefined,
      byeAnswered: closed ? true : undefined,
      infoDigits: list
        .filter((e) => e.type === 'CALL_DTMF_START')
        .map((e) => String(e.param ?? ''))
        .join(''),
      notifyStatus: [],
      messages: [],
    } satisfies CallRecord;
  });
}

/** Call records of a browser leg, one per call, from the softphone core's call logs. */
export function browserRecords(calls: BrowserCallLog[]): CallRecord[] {
  return calls
    .filter((c) => c.states.length)
    .map((c) => {
      const start = c.states[0]!;
      const at = (want: string[]) => c.states.find((x) => want.includes(x.state));
      const est = at(['established']);
      const prog = at(['ringing', 'early', 'established']);
      const end = est ? c.states.find((x) => x.state === 'ended' && x.t >= est.t) : at(['ended']);
      const last = c.states[c.states.length - 1]!;
      // a NOTIFY's sipfrag moves a REFER to trying/succeeded/failed; a failure with no
      // 202 or NOTIFY before it is the REFER's own final response
      const progressed = (i: number) =>
        c.transfer.slice(0, i).some((x) => ['accepted', 'trying'].includes(x.state));
      const sipfrags = c.transfer.filter(
        (x, i) =>
          x.code !== undefined &&
          (x.state === 'trying' ||
            x.state === 'succeeded' ||
            (x.state === 'failed' && progressed(i))),
      );
      const refused = c.transfer.find(
        (x, i) => x.state === 'failed' && x.code !== undefined && !progressed(i),
      );
      return {
        callId: c.id,
        method: 'INVITE',
        side: c.direction === 'incoming' ? 'uas' : 'uac',
        start: start.t,
        finalCode: est ? 200 : c.endCause?.code,
        finalReason: est ? 'OK' : (c.endCause?.reason ?? `call state ${last.state}`),
        pddMs: prog ? prog.t - start.t : undefined,
        answeredAt: est?.t,
        endedAt: end?.t,
        durationMs: est && end ? end.t - est.t : undefined,
        hangupBy: end
          ? c.endCause?.by === 'local'
            ? 'self'
            : c.endCause?.by === 'remote'
              ? 'remote'
              : undefined
          : undefined,
        byeAnswered: end ? true : undefined,
        infoDigits: '',
        notifyStatus: sipfrags.map((x) => x.code!),
        referCode: refused?.code,
        consultation: c.consultation,
        messages: [],
      } satisfies CallRecord;
    });
}

/**
 * An answering browser leg: answers every call ringing in (after ring_ms) and
 * measures each call once it is established; when the calling legs are done
 * (`stopping`) it lets calls on their way settle and measures them too. What
 * is still up then (a transfer leaves the transferee and the target in a call
 * nobody else ends) is ended by endBrowserCalls once every leg has measured.
 */
async function browserAnswerer(
  b: BrowserLeg,
  leg: Leg,
  stopping: () => boolean,
  deadline: number,
): Promise<void> {
  const measured = new Set<number>();
  let settleUntil: number | undefined;
  while (Date.now() < deadline) {
    await b.answerRinging(leg.answer.ring_ms);
    const now = await b.live();
    for (const n of now.established.filter((n) => !measured.has(n))) {
      measured.add(n);
      await b.measure(n, 1500);
    }
    if (stopping()) {
      settleUntil ??= Date.now() + 3000;
      if (!now.settling.length || Date.now() > settleUntil) break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Ends a browser leg's calls still up (after every leg measured: one hangup ends two legs' call). */
async function endBrowserCalls(b: BrowserLeg): Promise<void> {
  if (!b.page || !(await b.live()).live.length) return;
  await b.hangup();
  const until = Date.now() + 5000;
  while ((await b.live()).live.length && Date.now() < until)
    await new Promise((r) => setTimeout(r, 50));
}

/**
 * A browser leg's attended transfer (RFC 5589 §7): call `to`, hold it, call
 * `consult`, REFER the first call's far end with Replaces of the consultation
 * dialog, wait for the outcome. On success the core hangs up the first call
 * itself, and the target ends the consultation call (its BYE once the INVITE
 * with Replaces is confirmed); whatever is still up after that is hung up here
 * and shows in the verdict as ended by this leg.
 */
async function browserAttendedTransfer(
  b: BrowserLeg,
  leg: Leg,
  to: string,
  consult: string,
  deadline: number,
): Promise<void> {
  const at = leg.attended_transfer!;
  const first = await b.dial(to);
  if (first === undefined) return;
  if ((await b.watch(first, ['established', 'ended'], Date.now() + 15_000)) !== 'established') {
    await b.screenshot('not-established');
    return;
  }
  await b.measure(first, Math.min(1500, at.at_ms));
  await new Promise((r) => setTimeout(r, Math.max(0, at.at_ms - 1500)));
  await b.hold(first);
  const second = await b.dial(consult);
  if (second === undefined) return void (await b.hangup());
  b.markConsultation(second);
  if ((await b.watch(second, ['established', 'ended'], Date.now() + 15_000)) !== 'established') {
    await b.screenshot('consultation-not-established');
    return void (await b.hangup());
  }
  await b.measure(second, Math.min(1500, at.refer_after_ms));
  await new Promise((r) => setTimeout(r, Math.max(0, at.refer_after_ms - 1500)));
  const outcome = await b.attendedTransfer(first, second);
  if (outcome.error) b.console.push(`attendedTransfer: ${outcome.error}`);
  // the target ends the consultation call once it took the transferee's INVITE
  const until = Math.min(deadline, Date.now() + 5000);
  while ((await b.live()).live.length && Date.now() < until)
    await new Promise((r) => setTimeout(r, 50));
  if ((await b.live()).live.length) {
    await b.screenshot('calls-left-after-transfer');
    await b.hangup();
    await b.watch(second, ['ended'], Date.now() + 5000);
    await b.watch(first, ['ended'], Date.now() + 5000);
  }
}
