// `npm run bench:cluster`: issue 10's "Measure" — what one edge and two edges of
// the cluster carry on this machine, on the cluster test's own hosts
// (test/cluster/harness: network namespaces, two edges = Kamailio + gateway
// service, two rtpengine media nodes, PostgreSQL + Redis, this process as the
// clients' host). Bounded in count and time:
//   (1) calls: sipp callers from the clients' host at a fixed rate for a fixed
//       count, all through edge A, then the same total split over edges A and B;
//   (2) registrations: N WebSocket clients (wssClients.ts) registering through
//       edge A, then N others spread over A and B;
//   (3) the two-edge/one-edge ratio of each figure, from the same run;
//   (4) contact-center takeovers: the service of the node that runs the
//       contact center is killed, the time until the other node leads (its
//       cc_leader row in PostgreSQL), then the dead node restarted; repeated.
// CPU per call/registration of each edge (its Kamailio + its service process,
// /proc/<pid>/stat utime+stime before/after) is what is comparable: the machine
// has 2 cores shared with other work, so absolute rates are not claims.
// Results: test/bench/results/cluster.json and cluster.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ADDR,
  DATABASE_URL,
  HTTPS_PORT,
  SIP_PORT,
  USERS,
  kamcmd,
  startCluster,
  startEdge,
  type Cluster,
  type Edge,
  type EdgeOptions,
} from '../cluster/harness/cluster.js';
import { until } from '../integration/harness/wait.js';
import pg from 'pg';

const HERE = dirname(fileURLToPath(import.meta.url));
const RESULTS = join(HERE, 'results');
const CALLS = Number(process.env.BENCH_CLUSTER_CALLS ?? 200);
const RATE = Number(process.env.BENCH_CLUSTER_RATE ?? 20);
const CLIENTS = Number(process.env.BENCH_CLUSTER_CLIENTS ?? 300);
const WARM_CLIENTS = 40;
const TAKEOVERS = Number(process.env.BENCH_CLUSTER_TAKEOVERS ?? 3);
const WS_PASSWORD = 'cluster-bench-ws-pw';
// wssClients.ts names its accounts w00000, w00001, …
const wsUser = (i: number) => `w${String(i).padStart(5, '0')}`;

const log = (s: string) => console.log(`[bench:cluster] ${s}`);
const TICKS = 100; // CLK_TCK on Linux
const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;

// ---- CPU of an edge: every process in its network namespace, by command name ----

function nsOf(pid: number | string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds (utime+stime) of a host's processes, by command: on an edge
 * kamailio, node (= the service) and the service's own helpers; on a media node rtpengine.
 */
function hostCpu(pid: number): Record<string, number> {
  const ns = nsOf(pid);
  const out: Record<string, number> = {};
  if (!ns) return out;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (nsOf(pid) !== ns) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const comm = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const secs = (Number(f[11]) + Number(f[12])) / TICKS; // fields 14, 15
    const part = comm === 'kamailio' ? 'kamailio' : comm === 'node' ? 'service' : comm;
    out[part] = (out[part] ?? 0) + secs;
  }
  return out;
}

type Snap = Record<string, Record<string, number>>;
const snap = (c: Cluster): Snap => ({
  'edge-a': hostCpu(c.edges.a.proc.pid!),
  'edge-b': hostCpu(c.edges.b.proc.pid!),
  'media-1': hostCpu(c.media['1'].proc.pid!),
  'media-2': hostCpu(c.media['2'].proc.pid!),
});

/**
 * CPU ms per unit of work of each host's parts between two snapshots; an
 * edge's total is its Kamailio + its service (its idle helpers are listed, not added).
 */
function perUnit(before: Snap, after: Snap, units: number): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [host, parts] of Object.entries(after)) {
    const o: Record<string, number> = {};
    let total = 0;
    for (const [part, end] of Object.entries(parts)) {
      const ms = ((end - (before[host]?.[part] ?? 0)) * 1000) / Math.max(1, units);
      o[part] = round(ms);
      if (host.startsWith('media') || part === 'kamailio' || part === 'service') total += ms;
    }
    o.total = round(total);
    out[host] = o;
  }
  return out;
}

