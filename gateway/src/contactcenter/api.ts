import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ContactCenter } from './contactCenter.js';
import { DigestAuth, safeEqual, Tokens } from './auth.js';
import { registerSupervisorApi } from './supervisorApi.js';
import { AgentActionError, type AgentView } from './types.js';

// The agent API of API.md, and the admin API that makes users agents.

export interface AgentApiOptions {
  /** HMAC key of the agent tokens (the lead passes persistentSecret(...)). */
  tokenSecret: string;
  /** Bearer token of /api/admin/*; without it the admin routes are not mounted. */
  adminToken?: string;
  tokenTtlSec?: number;
  nonceTtlSec?: number;
  /** SSE comment ping, so proxies and the browser keep the stream open. */
  pingSec?: number;
  /**
   * Failed sign-ins from one address before it is refused (429) for the window:
   * without it this endpoint would be a way around Kamailio's failed-auth ban
   * for guessing SIP passwords. Default: the config's protection section.
   */
  failedLogins?: { limit: number; windowSec: number };
  /**
   * Cluster: the node that runs the contact center now. A node that does not
   * answers the contact center's routes with 503 naming it (README
   * "Cluster mode"): its own engine is not running, and its state would be stale.
   */
  leader?: () => { node: string; https: string } | undefined;
}

/** The routes that need the running engine (a cluster standby refuses them). */
const CC_ROUTES = /^\/api\/(agent|supervisor|admin\/contact-center)(\/|$|\?)/;

const stateBody = z.object({
  state: z.enum(['available', 'not-ready', 'offline']),
  reason: z.string().min(1).nullish(),
});
const queuesBody = z.object({ queue: z.string().min(1).optional(), loggedIn: z.boolean() });
const qualityBody = z.object({
  callId: z.string().min(1),
  mos: z.number().min(1).max(5),
  jitterMs: z.number().min(0).max(10_000),
  lossPct: z.number().min(0).max(100),
  rttMs: z.number().min(0).max(60_000),
});
const wrapUpBody = z.object({
  callId: z.string().min(1),
  disposition: z.string().min(1),
  notes: z.string().max(4000).optional(),
});
const adminAgentBody = z.strictObject({
  username: z.string().min(1),
  queues: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        penalty: z.number().int().min(0).max(9).default(0),
      }),
    )
    .min(1),
});

export function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  throw new AgentActionError(
    400,
    r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
  );
}

