import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../gateway/src/paths.js';
import {
  mediaNodeArgs,
  redisArgs,
  type MediaNodeSpec,
} from '../../../gateway/src/rtpengine/cluster.js';
import { Topology, SUBNET_PREFIX, type Host } from './hosts.js';

// The cluster of the test, on one machine: edge-a and edge-b (Kamailio + the
// gateway service each), media-1 and media-2 (rtpengine), db (Redis), and the
// test process itself as the clients' host. Addresses in 192.0.2.0/24:
//
//   edge-a .11   edge-b .12   media-1 .21 (floating media .101)
//   media-2 .22 (floating media .102)   db .30   clients (this process) .50

export const ADDR = {
  edgeA: `${SUBNET_PREFIX}11`,
  edgeB: `${SUBNET_PREFIX}12`,
  media1: `${SUBNET_PREFIX}21`,
  media2: `${SUBNET_PREFIX}22`,
  vip1: `${SUBNET_PREFIX}101`,
  vip2: `${SUBNET_PREFIX}102`,
  db: `${SUBNET_PREFIX}30`,
  clients: `${SUBNET_PREFIX}50`,
  /** A carrier gateway that does not exist (nothing answers at this address). */
  deadCarrier: `${SUBNET_PREFIX}60`,
} as const;

/** The live carrier gateway: a SIP client on the clients' host. */
export const CARRIER_PORT = 5070;

export const SIP_PORT = 5060;
export const NG_PORT = 2223;
export const REDIS_PORT = 6379;
export const PG_PORT = 5432;
/** The cluster's shared store (trust from 192.0.2.0/24 only: a throwaway database inside the namespaces). */
export const DATABASE_URL = `postgres://postgres@${ADDR.db}:${PG_PORT}/gateway`;

export const USERS = {
  '1001': 'cluster-1001-pw',
  '1002': 'cluster-1002-pw',
  '1003': 'cluster-1003-pw',
  '1004': 'cluster-1004-pw',
  /** The contact center's agent (queue `sales`, number QUEUE_NUMBER). */
  '1005': 'cluster-1005-pw',
  /** A callee registered on one phone only (the failover steps leave others' contacts behind). */
  '1006': 'cluster-1006-pw',
} as const;

/** The contact center of the cluster (one node runs it at a time): queue `sales`. */
export const QUEUE_NUMBER = '700';
export const AGENT = '1005';
/** The call-control tier's SIP port on each edge (the gateway's default). */
export const CALLCONTROL_PORT = 5065;

/** The HTTPS/WSS terminator's port on each edge (the gateway's default). */
export const HTTPS_PORT = 8443;

export const ARTIFACTS = join(REPO_ROOT, 'test', 'artifacts', 'cluster');

/** What a caller other than the cluster test (the cluster benchmark) adds to each edge's config. */
export interface EdgeOptions {
  /** Accounts besides USERS (e.g. many WebSocket clients). */
  extraUsers?: { username: string; password: string }[];
  /** Top-level config sections replacing the test's own (e.g. `protection` for load from one address). */
  configOverrides?: Record<string, unknown>;
}

export interface Edge {
  name: 'edge-a' | 'edge-b';
  host: Host;
  proc: ChildProcess;
  dataDir: string;
  runDir: string;
}

export interface MediaNode {
  name: 'media-1' | 'media-2';
  host: Host;
  proc: ChildProcess;
  vip: string;
  spec: MediaNodeSpec;
}

export interface Cluster {
  topo: Topology;
  edges: Record<'a' | 'b', Edge>;
  media: Record<'1' | '2', MediaNode>;
  db: Host;
  stop(): Promise<void>;
}

function logTo(proc: ChildProcess, file: string): void {
  const out = createWriteStream(file, { flags: 'a' });
  proc.stdout?.pipe(out);
  proc.stderr?.pipe(out);
}