// ---- sipp on the clients' host (the cluster's address, not loopback) ----

interface SippOutcome {
  created: number;
  successful: number;
  failed: number;
  retransmissions: number;
  exitCode: number | null;
  errors: string;
}

function sippArgs(o: {
  edge: string;
  scenario: string;
  port: number;
  injection?: string;
  auth?: { username: string; password: string };
  dir: string;
}): string[] {
  const args = [
    `${o.edge}:${SIP_PORT}`,
    '-sf',
    join(HERE, 'sipp', o.scenario),
    '-i',
    ADDR.clients,
    '-p',
    String(o.port),
    '-mp',
    String(o.port + 1000),
    '-nostdin',
  ];
  if (o.injection) {
    writeFileSync(join(o.dir, 'inject.csv'), `SEQUENTIAL\n${o.injection}\n`);
    args.push('-inf', join(o.dir, 'inject.csv'));
  }
  if (o.auth) args.push('-au', o.auth.username, '-ap', o.auth.password);
  return args;
}

/** A bounded sipp caller run, read back from its -trace_stat file. */
async function sippCalls(o: {
  edge: string;
  scenario: string;
  port: number;
  injection: string;
  auth?: { username: string; password: string };
  rate: number;
  count: number;
}): Promise<SippOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-cluster-'));
  const seconds = Math.ceil(o.count / o.rate);
  const args = [
    ...sippArgs({ ...o, dir }),
    '-r',
    String(o.rate),
    '-m',
    String(o.count),
    '-timeout',
    `${seconds + 20}s`,
    '-timeout_error',
    '-recv_timeout',
    '8000',
    '-trace_stat',
    '-stf',
    join(dir, 'stat.csv'),
    '-fd',
    '1',
  ];
  const exitCode = await new Promise<number | null>((resolve) => {
    const child = spawn('sipp', args, { cwd: dir, stdio: 'ignore' });
    child.on('exit', (code) => resolve(code));
  });
  const stat = existsSync(join(dir, 'stat.csv'))
    ? readFileSync(join(dir, 'stat.csv'), 'utf8').trim().split('\n')
    : [];
  const header = (stat[0] ?? '').split(';');
  const last = (stat[stat.length - 1] ?? '').split(';');
  const col = (name: string) => Number(last[header.indexOf(name)] ?? 0);
  return {
    created: col('TotalCallCreated'),
    successful: col('SuccessfulCall(C)'),
    failed: col('FailedCall(C)'),
    retransmissions: col('Retransmissions(C)'),
    exitCode,
    errors: existsSync(join(dir, 'errors.log'))
      ? readFileSync(join(dir, 'errors.log'), 'utf8').split('\n').slice(0, 8).join('\n')
      : '',
  };
}

/** A sipp UAS (answers at once, no media) registered as `user` through `edge` from its own port. */
async function startCallee(edge: string, user: keyof typeof USERS, port: number) {
  const reg = await sippCalls({
    edge,
    scenario: 'register-auth.xml',
    port,
    injection: `${user};;;3600;`,
    auth: { username: user, password: USERS[user] },
    rate: 1,
    count: 1,
  });
  if (reg.successful !== 1)
    throw new Error(`callee ${user} could not register through ${edge}: ${reg.errors}`);
  const dir = mkdtempSync(join(tmpdir(), 'sipp-cluster-uas-'));
  const uas = spawn('sipp', sippArgs({ edge, scenario: 'uas.xml', port, dir }).slice(1), {
    cwd: dir,
    stdio: 'ignore',
  });
  await new Promise((r) => setTimeout(r, 500));
  return uas;
}

function stopProcess(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    p.once('exit', () => r());
    p.kill('SIGTERM');
    setTimeout(() => p.kill('SIGKILL'), 3000).unref();
  });
}

const settle = () => new Promise((r) => setTimeout(r, 3000));

// ---- WebSocket clients (wssClients.ts as a child, on the clients' host) ----

