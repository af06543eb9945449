import { existsSync, mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { loadConfig, ConfigError } from './config/load.js';
import type { GatewayConfig } from './config/schema.js';
import { openDb, type Db } from './store/db.js';
import { sqliteStorage } from './store/sqlite.js';
import { openPostgres } from './store/postgres.js';
import { PgBus, type ClusterBus } from './store/bus.js';
import type { Storage } from './store/storage.js';
import { CcWriteBehind, MirroredCcStore, importCcState } from './store/ccMirror.js';
import { Leadership } from './store/leader.js';
import { Directory, joinClusterDirectory } from './directory/directory.js';
import { Router } from './routing/decide.js';
import { CallRecords } from './records/callRecords.js';
import { createDecisionServer } from './kamailio/decisions.js';
import { KamailioEvents } from './kamailio/events.js';
import { callStates, drainKamailio } from './kamailio/rpc.js';
import { forgetDecisions } from './kamailio/cache.js';
import { KamailioRpcStatus } from './kamailio/rpcStatus.js';
import { Registrations } from './kamailio/registrations.js';
import { kamailioClusterSpec, renderKamailioCluster } from './kamailio/cluster.js';
import { renderKamailio } from './kamailio/render.js';
import { renderRtpengine } from './rtpengine/render.js';
import { RtpengineControl } from './rtpengine/client.js';
import { B2bua } from './callcontrol/b2bua.js';
import { ContactCenter } from './contactcenter/contactCenter.js';
import { registerAgentApi } from './contactcenter/api.js';
import { ContactCenterConfigError } from './contactcenter/sounds.js';
import { AgentPresence } from './contactcenter/presence.js';
import { renderCoturn } from './turn/render.js';
import { renderServices } from './services/render.js';
import { Supervisor, StartupError } from './supervisor/supervisor.js';
import type { ProcessSpec, RuntimeDirs } from './supervisor/types.js';
import { createHttpServer } from './http/server.js';
import { ensureSelfSignedCert } from './tls/certs.js';
import { persistentSecret } from './secrets.js';
import { createMetrics } from './metrics.js';
import { createLogger, type Logger } from './log.js';
import { REPO_ROOT } from './paths.js';

/** Longest one shutdown step may take before the next one starts anyway. */
const STOP_STEP_MS = 15_000;

export { REPO_ROOT };

export interface Gateway {
  cfg: GatewayConfig;
  dirs: RuntimeDirs;
  db: Db;
  /** Call records' storage: the SQLite file, or the cluster's PostgreSQL (cluster.databaseUrl). */
  storage: Storage;
  /** Cluster mode: live fan-out to the other nodes (PostgreSQL LISTEN/NOTIFY). */
  bus?: ClusterBus;
  directory: Directory;
  records: CallRecords;
  supervisor: Supervisor;
  rtpengine: RtpengineControl;
  /** Who is registered, from Kamailio's registration events. */
  registrations: Registrations;
  /** What Kamailio does on its own, read over its RPC: trunk registrations, decision-cache answers. */
  kamailioStatus: KamailioRpcStatus;
  /** The call-control tier (B2BUA for IVRs and queues); absent when contactCenter.enabled is false. */
  callControl?: B2bua;
  /** IVRs, queues and agents on top of the call-control tier. */
  contactCenter?: ContactCenter;
  http: FastifyInstance;
  decision?: FastifyInstance;
  log: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Skip the decision server: tests point Kamailio at a dead or slow one via decision.url. */
  withoutDecisionServer?: boolean;
  log?: Logger;
}

/** Bring the whole stack up: store, decision server, rtpengine, Kamailio, coturn, test services, HTTPS. */
export async function startGateway(cfg: GatewayConfig, opts: StartOptions = {}): Promise<Gateway> {
  const log = opts.log ?? createLogger(cfg.log.level);
  const data = resolve(REPO_ROOT, cfg.dataDir);
  const dirs: RuntimeDirs = {
    root: REPO_ROOT,
    data,
    run: join(data, 'run'),
    log: join(data, 'log'),
  };
  for (const d of [dirs.data, dirs.run, dirs.log]) mkdirSync(d, { recursive: true });

  const db = openDb(join(data, 'gateway.sqlite'));
  const directory = new Directory(db, cfg.domain);
  let storage: Storage = sqliteStorage(db);
  let bus: ClusterBus | undefined;
  if (cfg.cluster) {
    const { databaseUrl, nodeName } = cfg.cluster;
    try {
      storage = await openPostgres(databaseUrl, { node: nodeName });
      bus = await PgBus.connect(databaseUrl, nodeName, (err, what) => log.warn({ err }, what));
      // The shared directory is the truth; this node reads its copy (synchronous, per
      // request), refreshed when any node changes it, and then forgets what its
      // Kamailio cached (the CLI does the same on the node it ran on).
      await joinClusterDirectory(directory, storage.directory, bus, cfg, {
        afterRefresh: () => forgetDecisions(dirs.run),
        onError: (err) => log.error({ err }, 'cluster: directory not refreshed'),
      });
    } catch (err) {
      await bus?.close();
      if (storage.kind === 'postgres') await storage.close();
      db.close();
      // pg's messages name the host and user, never the password.
      throw new StartupError(
        `cluster.databaseUrl: PostgreSQL not usable: ${(err as Error).message}`,
      );
    }
  }
  if (!cfg.cluster) directory.syncFromConfig(cfg);
  const closeStores = async () => {
    await bus?.close();
    if (storage.kind === 'postgres') await storage.close();
    db.close();
  };
  // SQLite: a batch of call events in one transaction (its writes run as they are called)
  const records = new CallRecords(storage.callRecords, {
    transaction: storage.kind === 'sqlite' ? (writes) => db.transaction(writes)() : undefined,
  });
  const metrics = createMetrics();
  // Cluster: one node runs the contact center (contactcenter/README "Cluster
  // mode"); every node's decisions send IVR and queue calls to its call control.
  let ccLeadership: Leadership | undefined;
  const router = new Router(
    cfg,
    directory,
    cfg.cluster && cfg.contactCenter.enabled
      ? () => {
          const leader = ccLeadership?.leader;
          return leader ? `${leader.address}:${leader.port}` : undefined;
        }
      : undefined,
  );

  let decision: FastifyInstance | undefined;
  if (!opts.withoutDecisionServer) {
    decision = createDecisionServer({ router, records, metrics, log });
    await decision.listen({ host: '127.0.0.1', port: cfg.decision.port });
  }

  const turnSecret = cfg.turn.secret ?? persistentSecret(join(data, 'secrets', 'turn-secret'));
  const callControlToken = persistentSecret(join(data, 'secrets', 'callcontrol-token'));
  // Cluster mode (DMQ, Path, media nodes, trunk dispatcher) is switched on by these
  // files; without a cluster: section they are removed, a single machine again.
  renderKamailioCluster(kamailioClusterSpec(cfg), dirs);
  const specs: ProcessSpec[] = [
    renderRtpengine(cfg, dirs),
    renderKamailio(cfg, dirs, { callControlToken }),
    ...renderServices(cfg, dirs),
    ...(cfg.turn.enabled ? [renderCoturn(cfg, dirs, turnSecret)] : []),
  ];
  const supervisor = new Supervisor(specs, dirs, log);
  supervisor.on('state', (s) =>
    metrics.componentUp.set({ component: s.name }, s.state === 'ready' ? 1 : 0),
  );
  supervisor.on('restart', (name) => metrics.componentRestarts.inc({ component: name }));
  const rtpengine = new RtpengineControl(cfg.listenAddress, cfg.rtpengine.ngPort);
  const callControl = cfg.contactCenter.enabled
    ? new B2bua({
        host: cfg.listenAddress,
        port: cfg.contactCenter.port,
        kamailioPort: cfg.sip.port,
        domain: cfg.domain,
        token: callControlToken,
        ng: rtpengine,
        cacheDir: dirs.run,
        log,
        peers: cfg.cluster?.peers.map((p) => p.address),
      })
    : undefined;
  // Cluster: the leader's engine writes its SQLite and, behind it, PostgreSQL (store/ccMirror.ts).
  const ccWriteBehind =
    cfg.cluster && callControl
      ? new CcWriteBehind(storage.cc, (err, writes) =>
          log.error(
            { err, writes: writes.map((w) => w.method) },
            'contact center: write to PostgreSQL failed',
          ),
        )
      : undefined;
  // Checked before any child starts: a missing prompt file is a config error, named with its path.
  const contactCenter = callControl
    ? new ContactCenter({
        cfg,
        db,
        directory,
        callControl,
        log,
        metrics,
        dataDir: data,
        bus,
        store: ccWriteBehind ? new MirroredCcStore(db, ccWriteBehind.push) : undefined,
      })
    : undefined;
  // Agents' states as presence, published by the call-control tier (contactcenter/presence.ts)
  const agentPresence =
    contactCenter && callControl
      ? new AgentPresence({
          source: contactCenter,
          send: (user, pidf) => callControl.publishPresence(user, pidf),
          domain: cfg.domain,
          log,
        })
      : undefined;
  try {
    // cluster: checked here, started when this node leads
    if (ccWriteBehind) contactCenter?.verify();
    else contactCenter?.start();
  } catch (err) {
    await decision?.close();
    rtpengine.close();
    await closeStores();
    throw err;
  }

  const registrations = new Registrations();
  registrations.on('changed', (user, registered) =>
    contactCenter?.registrationChanged(user, registered),
  );
  const events = new KamailioEvents(cfg.decision.eventsPort, {
    onRegistration: (e) => registrations.apply(e),
    // What was sent while the connection was down is read back over Kamailio's RPC.
    callStates: () => callStates(dirs.run),
    drain: () => drainKamailio(dirs.run),
    records,
    metrics,
    log,
    // Backstop to Kamailio's own rtpengine_delete, which frees only the dialog's
    // branch: a call whose offer timed out (rtpengine hung), or a forked call
    // whose other branch never answered (a dead contact), would otherwise keep
    // its session and ports until rtpengine's timeout. Deleting by Call-ID
    // alone frees every branch (RtpengineControl.deleteCall).
    onCallOver: (callId) =>
      void rtpengine
        .deleteCall(callId)
        .catch((err: unknown) => log.debug({ err, callId }, 'rtpengine delete after the call')),
  });
  const kamailioStatus = new KamailioRpcStatus({
    runDir: dirs.run,
    registeringTrunks: cfg.trunks.filter((t) => t.register && t.auth).map((t) => t.name),
    decisionCache: cfg.decision.cacheSeconds > 0,
    metrics,
    log,
  });
  try {
    // A previous run killed outright leaves its Kamailio running (the supervisor
    // is about to replace it): what its calls did since is read first.
    if (existsSync(join(dirs.run, 'kamailio.pid'))) await events.catchUp();
    await supervisor.start();
    kamailioStatus.start();
    await events.start();
    await callControl?.start();
    if (cfg.cluster && contactCenter && ccWriteBehind) {
      const cc = contactCenter;
      ccLeadership = new Leadership({
        url: cfg.cluster.databaseUrl,
        node: cfg.cluster.nodeName,
        self: {
          address: cfg.listenAddress,
          port: cfg.contactCenter.port,
          https: `https://${cfg.cluster.address ?? cfg.listenAddress}:${cfg.http.port}`,
        },
        onLead: async (query) => {
          const copied = await importCcState(query, db);
          cc.start();
          agentPresence?.start();
          log.info({ copied }, 'contact center: state loaded from PostgreSQL, engine started');
        },
        onLost: () => {
          ccWriteBehind.stop();
          cc.stop();
          agentPresence?.stop();
          void callControl?.detach();
        },
        onLeaderChanged: (leader) => {
          log.info({ leader: leader?.node, term: leader?.term }, 'contact center leader');
          // Kamailio keeps queue decisions: they name the old leader's call control
          void forgetDecisions(dirs.run).catch((err: unknown) =>
            log.warn({ err }, 'decision cache not emptied after a leader change'),
          );
        },
        log,
      });
      await ccLeadership.start();
    } else agentPresence?.start();
  } catch (err) {
    await ccLeadership?.stop();
    kamailioStatus.stop();
    await callControl?.stop();
    events.stop();
    await supervisor.stop();
    await decision?.close();
    rtpengine.close();
    await closeStores();
    throw err;
  }

  const adminToken = persistentSecret(join(data, 'secrets', 'admin-token'));
  const tls =
    cfg.http.certFile && cfg.http.keyFile
      ? { cert: resolve(REPO_ROOT, cfg.http.certFile), key: resolve(REPO_ROOT, cfg.http.keyFile) }
      : ensureSelfSignedCert(
          join(data, 'tls'),
          [cfg.listenAddress, cfg.domain, cfg.advertisedAddress ?? ''].filter(Boolean),
        );
  const http = await createHttpServer({
    cfg,
    tls,
    softphoneDir: resolve(REPO_ROOT, cfg.http.softphoneDir),
    turnSecret: cfg.turn.enabled ? turnSecret : undefined,
    adminToken,
    directory,
    records,
    supervisor,
    metrics,
    log,
    health: async () => ({
      decision: opts.withoutDecisionServer ? 'external' : decision ? 'ready' : 'down',
      callEvents: events.connected ? 'ready' : 'down',
      callControl: callControl ? (callControl.ready ? 'ready' : 'down') : 'disabled',
      ...(callControl && { callControlCalls: callControl.activeCalls }),
      // Cluster: whether this node runs the contact center, and which node does
      ...(ccLeadership && {
        contactCenter: ccLeadership.leading
          ? 'leading'
          : ccLeadership.stoodDown
            ? 'stood-down'
            : 'standby',
        contactCenterLeader: ccLeadership.leader?.node ?? null,
      }),
      // A hung rtpengine is still "running" to the supervisor: ask it (ng ping, 1 s at most).
      rtpengineControl: (await rtpengine.ping()) ? 'ready' : 'down',
      // Informative: a carrier refusing our REGISTER does not make the gateway unhealthy.
      ...(cfg.trunks.some((t) => t.register && t.auth) && {
        trunkRegistrations: kamailioStatus.trunkRegistrations(),
      }),
      // Cluster: the shared PostgreSQL (call records, directory) and the fan-out's listener.
      ...(bus && {
        database: (await storage.ping()) ? 'ready' : 'down',
        clusterBus: bus.connected ? 'ready' : 'down',
      }),
    }),
    beforeScrape: async () => {
      // decision-cache counts and trunk states as of this scrape, not the last poll
      await kamailioStatus.poll();
      metrics.rtpengineSessions.set(await rtpengine.sessionCount());
    },
    trunkRegistrations: () => kamailioStatus.trunkRegistrations(),
    mountContactCenter: contactCenter
      ? (app) =>
          registerAgentApi(app, contactCenter, {
            tokenSecret: persistentSecret(join(data, 'secrets', 'agent-token-key')),
            adminToken,
            leader: () => ccLeadership?.leader,
          })
      : undefined,
  });
  await http.listen({ host: cfg.listenAddress, port: cfg.http.port });

  log.info(
    {
      https: `https://${cfg.listenAddress}:${cfg.http.port}/`,
      sip: `${cfg.listenAddress}:${cfg.sip.port} (udp, tcp)`,
      wss: `wss://${cfg.listenAddress}:${cfg.http.port}/ws`,
      adminTokenFile: join(data, 'secrets', 'admin-token'),
    },
    'gateway ready',
  );

  let stopped = false;
  return {
    cfg,
    dirs,
    db,
    storage,
    bus,
    directory,
    records,
    supervisor,
    rtpengine,
    registrations,
    kamailioStatus,
    callControl,
    contactCenter,
    http,
    decision,
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Each step is bounded: a shutdown that hangs on one part would keep the
      // others (Kamailio's ports, the database) held; the log names the part.
      const step = async (name: string, run: () => unknown) => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => {
          timer = setTimeout(() => r('late'), STOP_STEP_MS);
        });
        const done = await Promise.race([Promise.resolve().then(run), late]);
        clearTimeout(timer);
        if (done === 'late')
          log.error(
            { step: name, afterMs: STOP_STEP_MS },
            'shutdown step did not finish; going on',
          );
      };
      await step('http', () => http.close());
      await step('agent presence', () => agentPresence?.stop());
      await step('contact center', () => contactCenter?.stop());
      await step('call control', () => callControl?.stop());
      // the standby's next poll takes over from complete rows
      await step('contact center writes', () => ccWriteBehind?.flush());
      await step('contact center leadership', () => ccLeadership?.stop());
      await step('registrations', () => registrations.stop());
      await step('kamailio status', () => kamailioStatus.stop());
      await step('call events', () => events.stop());
      await step('components', () => supervisor.stop());
      await step('decision cache', () => decision?.close());
      await step('rtpengine', () => rtpengine.close());
      await step('stores', () => closeStores());
    },
  };
}

/** `node gateway/dist/main.js [--config file.yaml]` */
async function cli(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--config');
  const file = i >= 0 ? args[i + 1] : process.env.GATEWAY_CONFIG;
  let cfg: GatewayConfig;
  try {
    cfg = loadConfig({ file });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(cfg.log.level);
  let gateway: Gateway;
  try {
    gateway = await startGateway(cfg, { log });
  } catch (err) {
    if (err instanceof StartupError || err instanceof ContactCenterConfigError) {
      console.error(`gateway: ${err.message}`);
      process.exit(1);
    }
    throw err;
  }
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'shutting down');
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void cli();
}