/** Resolves when `proc` prints `marker` (stdout or stderr); rejects when it exits first. */
function waitOutput(
  proc: ChildProcess,
  marker: RegExp,
  what: string,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen = (seen + d.toString()).slice(-4000);
      if (marker.test(seen)) done();
    };
    const onExit = (code: number | null) =>
      finish(new Error(`${what} exited (${code}) before it was ready:\n${seen}`));
    const timer = setTimeout(
      () => finish(new Error(`${what} not ready within ${timeoutMs} ms:\n${seen}`)),
      timeoutMs,
    );
    const finish = (err?: Error) => {
      clearTimeout(timer);
      proc.stdout?.off('data', onData);
      proc.stderr?.off('data', onData);
      proc.off('exit', onExit);
      if (err) reject(err);
      else resolve();
    };
    const done = () => finish();
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.on('exit', onExit);
  });
}

/**
 * An edge's gateway config: its `cluster:` section is what the Kamailio cluster
 * defines are rendered from (gateway/src/kamailio/cluster.ts kamailioClusterSpec).
 */
function edgeConfig(
  name: string,
  address: string,
  peer: { name: string; address: string },
  withTrunkGateways: boolean,
  opts: EdgeOptions = {},
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    cluster: {
      nodeName: name,
      peers: [{ name: peer.name, address: peer.address, sipPort: SIP_PORT }],
      // this edge first, as the softphones get them (client-config wsUrls)
      wsUrls: [address, peer.address].map((a) => `wss://${a}:${HTTPS_PORT}/ws`),
      // the shared PostgreSQL: directory, call records (tagged with the node)
      databaseUrl: DATABASE_URL,
      redisUrl: `redis://${ADDR.db}:${REDIS_PORT}/0`,
      rtpengines: [
        { address: ADDR.media1, ngPort: NG_PORT, weight: 1 },
        { address: ADDR.media2, ngPort: NG_PORT, weight: 1 },
      ],
      // edge A probes the carrier's two gateways (the live one answers edge A only)
      trunkGateways: withTrunkGateways
        ? [
            {
              trunk: 'carrier',
              gateways: [
                { host: ADDR.deadCarrier, port: 5060 },
                { host: ADDR.clients, port: CARRIER_PORT },
              ],
            },
          ]
        : [],
    },
    dataDir: join('test', 'artifacts', 'cluster', name),
    listenAddress: address,
    // a browser loaded from one edge moves its SIP WebSocket to the other when
    // its edge dies: each edge accepts the other's origin (README "Cluster")
    http: { allowedOrigins: [`https://${peer.address}:${HTTPS_PORT}`] },
    demo: { enabled: false },
    // a caller ID each: trunk calls need one
    users: [
      ...Object.entries(USERS).map(([username, password]) => ({
        username,
        password,
        callerId: `+1555010${username}`,
      })),
      ...(opts.extraUsers ?? []),
    ],
    sip: { children: 2, asyncWorkers: 2, sharedMemoryMb: 128, privateMemoryMb: 16 },
    // the edge's own rtpengine is not used by its Kamailio in cluster mode (the media nodes are)
    rtpengine: { portMin: 30000, portMax: 30049 },
    turn: { enabled: false },
    // one node at a time runs it (contactcenter/README "Cluster mode"); both are configured alike
    contactCenter: {
      enabled: true,
      port: CALLCONTROL_PORT,
      queues: [
        {
          name: 'sales',
          number: QUEUE_NUMBER,
          ringTimeoutSec: 10,
          wrapUpSec: 1,
          autoPauseAfter: 0,
          announce: { everySec: 0 },
        },
      ],
      agents: [{ username: AGENT, queues: [{ name: 'sales', penalty: 0 }] }],
    },
    // the trunk's own address is the dead gateway: calls reach the live one only through dispatcher
    trunks: [{ name: 'carrier', host: ADDR.deadCarrier, port: 5060, prefixes: ['+1415'] }],
    log: { level: 'warn', kamailioDebug: 1 },
  };
  return { ...config, ...opts.configOverrides };
}