function wssClients() {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'wssClients.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  const ask = async <T>(cmd: Record<string, unknown>, timeoutMs: number): Promise<T> => {
    child.stdin.write(JSON.stringify(cmd) + '\n');
    const end = Date.now() + timeoutMs;
    while (!lines.length) {
      if (Date.now() > end || child.exitCode !== null)
        throw new Error(`WSS clients: no answer to ${String(cmd.cmd)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return JSON.parse(lines.shift()!) as T;
  };
  return {
    connect: (edge: string, from: number, count: number) =>
      ask<{ connected: number; registered: number; failed: number; ms: number }>(
        {
          cmd: 'connect',
          url: `wss://${edge}:${HTTPS_PORT}/ws`,
          origin: `https://${edge}:${HTTPS_PORT}`,
          from,
          count,
          password: WS_PASSWORD,
        },
        120_000,
      ),
    quit: async () => {
      child.stdin.write(JSON.stringify({ cmd: 'quit' }) + '\n');
      await Promise.race([
        new Promise((r) => child.once('exit', r)),
        new Promise((r) => setTimeout(r, 10_000)),
      ]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Contacts in an edge's location table (its own clients' and its peer's, copied over DMQ). */
async function contactCount(edge: Edge): Promise<number> {
  const out = await kamcmd(edge, 'stats.get_statistics', 'usrloc:').catch(() => '');
  return Number(/location_contacts = (\d+)/.exec(out)?.[1] ?? NaN);
}

// ---- the measurements ----

interface CallPhase {
  edges: number;
  offeredRatePerSecond: number;
  attempted: number;
  completed: number;
  failed: number;
  retransmissions: number;
  seconds: number;
  perEdgeCalls: Record<string, number>;
  cpuMsPerCall: Record<string, Record<string, number>>;
  cpuMsPerCallOnItsEdge: Record<string, number>;
}

// one caller account per edge, each calling the callee registered through that edge
const LANES = [
  { edge: ADDR.edgeA, key: 'edge-a', caller: '1001', callee: '1002', port: 7060 },
  { edge: ADDR.edgeB, key: 'edge-b', caller: '1004', callee: '1003', port: 7160 },
] as const;

/**
 * Unmeasured calls and registrations through both edges first: the services'
 * JIT and the decision caches warm, so neither phase pays for them alone.
 */
async function warmUp(clientsFrom: number, clients: number): Promise<void> {
  log('warm-up (not measured): calls and registrations through both edges');
  await Promise.all(
    LANES.map((l) =>
      sippCalls({
        edge: l.edge,
        scenario: 'uac-auth.xml',
        port: l.port,
        injection: `${l.caller};;${l.callee};`,
        auth: { username: l.caller, password: USERS[l.caller] },
        rate: RATE / 2,
        count: 40,
      }),
    ),
  );
  const ws = wssClients();
  try {
    await ws.connect(ADDR.edgeA, clientsFrom, clients / 2);
    await ws.connect(ADDR.edgeB, clientsFrom + clients / 2, clients / 2);
  } finally {
    await ws.quit();
  }
}

async function callPhase(c: Cluster, edges: 1 | 2): Promise<CallPhase> {
  const lanes = edges === 1 ? [LANES[0]] : [...LANES];
  const rate = RATE / edges;
  const count = Math.round(CALLS / edges);
  log(`${edges} edge(s): ${CALLS} calls at ${RATE}/s total`);
  const before = snap(c);
  const t0 = Date.now();
  const runs = await Promise.all(
    lanes.map((l) =>
      sippCalls({
        edge: l.edge,
        scenario: 'uac-auth.xml',
        port: l.port,
        injection: `${l.caller};;${l.callee};`,
        auth: { username: l.caller, password: USERS[l.caller] },
        rate,
        count,
      }),
    ),
  );
  const seconds = (Date.now() - t0) / 1000;
  const after = snap(c);
  const completed = runs.reduce((s, r) => s + r.successful, 0);
  const perEdgeCalls: Record<string, number> = { 'edge-a': 0, 'edge-b': 0 };
  lanes.forEach((l, i) => (perEdgeCalls[l.key] = runs[i]!.successful));
  // CPU per call of all calls (for the cluster) and per call the edge itself took
  const cpuMsPerCall = perUnit(before, after, completed);
  const cpuMsPerCallOnItsEdge: Record<string, number> = {};
  for (const l of lanes) {
    cpuMsPerCallOnItsEdge[l.key] = perUnit(before, after, perEdgeCalls[l.key]!)[l.key]!.total!;
  }
  for (const r of runs) if (r.errors) log(`  sipp errors: ${r.errors.split('\n')[0]}`);
  const out: CallPhase = {
    edges,
    offeredRatePerSecond: RATE,
    attempted: runs.reduce((s, r) => s + r.created, 0),
    completed,
    failed: runs.reduce((s, r) => s + r.failed, 0),
    retransmissions: runs.reduce((s, r) => s + r.retransmissions, 0),
    seconds: round(seconds, 1),
    perEdgeCalls,
    cpuMsPerCall,
    cpuMsPerCallOnItsEdge,
  };
  log(`  ${JSON.stringify(out)}`);
  return out;
}

interface RegPhase {
  edges: number;
  clients: number;
  registered: number;
  failed: number;
  ms: number;
  perEdgeRegistered: Record<string, number>;
  contactsSeenOn: Record<string, number>;
  cpuMsPerRegistration: Record<string, Record<string, number>>;
}

async function registrationPhase(c: Cluster, edges: 1 | 2, from: number): Promise<RegPhase> {
  log(`${edges} edge(s): ${CLIENTS} WebSocket clients register`);
  const ws = wssClients();
  try {
    const before = snap(c);
    const t0 = Date.now();
    const parts =
      edges === 1
        ? [{ key: 'edge-a', addr: ADDR.edgeA, from, count: CLIENTS }]
        : [
            { key: 'edge-a', addr: ADDR.edgeA, from, count: CLIENTS / 2 },
            { key: 'edge-b', addr: ADDR.edgeB, from: from + CLIENTS / 2, count: CLIENTS / 2 },
          ];
    const perEdgeRegistered: Record<string, number> = { 'edge-a': 0, 'edge-b': 0 };
    let failed = 0;
    // one after the other: the child answers one command at a time
    for (const p of parts) {
      const r = await ws.connect(p.addr, p.from, p.count);
      perEdgeRegistered[p.key] = r.registered;
      failed += r.failed;
    }
    const ms = Date.now() - t0;
    // the DMQ copies to the peer are part of a registration's cost: let them land
    await new Promise((r) => setTimeout(r, 2000));
    const after = snap(c);
    const registered = perEdgeRegistered['edge-a']! + perEdgeRegistered['edge-b']!;
    const contactsSeenOn = {
      'edge-a': await contactCount(c.edges.a),
      'edge-b': await contactCount(c.edges.b),
    };
    const out: RegPhase = {
      edges,
      clients: CLIENTS,
      registered,
      failed,
      ms,
      perEdgeRegistered,
      contactsSeenOn,
      cpuMsPerRegistration: perUnit(before, after, registered),
    };
    log(`  ${JSON.stringify(out)}`);
    return out;
  } finally {
    await ws.quit();
  }
}

const perCore = (ms: number | undefined) => (ms && ms > 0 ? Math.round(1000 / ms) : 'n/a');

interface TakeoverPhase {
  runs: { from: string; to: string; term: number; takeoverMs: number; restartMs: number }[];
  takeoverMs: { min: number; median: number; max: number };
}

/**
 * The contact center's failover: SIGKILL of the leading node's service (its
 * Kamailio and rtpengine keep running, as in the cluster test), timed until
 * PostgreSQL's cc_leader names the other node with a new term (that node has
 * then loaded the state and started its engine); the dead node is restarted
 * as the standby before the next run.
 */
async function takeoverPhase(c: Cluster, opts: EdgeOptions): Promise<TakeoverPhase> {
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  const leader = async () =>
    (
      await db.query<{ node: string; term: number }>(
        'SELECT node, term FROM cc_leader WHERE id = 1',
      )
    ).rows[0];
  const runs: TakeoverPhase['runs'] = [];
  try {
    for (let i = 0; i < TAKEOVERS; i++) {
      const before = await leader();
      if (!before) throw new Error('no contact-center leader in cc_leader');
      const which = before.node === 'edge-a' ? 'a' : 'b';
      const dying = c.edges[which];
      const t0 = Date.now();
      process.kill(dying.proc.pid!, 'SIGKILL');
      await new Promise((r) => dying.proc.once('exit', r));
      let after = before;
      await until(
        'the other node leading',
        async () => {
          after = (await leader()) ?? before;
          return after.node !== before.node && after.term > before.term;
        },
        30_000,
        20,
      );
      const takeoverMs = Date.now() - t0;
      const t1 = Date.now();
      c.edges[which] = await startEdge(c.topo, which, true, opts);
      runs.push({
        from: before.node,
        to: after.node,
        term: after.term,
        takeoverMs,
        restartMs: Date.now() - t1,
      });
      log(`takeover ${i + 1}/${TAKEOVERS}: ${before.node} → ${after.node} in ${takeoverMs} ms`);
    }
  } finally {
    await db.end();
  }
  const ms = runs.map((r) => r.takeoverMs).sort((x, y) => x - y);
  return {
    runs,
    takeoverMs: { min: ms[0]!, median: ms[Math.floor(ms.length / 2)]!, max: ms[ms.length - 1]! },
  };
}

function ratio(two: number, one: number): number | null {
  return one > 0 ? round(two / one, 2) : null;
}

function markdown(
  r: Record<string, unknown> & {
    calls: CallPhase[];
    registrations: RegPhase[];
    contactCenterTakeover: TakeoverPhase;
  },
) {
  const t = r.contactCenterTakeover;
  const [c1, c2] = r.calls;
  const [r1, r2] = r.registrations;
  const ratios = r.ratios as Record<string, number | null>;
  const cpuRow = (p: Record<string, Record<string, number>>, e: string) =>
    `${p[e]?.kamailio ?? 0} | ${p[e]?.service ?? 0} | ${p[e]?.total ?? 0}`;
  return `# Cluster benchmark (\`npm run bench:cluster\`)

Run ${String(r.startedAt)}, ${String(r.durationSeconds)} s. Hosts in network namespaces
(test/cluster/harness): edge-a and edge-b (Kamailio in cluster mode + the gateway service each),
media-1 and media-2 (rtpengine, shared through Redis), db (PostgreSQL + Redis), this process as
the clients' host.

**This machine has ${String(r.cores)} cores shared with other work** (load average
${String(r.loadAverageBefore)} before the run, ${String(r.loadAverageAfter)} after), and every
host of the cluster runs on those same cores. Absolute rates here are not capacity claims; the
comparable figure is **CPU milliseconds per call / per registration of each edge** (its Kamailio
processes + its service process, from /proc/<pid>/stat utime+stime before/after), from which the
capacity one added edge brings can be read off: an edge with C free cores carries about
C × 1000 / (CPU ms per call) calls/s.

Before the measured phases, unmeasured warm-up calls (40 through each edge) and ${WARM_CLIENTS}
registrations (half through each) warm the services' JIT and Kamailio's decision caches, so the
first phase does not pay for that alone.

## Calls (sipp caller → edge → sipp callee registered through the same edge; digest auth, no media)

${CALLS} calls at ${RATE}/s in total: with one edge all through edge-a; with two edges half through
each (edge-a: 1001 → 1002, edge-b: 1004 → 1003), run at the same time.

| edges | completed | failed | retransmissions | seconds | calls via edge-a / edge-b |
| --- | --- | --- | --- | --- | --- |
| 1 | ${c1!.completed} | ${c1!.failed} | ${c1!.retransmissions} | ${c1!.seconds} | ${c1!.perEdgeCalls['edge-a']} / ${c1!.perEdgeCalls['edge-b']} |
| 2 | ${c2!.completed} | ${c2!.failed} | ${c2!.retransmissions} | ${c2!.seconds} | ${c2!.perEdgeCalls['edge-a']} / ${c2!.perEdgeCalls['edge-b']} |

CPU ms per call, over all calls of the phase (the idle edge's figure in the one-edge phase is its
share of the cluster's background: DMQ, timers, probes):

| edges | edge | Kamailio | service | edge total |
| --- | --- | --- | --- | --- |
| 1 | edge-a | ${cpuRow(c1!.cpuMsPerCall, 'edge-a')} |
| 1 | edge-b (idle) | ${cpuRow(c1!.cpuMsPerCall, 'edge-b')} |
| 2 | edge-a | ${cpuRow(c2!.cpuMsPerCall, 'edge-a')} |
| 2 | edge-b | ${cpuRow(c2!.cpuMsPerCall, 'edge-b')} |

Media nodes (rtpengine offer/answer/delete only, no RTP in these calls), CPU ms per call:
one edge ${c1!.cpuMsPerCall['media-1']?.total} (media-1) + ${c1!.cpuMsPerCall['media-2']?.total} (media-2);
two edges ${c2!.cpuMsPerCall['media-1']?.total} + ${c2!.cpuMsPerCall['media-2']?.total}.

CPU ms per call the edge itself set up: one edge ${c1!.cpuMsPerCallOnItsEdge['edge-a']} (edge-a);
two edges ${c2!.cpuMsPerCallOnItsEdge['edge-a']} (edge-a), ${c2!.cpuMsPerCallOnItsEdge['edge-b']} (edge-b).
Read as capacity: one free core carries about ${perCore(c1!.cpuMsPerCallOnItsEdge['edge-a'])} calls/s
on one edge; on two edges ${perCore(c2!.cpuMsPerCallOnItsEdge['edge-a'])} (edge-a) +
${perCore(c2!.cpuMsPerCallOnItsEdge['edge-b'])} (edge-b) per core of each (signalling only, no RTP, CPU
resolution 10 ms per process over the run).

## Registrations (WebSocket clients over WSS, digest auth, test/bench/wssClients.ts)

${CLIENTS} clients each phase (other accounts in the second phase): one edge all on edge-a; two
edges half on each. The contact counts after include the earlier phases' clients (closed
without unregistering; ${WARM_CLIENTS} of them from an unmeasured warm-up) and the two sipp callees. Every registration is copied to the peer edge over DMQ (dmq_usrloc), so the
peer's CPU is part of its cost.

| edges | registered | failed | ms | via edge-a / edge-b | contacts on edge-a / edge-b after |
| --- | --- | --- | --- | --- | --- |
| 1 | ${r1!.registered} | ${r1!.failed} | ${r1!.ms} | ${r1!.perEdgeRegistered['edge-a']} / ${r1!.perEdgeRegistered['edge-b']} | ${r1!.contactsSeenOn['edge-a']} / ${r1!.contactsSeenOn['edge-b']} |
| 2 | ${r2!.registered} | ${r2!.failed} | ${r2!.ms} | ${r2!.perEdgeRegistered['edge-a']} / ${r2!.perEdgeRegistered['edge-b']} | ${r2!.contactsSeenOn['edge-a']} / ${r2!.contactsSeenOn['edge-b']} |

CPU ms per registration (all registrations of the phase):

| edges | edge | Kamailio | service (incl. the WSS terminator) | edge total |
| --- | --- | --- | --- | --- |
| 1 | edge-a | ${cpuRow(r1!.cpuMsPerRegistration, 'edge-a')} |
| 1 | edge-b (DMQ copies only) | ${cpuRow(r1!.cpuMsPerRegistration, 'edge-b')} |
| 2 | edge-a | ${cpuRow(r2!.cpuMsPerRegistration, 'edge-a')} |
| 2 | edge-b | ${cpuRow(r2!.cpuMsPerRegistration, 'edge-b')} |

## Two edges / one edge (same run)

| figure | ratio |
| --- | --- |
${Object.entries(ratios)
  .map(([k, v]) => `| ${k} | ${v ?? 'n/a'} |`)
  .join('\n')}

Read: with two edges each edge's CPU per call of all calls is about half of the one-edge figure
when the work splits evenly (ratio ≈ 0.5); the cluster's CPU per call (sum of both edges) stays
near 1× if adding an edge costs nothing extra (DMQ replication is what it costs).

## Contact-center takeover (one node runs it; gateway/src/contactcenter/README.md "Cluster mode")

The service of the node that runs the contact center is killed (SIGKILL); timed until PostgreSQL's
\`cc_leader\` names the other node with a new term, which it writes once it has copied the state and
started its engine. The standby tries the lock every second, so about 0-1 s of each figure is
where in its poll the kill fell. The dead node is restarted (as the standby) before the next run.

| run | from | to | term | takeover ms | restart of the dead node ms |
| --- | --- | --- | --- | --- | --- |
${t.runs.map((x, i) => `| ${i + 1} | ${x.from} | ${x.to} | ${x.term} | ${x.takeoverMs} | ${x.restartMs} |`).join('\n')}

Takeover: min ${t.takeoverMs.min} ms, median ${t.takeoverMs.median} ms, max ${t.takeoverMs.max} ms.
`;
}

async function main(): Promise<void> {
  const started = new Date();
  const loadBefore = round(loadavg()[0]!, 2);
  log('starting the cluster (namespaces, PostgreSQL, Redis, two media nodes, two edges)');
  const edgeOptions: EdgeOptions = {
    extraUsers: Array.from({ length: 2 * CLIENTS + WARM_CLIENTS }, (_, i) => ({
      username: wsUser(i),
      password: WS_PASSWORD,
    })),
    // every client of the benchmark sends from one address (the clients' host)
    configOverrides: { protection: { pikeReqsDensity: 100_000, failedAuthLimit: 100_000 } },
  };
  const c = await startCluster(edgeOptions);
  const callees: ChildProcess[] = [];
  try {
    await until(
      'edge-a and edge-b on the DMQ bus',
      async () => {
        const nodes = await kamcmd(c.edges.a, 'dmq.list_nodes');
        return nodes.includes(ADDR.edgeB) && nodes.includes(ADDR.edgeA);
      },
      30_000,
      500,
    );
    callees.push(await startCallee(ADDR.edgeA, '1002', 7260));
    callees.push(await startCallee(ADDR.edgeB, '1003', 7360));
    await warmUp(2 * CLIENTS, WARM_CLIENTS);
    await settle();
    const calls1 = await callPhase(c, 1);
    await settle();
    const calls2 = await callPhase(c, 2);
    await settle();
    const reg1 = await registrationPhase(c, 1, 0);
    await settle();
    const reg2 = await registrationPhase(c, 2, CLIENTS);
    await settle();
    const takeover = await takeoverPhase(c, edgeOptions);
    const sum = (p: Record<string, Record<string, number>>) =>
      (p['edge-a']?.total ?? 0) + (p['edge-b']?.total ?? 0);
    const ratios = {
      'completed calls': ratio(calls2.completed, calls1.completed),
      'edge-a CPU ms per call (of all calls)': ratio(
        calls2.cpuMsPerCall['edge-a']!.total!,
        calls1.cpuMsPerCall['edge-a']!.total!,
      ),
      'cluster CPU ms per call (both edges)': ratio(
        sum(calls2.cpuMsPerCall),
        sum(calls1.cpuMsPerCall),
      ),
      'registered clients': ratio(reg2.registered, reg1.registered),
      'edge-a CPU ms per registration (of all)': ratio(
        reg2.cpuMsPerRegistration['edge-a']!.total!,
        reg1.cpuMsPerRegistration['edge-a']!.total!,
      ),
      'cluster CPU ms per registration (both edges)': ratio(
        sum(reg2.cpuMsPerRegistration),
        sum(reg1.cpuMsPerRegistration),
      ),
    };
    const result = {
      benchmark: 'cluster',
      startedAt: started.toISOString(),
      durationSeconds: Math.round((Date.now() - started.getTime()) / 1000),
      cores: cpus().length,
      loadAverageBefore: loadBefore,
      loadAverageAfter: round(loadavg()[0]!, 2),
      note: 'Every host shares this machine’s cores with other work: compare CPU ms per call/registration, not absolute rates.',
      calls: [calls1, calls2],
      registrations: [reg1, reg2],
      ratios,
      contactCenterTakeover: takeover,
    };
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, 'cluster.json'), JSON.stringify(result, null, 2) + '\n');
    writeFileSync(join(RESULTS, 'cluster.md'), markdown(result));
    log(`written ${join(RESULTS, 'cluster.json')} and cluster.md`);
  } finally {
    for (const p of callees) await stopProcess(p);
    await c.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
