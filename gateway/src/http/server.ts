import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync, readFileSync } from 'node:fs';
import type { GatewayConfig } from '../config/schema.js';
import type { Directory } from '../directory/directory.js';
import { DEMO_USERS } from '../directory/directory.js';
import type { CallRecords } from '../records/callRecords.js';
import type { TrunkRegistration } from '../kamailio/rpcStatus.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import { turnCredentials } from '../turn/credentials.js';
import { handleUpgrade } from './wsProxy.js';
import type { Duplex } from 'node:stream';
import { timingSafeEqual } from 'node:crypto';

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

// The gateway's public face, one HTTPS origin: the softphone, SIP over secure
// WebSocket at /ws, the client API, health and metrics.

export interface HttpDeps {
  cfg: GatewayConfig;
  tls: { cert: string; key: string };
  softphoneDir: string;
  turnSecret?: string;
  /** Bearer token for /api/admin/*. */
  adminToken: string;
  directory: Directory;
  records: CallRecords;
  supervisor: Supervisor;
  metrics: Metrics;
  log: Logger;
  /** Extra health facts (the decision server, rtpengine sessions). */
  health: () => Promise<Record<string, unknown>>;
  /** Refreshes gauges gathered from other processes before a scrape. */
  beforeScrape?: () => Promise<void>;
  /** Trunks Kamailio registers with and how that stands (kamailio/rpcStatus.ts). */
  trunkRegistrations?: () => TrunkRegistration[];
  /** Mounts the contact center's agent and admin API (contactcenter/api.ts registerAgentApi). */
  mountContactCenter?: (app: FastifyInstance) => void;
}

/** TURN credentials handed to a browser live this long. */
const TURN_TTL_SECONDS = 12 * 3600;

export async function createHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const { cfg, metrics, log } = deps;
  const app = Fastify({
    https: { cert: readFileSync(deps.tls.cert), key: readFileSync(deps.tls.key) },
    logger: false,
    // Keep-alive and SSE connections must not hold a shutdown open.
    forceCloseConnections: true,
  });

  const tunnels = new Set<Duplex>();
  app.addHook('preClose', async () => {
    for (const s of tunnels) s.destroy();
  });
  app.server.on('upgrade', (req, socket, head) =>
    handleUpgrade(
      {
        kamailioHost: cfg.listenAddress,
        kamailioWsPort: cfg.sip.wsPort,
        allowedOrigins: cfg.http.allowedOrigins,
        metrics,
        log,
        open: tunnels,
      },
      req,
      socket,
      head,
    ),
  );

  app.addHook('onSend', async (_req, reply) => {
    // The softphone needs the microphone and camera of this origin only.
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('Permissions-Policy', 'microphone=(self), camera=(self), display-capture=(self)');
  });

  app.get('/api/client-config', async (req, reply) => {
    // TURN credentials and demo passwords: never kept in a cache.
    reply.header('Cache-Control', 'no-store');
    const host = req.headers.host ?? `${cfg.listenAddress}:${cfg.http.port}`;
    const turnHost = cfg.advertisedAddress ?? cfg.listenAddress;
    const iceServers: { urls: string[]; username?: string; credential?: string }[] = [];
    if (cfg.turn.enabled && deps.turnSecret) {
      const { username, credential } = turnCredentials(
        deps.turnSecret,
        'softphone',
        TURN_TTL_SECONDS,
      );
      iceServers.push({
        urls: [
          `turn:${turnHost}:${cfg.turn.port}?transport=udp`,
          `turn:${turnHost}:${cfg.turn.port}?transport=tcp`,
        ],
        username,
        credential,
      });
    }
    const wsUrl = `wss://${host}/ws`;
    return {
      domain: cfg.domain,
      wsUrl,
      // A cluster's edges: the softphone moves to the next when its edge dies.
      ...(cfg.cluster?.wsUrls.length ? { wsUrls: cfg.cluster.wsUrls } : {}),
      iceServers,
      demoAccounts: cfg.demo.enabled
        ? DEMO_USERS.map((u) => ({
            username: u.username,
            password: u.password,
            displayName: u.displayName,
          }))
        : [],
      services: { echo: cfg.services.echoExtension, tone: cfg.services.toneExtension },
    };
  });

  // Admin API: call records and the directory, for operators and scripts.
  app.register(async (admin) => {
    admin.addHook('onRequest', async (req, reply) => {
      const given = req.headers.authorization?.replace(/^Bearer\s+/i, '') ?? '';
      if (!safeEqual(given, deps.adminToken)) {
        reply
          .code(401)
          .header('WWW-Authenticate', 'Bearer')
          .send({ error: 'admin token required' });
      }
    });
    admin.get('/api/admin/calls', async (req) => {
      const limit = Math.min(
        500,
        Math.max(1, Number((req.query as { limit?: string }).limit ?? 50) || 50),
      );
      return deps.records.recent(limit);
    });
    admin.get('/api/admin/trunks', async () => ({
      registrations: deps.trunkRegistrations?.() ?? [],
    }));
    admin.get('/api/admin/users', async () => ({
      users: deps.directory.listUsers().map(({ ha1: _ha1, ...u }) => u),
      dids: deps.directory.listDids(),
    }));
  });

  deps.mountContactCenter?.(app);

  app.get('/healthz', async (_req, reply) => {
    const components = deps.supervisor.status();
    const extra = await deps.health();
    const ok =
      components.every((c) => c.state === 'ready') &&
      extra.decision === 'ready' &&
      extra.callEvents === 'ready' &&
      extra.rtpengineControl === 'ready' &&
      extra.callControl !== 'down';
    reply.code(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'degraded', components, ...extra };
  });

  app.get('/metrics', async (_req, reply) => {
    await deps
      .beforeScrape?.()
      .catch((err: unknown) => log.warn({ err }, 'metrics refresh failed'));
    reply.header('Content-Type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  if (existsSync(deps.softphoneDir)) {
    await app.register(fastifyStatic, {
      root: deps.softphoneDir,
      index: ['index.html'],
      // The build writes .br/.gz beside each asset (infra/scripts/precompress.mjs).
      preCompressed: true,
      cacheControl: false,
      setHeaders: (res, path) => {
        // Vite puts a content hash in every asset name: cache those for good,
        // and revalidate index.html so a new build is picked up at once.
        res.setHeader(
          'Cache-Control',
          path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
  } else {
    log.warn({ dir: deps.softphoneDir }, 'softphone not built; serving a notice at /');
    app.get('/', async (_req, reply) =>
      reply
        .type('text/plain')
        .send('The softphone is not built. Run `npm start` from the repository root.\n'),
    );
  }

  return app;
}