/** Mount the agent API (and the admin API when `adminToken` is given) on the HTTPS app. */
export function registerAgentApi(
  app: FastifyInstance,
  cc: ContactCenter,
  opts: AgentApiOptions,
): void {
  const digest = new DigestAuth(cc.realm, opts.nonceTtlSec);
  const tokens = new Tokens(opts.tokenSecret, opts.tokenTtlSec);
  const streams = new Set<PassThrough>();
  const pingMs = (opts.pingSec ?? 15) * 1000;
  const limits = opts.failedLogins ?? {
    limit: cc.protection.failedAuthLimit,
    windowSec: cc.protection.failedAuthWindowSec,
  };
  const failures = new Map<string, { n: number; until: number }>();
  const blockedFor = (ip: string): number => {
    const f = failures.get(ip);
    return f && f.n >= limits.limit && f.until > Date.now()
      ? Math.ceil((f.until - Date.now()) / 1000)
      : 0;
  };
  const failed = (ip: string) => {
    const now = Date.now();
    if (failures.size > 10_000)
      for (const [k, f] of failures) if (f.until <= now) failures.delete(k);
    const f = failures.get(ip);
    if (!f || f.until <= now) failures.set(ip, { n: 1, until: now + limits.windowSec * 1000 });
    else f.n += 1;
  };

  const fail = (reply: FastifyReply, err: unknown) => {
    if (err instanceof AgentActionError) return reply.code(err.code).send({ error: err.message });
    throw err;
  };

  /** The signed-in user, from the Bearer token (or ?token= for EventSource). */
  const userOf = (req: FastifyRequest, allowQuery = false): string => {
    const header = req.headers.authorization;
    let token = header?.match(/^Bearer\s+(.+)$/i)?.[1];
    if (!token && allowQuery) token = (req.query as { token?: string }).token;
    const username = token ? tokens.verify(token) : null;
    if (!username) throw new Unauthorized();
    return username;
  };

  /** The signed-in agent (403 for a user who is not an agent of any queue). */
  const agentOf = (req: FastifyRequest, allowQuery = false): string => {
    const username = userOf(req, allowQuery);
    if (!cc.isAgent(username))
      throw new AgentActionError(403, `${username} is not an agent of any queue`);
    return username;
  };

  const guarded =
    (
      fn: (req: FastifyRequest, reply: FastifyReply, username: string) => unknown,
      allowQuery = false,
    ) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        return await fn(req, reply, agentOf(req, allowQuery));
      } catch (err) {
        if (err instanceof Unauthorized)
          return reply
            .code(401)
            .header('WWW-Authenticate', 'Bearer')
            .send({ error: 'token missing or expired: sign in again' });
        return fail(reply, err);
      }
    };

  app.addHook('onRequest', async (req, reply) => {
    if (cc.serving || !CC_ROUTES.test(req.url)) return;
    const leader = opts.leader?.();
    return reply
      .code(503)
      .header('Retry-After', '2')
      .send({
        error: leader
          ? `the contact center runs on node ${leader.node}: use ${leader.https}`
          : 'the contact center is starting on another node: try again',
        leader: leader ?? null,
      });
  });

  app.post('/api/agent/login', async (req, reply) => {
    const wait = blockedFor(req.ip);
    if (wait > 0)
      return reply
        .code(429)
        .header('Retry-After', String(wait))
        .send({ error: `too many failed sign-ins; try again in ${wait} s` });
    const header = req.headers.authorization;
    if (!header || !/^Digest\s/i.test(header))
      return reply
        .code(401)
        .header('WWW-Authenticate', digest.challenge())
        .send({ error: 'sign in with your SIP username and password (HTTP Digest)' });
    // digest-uri is the request-target as sent (RFC 7616 §3.4.6), query included.
    const r = digest.verify(req.method, req.url, header, (u) => cc.ha1Of(u));
    if (!r.ok) {
      if (r.status === 401)
        return reply
          .code(401)
          .header('WWW-Authenticate', digest.challenge(r.stale))
          .send({ error: r.error });
      failed(req.ip);
      return reply.code(403).send({ error: r.error });
    }
    // Agents, supervisors and admins all sign in here; the roles say what the token opens.
    const roles = cc.rolesOf(r.username);
    if (roles.roles.length === 0)
      return reply
        .code(403)
        .send({ error: `${r.username} is not an agent of any queue, nor a supervisor or admin` });
    // An agent's current view comes with the token: a reopened desktop shows its
    // state one round trip sooner than through the event stream.
    const view = roles.roles.includes('agent') ? { view: cc.view(r.username) } : {};
    return { ...tokens.issue(r.username), username: r.username, ...roles, ...view };
  });

  app.post('/api/agent/token', async (req, reply) => {
    try {
      const username = userOf(req);
      const roles = cc.rolesOf(username);
      if (roles.roles.length === 0)
        throw new AgentActionError(403, `${username} has no contact-center role`);
      return { ...tokens.issue(username), username, ...roles };
    } catch (err) {
      if (err instanceof Unauthorized)
        return reply
          .code(401)
          .header('WWW-Authenticate', 'Bearer')
          .send({ error: 'token missing or expired: sign in again' });
      return fail(reply, err);
    }
  });

  app.get(
    '/api/agent/view',
    guarded((_req, _reply, username) => cc.view(username)),
  );

  app.post(
    '/api/agent/state',
    guarded((req, _reply, username) => {
      const b = parse(stateBody, req.body);
      return cc.setState(username, b.state, b.reason ?? null);
    }),
  );

  app.post(
    '/api/agent/queues',
    guarded((req, _reply, username) => {
      const b = parse(queuesBody, req.body);
      return cc.setQueueLogin(username, b.queue, b.loggedIn);
    }),
  );

  app.post(
    '/api/agent/wrapup',
    guarded((req, _reply, username) => {
      const b = parse(wrapUpBody, req.body);
      return cc.saveWrapUp(username, b.callId, b.disposition, b.notes);
    }),
  );

  app.post(
    '/api/agent/quality',
    guarded((req, _reply, username) => {
      const b = parse(qualityBody, req.body);
      const { callId, ...sample } = b;
      return cc.supervision.qualitySample(username, callId, sample);
    }),
  );

  app.get(
    '/api/agent/events',
    guarded((req, reply, username) => {
      const stream = new PassThrough();
      streams.add(stream);
      const send = (view: AgentView) =>
        stream.write(`event: state\ndata: ${JSON.stringify(view)}\n\n`);
      const unsubscribe = cc.subscribe(username, send);
      const ping = setInterval(() => stream.write(': ping\n\n'), pingMs);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(ping);
        unsubscribe();
        streams.delete(stream);
      };
      // The response's close, not the request's: an IncomingMessage closes as soon as its
      // (empty) body is read, which for a GET is at once.
      reply.raw.on('close', close);
      stream.on('close', close);
      return reply
        .header('Content-Type', 'text/event-stream; charset=utf-8')
        .header('Cache-Control', 'no-cache, no-transform')
        .send(stream);
    }, true),
  );

  app.addHook('onClose', async () => {
    for (const s of streams) s.end();
  });

  registerSupervisorApi(app, cc, {
    userOf: (req, allowQuery) => {
      try {
        return userOf(req, allowQuery);
      } catch {
        return null;
      }
    },
    adminToken: opts.adminToken,
    streams,
    pingMs,
  });

  if (opts.adminToken) {
    const adminToken = opts.adminToken;
    app.register(async (admin) => {
      admin.addHook('onRequest', async (req, reply) => {
        const given = req.headers.authorization?.replace(/^Bearer\s+/i, '') ?? '';
        if (!safeEqual(given, adminToken))
          return reply
            .code(401)
            .header('WWW-Authenticate', 'Bearer')
            .send({ error: 'admin token required' });
      });
      admin.get('/api/admin/contact-center/agents', async () => ({ agents: cc.listAgents() }));
      admin.post('/api/admin/contact-center/agents', async (req, reply) => {
        try {
          const b = parse(adminAgentBody, req.body);
          return { agent: cc.addAgent(b.username, b.queues) };
        } catch (err) {
          return fail(reply, err);
        }
      });
    });
  }
}

class Unauthorized extends Error {}