export function mediaSpec(n: 1 | 2): MediaNodeSpec {
  const own = n === 1 ? { name: 'pub1', address: ADDR.vip1 } : { name: 'pub2', address: ADDR.vip2 };
  const other =
    n === 1 ? { name: 'pub2', address: ADDR.vip2 } : { name: 'pub1', address: ADDR.vip1 };
  return {
    own,
    others: [other],
    ng: { address: n === 1 ? ADDR.media1 : ADDR.media2, port: NG_PORT },
    redis: { host: ADDR.db, port: REDIS_PORT },
    db: n,
    otherDbs: [n === 1 ? 2 : 1],
    portMin: 40000,
    portMax: 40999,
    timeout: 60,
    logLevel: 6,
  };
}

/** Starts (or, with keepData, restarts over its earlier store and run folder) an edge's service. */
export async function startEdge(
  topo: Topology,
  which: 'a' | 'b',
  keepData = false,
  opts: EdgeOptions = {},
): Promise<Edge> {
  const name = which === 'a' ? 'edge-a' : 'edge-b';
  const host = topo.host(name);
  const self = which === 'a' ? ADDR.edgeA : ADDR.edgeB;
  const peer = which === 'a' ? ADDR.edgeB : ADDR.edgeA;
  const dataDir = join(ARTIFACTS, name);
  if (!keepData) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const input = JSON.stringify({
    name,
    config: edgeConfig(
      name,
      self,
      { name: which === 'a' ? 'edge-b' : 'edge-a', address: peer },
      which === 'a',
      opts,
    ),
  });
  const proc = host.spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'test', 'cluster', 'harness', 'edge-node.ts'), input],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  logTo(proc, join(ARTIFACTS, `${name}.service.log`));
  await waitOutput(proc, /READY/, name, 90_000);
  return { name, host, proc, dataDir, runDir: join(dataDir, 'run') };
}

export async function startMediaNode(topo: Topology, n: 1 | 2): Promise<MediaNode> {
  const name = n === 1 ? 'media-1' : 'media-2';
  const host = topo.host(name);
  const spec = mediaSpec(n);
  const proc = host.spawn('rtpengine', mediaNodeArgs(spec));
  logTo(proc, join(ARTIFACTS, `${name}.rtpengine.log`));
  await waitOutput(proc, /Startup complete/, `${name} rtpengine`, 30_000);
  return { name, host, proc, vip: spec.own.address, spec };
}

const PG_DIR = join(tmpdir(), `clu-pg-${process.pid}`);
const PG_BIN_DIRS = [
  '/usr/lib/postgresql/17/bin',
  '/usr/lib/postgresql/16/bin',
  '/usr/lib/postgresql/15/bin',
];

/**
 * PostgreSQL on the db host, listening on its cluster address only, trusting
 * the test's subnet: initdb into the artifacts folder, run as the `postgres`
 * system user (root cannot run it), database `gateway` created empty (each
 * edge migrates it at start, under an advisory lock).
 */
async function startPostgres(db: Host): Promise<void> {
  const bin = PG_BIN_DIRS.find((d) => existsSync(join(d, 'postgres')));
  if (!bin)
    throw new Error(
      `PostgreSQL server binaries not found in ${PG_BIN_DIRS.join(', ')}: apt-get install postgresql`,
    );
  // outside the checkout: the postgres user may not traverse it
  const dir = PG_DIR;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const asPostgres = (cmd: string, args: string[]) => ['-u', 'postgres', '--', cmd, ...args];
  await db.exec(
    'runuser',
    asPostgres(join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]),
  );
  appendFileSync(join(data, 'pg_hba.conf'), `host all all ${SUBNET_PREFIX}0/24 trust\n`);
  const pg = db.spawn(
    'runuser',
    asPostgres(join(bin, 'postgres'), [
      '-D',
      data,
      '-p',
      String(PG_PORT),
      '-k',
      dir,
      '-c',
      `listen_addresses=${ADDR.db}`,
      // a throwaway database: durability is not what is tested
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ]),
  );
  logTo(pg, join(ARTIFACTS, 'db.postgres.log'));
  await waitOutput(pg, /ready to accept connections/, 'postgres', 30_000);
  await db.exec(
    'runuser',
    asPostgres('psql', [
      '-h',
      dir,
      '-p',
      String(PG_PORT),
      '-U',
      'postgres',
      '-qc',
      'CREATE DATABASE gateway',
    ]),
  );
}

/** Builds the hosts and starts every component; torn down by `stop()` (and on exit). */
export async function startCluster(opts: EdgeOptions = {}): Promise<Cluster> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const topo = await Topology.create({
    hosts: [
      { name: 'edge-a', octet: 11 },
      { name: 'edge-b', octet: 12 },
      { name: 'media-1', octet: 21 },
      { name: 'media-2', octet: 22 },
      { name: 'db', octet: 30 },
    ],
    self: { name: 'clients', octet: 50 },
  });
  try {
    const db = topo.host('db');
    const redisDir = join(ARTIFACTS, 'redis');
    rmSync(redisDir, { recursive: true, force: true });
    mkdirSync(redisDir, { recursive: true });
    const redis = db.spawn(
      'redis-server',
      redisArgs({ address: ADDR.db, port: REDIS_PORT, dir: redisDir }),
    );
    logTo(redis, join(ARTIFACTS, 'db.redis.log'));
    await waitOutput(redis, /Ready to accept connections/, 'redis-server', 15_000);
    await startPostgres(db);

    // Each media node owns one floating address; both may bind the other's
    // (for the calls they copy) before it moves to them.
    for (const [n, vip] of [
      [1, ADDR.vip1],
      [2, ADDR.vip2],
    ] as const) {
      const h = topo.host(`media-${n}`);
      await h.exec('sysctl', ['-q', '-w', 'net.ipv4.ip_nonlocal_bind=1']);
      await h.exec('ip', ['addr', 'add', `${vip}/32`, 'dev', 'eth0']);
    }
    const [m1, m2] = await Promise.all([startMediaNode(topo, 1), startMediaNode(topo, 2)]);

    // One after the other: edge-b's DMQ then finds edge-a already listening.
    const a = await startEdge(topo, 'a', false, opts);
    const b = await startEdge(topo, 'b', false, opts);
    const cluster: Cluster = {
      topo,
      edges: { a, b },
      media: { '1': m1, '2': m2 },
      db,
      async stop() {
        for (const e of [cluster.edges.a, cluster.edges.b]) {
          if (e.proc.exitCode === null && e.proc.signalCode === null) {
            e.proc.kill('SIGTERM');
            await Promise.race([
              new Promise((r) => e.proc.once('exit', r)),
              new Promise((r) => setTimeout(r, 10_000)),
            ]);
          }
        }
        await topo.destroy();
        rmSync(PG_DIR, { recursive: true, force: true });
      },
    };
    return cluster;
  } catch (err) {
    await topo.destroy();
    throw err;
  }
}

/** Kamailio RPC on an edge (its binrpc control socket lives in the run folder). */
export async function kamcmd(edge: Edge, ...args: string[]): Promise<string> {
  const { stdout } = await edge.host.exec('kamcmd', [
    '-s',
    `unix:${join(edge.runDir, 'kamailio_ctl')}`,
    ...args,
  ]);
  return stdout;
}

/**
 * Moves a dead media node's floating address to the surviving node, as
 * keepalived/VRRP would; the neighbours' ARP entries are flushed in place of
 * the gratuitous ARP VRRP sends.
 */
export async function moveFloatingAddress(
  c: Cluster,
  vip: string,
  from: Host,
  to: Host,
): Promise<void> {
  await from.exec('ip', ['addr', 'del', `${vip}/32`, 'dev', 'eth0']).catch(() => undefined);
  await to.exec('ip', ['addr', 'add', `${vip}/32`, 'dev', 'eth0']);
  for (const name of ['edge-a', 'edge-b', 'media-1', 'media-2', 'db', 'clients']) {
    await c.topo
      .host(name)
      .exec('ip', ['neigh', 'flush', 'to', vip])
      .catch(() => undefined);
  }
}
