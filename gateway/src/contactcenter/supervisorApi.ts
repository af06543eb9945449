import { createReadStream, existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { PassThrough as PassThroughT } from 'node:stream';
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ContactCenter } from './contactCenter.js';
import { safeEqual } from './auth.js';
import { startOfToday } from './queueEngine.js';
import { agentReport, queueReport, REPORT_INTERVALS, toCsv } from './reports.js';
import { MONITOR_MODES, type Principal, type Wallboard } from './supervisor.js';
import { AgentActionError } from './types.js';

// The supervisor API (API.md "Supervisors"): the same sign-in as agents (a
// token of a user with the supervisor or admin role) or the admin bearer
// token. Everything is scoped to the queues the principal supervises; a
// refusal is 403 and is written to the audit table, as is every monitoring
// (recording played or downloaded) and forcing action.

export interface SupervisorApiOptions {
  /** The token's user (null: no valid token); `allowQuery` for EventSource's ?token=. */
  userOf: (req: FastifyRequest, allowQuery: boolean) => string | null;
  adminToken?: string;
  streams: Set<PassThroughT>;
  pingMs: number;
}

const stateBody = z.object({
  state: z.enum(['available', 'not-ready', 'offline']),
  reason: z.string().min(1).nullish(),
});
const sendBody = z.object({ agent: z.string().min(1) });
const monitorBody = z.object({ mode: z.enum(MONITOR_MODES) });
const iso = z.iso.datetime({ offset: true });
const rangeQuery = z.object({
  from: iso.optional(),
  to: iso.optional(),
  queue: z.string().min(1).optional(),
});
const reportQuery = rangeQuery.extend({
  interval: z.enum(Object.keys(REPORT_INTERVALS) as ['15m', '1h', '1d']).default('15m'),
  by: z.enum(['queue', 'agent']).optional(),
  agent: z.string().min(1).optional(),
  format: z.enum(['json', 'csv']).default('json'),
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  throw new AgentActionError(
    400,
    r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
  );
}

/** Default range: today (local midnight to the next). */
function range(q: { from?: string; to?: string }): { from: string; to: string } {
  const from = new Date(q.from ?? startOfToday()).toISOString();
  const to = new Date(q.to ?? Date.parse(from) + 86_400_000).toISOString();
  if (Date.parse(to) <= Date.parse(from)) throw new AgentActionError(400, 'from must be before to');
  return { from, to };
}

export function registerSupervisorApi(
  app: FastifyInstance,
  cc: ContactCenter,
  opts: SupervisorApiOptions,
): void {
  const sup = cc.supervision;
  const allQueues = () => cc.cc.queues.map((q) => q.name);

  /** Who asks, or a reply already sent (401/403, the 403 audited). */
  const principalOf = (
    req: FastifyRequest,
    reply: FastifyReply,
    allowQuery = false,
  ): Principal | null => {
    const bearer = req.headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
    if (opts.adminToken && bearer && safeEqual(bearer, opts.adminToken))
      return { actor: 'admin', queues: allQueues() };
    const username = opts.userOf(req, allowQuery);
    if (!username) {
      void reply
        .code(401)
        .header('WWW-Authenticate', 'Bearer')
        .send({ error: 'token missing or expired: sign in again' });
      return null;
    }
    const queues = sup.queuesOf(username);
    if (!queues) {
      sup.audit(username, `${req.method} ${req.routeOptions.url ?? req.url}`, null, false, {
        why: 'not a supervisor',
      });
      void reply.code(403).send({ error: `${username} is not a supervisor` });
      return null;
    }
    return { actor: username, queues };
  };

  const route =
    (fn: (req: FastifyRequest, reply: FastifyReply, p: Principal) => unknown, allowQuery = false) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const p = principalOf(req, reply, allowQuery);
      if (!p) return reply;
      try {
        return await fn(req, reply, p);
      } catch (err) {
        if (err instanceof AgentActionError)
          return reply.code(err.code).send({ error: err.message });
        if (err instanceof RangeError) return reply.code(400).send({ error: err.message });
        throw err;
      }
    };

  /** Narrow to one queue (403 if not theirs), or all of theirs. */
  const queuesFor = (p: Principal, queue: string | undefined, action: string) => {
    if (queue) sup.requireQueue(p, queue, action);
    return cc.cc.queues.filter((q) => (queue ? q.name === queue : p.queues.includes(q.name)));
  };

  app.get(
    '/api/supervisor/me',
    route((_req, _reply, p) => ({ actor: p.actor, queues: p.queues })),
  );

  app.get(
    '/api/supervisor/wallboard',
    route((_req, _reply, p) => sup.wallboard(p)),
  );

  app.get(
    '/api/supervisor/events',
    route((_req, reply, p) => {
      const stream = new PassThrough();
      opts.streams.add(stream);
      const send = (w: Wallboard) =>
        stream.write(`event: wallboard\ndata: ${JSON.stringify(w)}\n\n`);
      const unsubscribe = cc.subscribeWallboard(p, send);
      const ping = setInterval(() => stream.write(': ping\n\n'), opts.pingMs);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(ping);
        unsubscribe();
        opts.streams.delete(stream);
      };
      reply.raw.on('close', close);
      stream.on('close', close);
      return reply
        .header('Content-Type', 'text/event-stream; charset=utf-8')
        .header('Cache-Control', 'no-cache, no-transform')
        .send(stream);
    }, true),
  );

  app.post(
    '/api/supervisor/agents/:username/state',
    route((req, _reply, p) => {
      const { username } = req.params as { username: string };
      const b = parse(stateBody, req.body);
      sup.forceState(p, username, b.state, b.reason ?? null);
      return { ok: true, wallboard: sup.wallboard(p) };
    }),
  );

  app.post(
    '/api/supervisor/agents/:username/logout',
    route((req, _reply, p) => {
      const { username } = req.params as { username: string };
      cc.forceLogout(p, username);
      return { ok: true, wallboard: sup.wallboard(p) };
    }),
  );

  app.post(
    '/api/supervisor/calls/:queueCallId/send',
    route((req, _reply, p) => {
      const { queueCallId } = req.params as { queueCallId: string };
      const b = parse(sendBody, req.body);
      sup.sendCaller(p, queueCallId, b.agent);
      return { ok: true, wallboard: sup.wallboard(p) };
    }),
  );

  // Listen / whisper / barge (API.md): the supervisor's own softphone is called.
  app.post(
    '/api/supervisor/calls/:queueCallId/monitor',
    route(async (req, _reply, p) => {
      const { queueCallId } = req.params as { queueCallId: string };
      const b = parse(monitorBody, req.body);
      return { monitor: await sup.monitor(p, queueCallId, b.mode) };
    }),
  );

  app.delete(
    '/api/supervisor/calls/:queueCallId/monitor',
    route(async (req, _reply, p) => {
      const { queueCallId } = req.params as { queueCallId: string };
      await sup.stopMonitor(p, queueCallId);
      return { ok: true };
    }),
  );

  app.get(
    '/api/supervisor/monitors',
    route((_req, _reply, p) => ({ monitors: sup.monitors(p) })),
  );

  app.get(
    '/api/supervisor/reports',
    route((req, reply, p) => {
      const q = parse(reportQuery, req.query);
      const { from, to } = range(q);
      const queues = queuesFor(p, q.queue, 'report');
      const by = q.by ?? (q.agent ? 'agent' : 'queue');
      let rows: object[];
      if (by === 'agent') {
        if (q.agent) sup.requireAgent(p, q.agent, 'report');
        rows = agentReport(cc.store, {
          from,
          to,
          interval: q.interval,
          queues,
          agents: q.agent ? [q.agent] : undefined,
        });
      } else rows = queueReport(cc.store, { from, to, interval: q.interval, queues });
      if (q.format === 'csv')
        return reply
          .header('Content-Type', 'text/csv; charset=utf-8')
          .header(
            'Content-Disposition',
            `attachment; filename="report-${by}-${from.slice(0, 10)}-${q.interval}.csv"`,
          )
          .send(toCsv(rows));
      return { from, to, interval: q.interval, by, rows };
    }),
  );

  app.get(
    '/api/supervisor/calls',
    route((req, _reply, p) => {
      const q = parse(rangeQuery, req.query);
      const { from, to } = range(q);
      const names = new Set(queuesFor(p, q.queue, 'calls').map((x) => x.name));
      return {
        from,
        to,
        calls: cc.store
          .queueCallsBetween(from, to)
          .filter((r) => names.has(r.queue))
          .map((r) => {
            const rec = cc.store.recording(r.id);
            return {
              ...r,
              quality: cc.store.quality(r.id),
              recording: rec?.file && !rec.deletedAt ? { available: true } : null,
              recordingDeletedAt: rec?.deletedAt ?? null,
            };
          }),
      };
    }),
  );

  app.get(
    '/api/supervisor/recordings',
    route((req, _reply, p) => {
      const q = parse(rangeQuery, req.query);
      const { from, to } = range(q);
      const names = new Set(queuesFor(p, q.queue, 'recordings').map((x) => x.name));
      const recordings = [];
      for (const r of cc.store.queueCallsBetween(from, to)) {
        if (!names.has(r.queue)) continue;
        const rec = cc.store.recording(r.id);
        if (!rec?.file || rec.deletedAt) continue;
        recordings.push({
          queueCallId: r.id,
          queue: r.queue,
          agent: r.agent,
          caller: { number: r.callerNumber, name: r.callerName },
          enteredAt: r.enteredAt,
          answeredAt: r.answeredAt,
          endedAt: r.endedAt,
          url: `/api/supervisor/recordings/${encodeURIComponent(r.id)}`,
        });
      }
      return { from, to, recordings };
    }),
  );

  app.get(
    '/api/supervisor/recordings/:queueCallId',
    route((req, reply, p) => {
      const { queueCallId } = req.params as { queueCallId: string };
      const download = (req.query as { download?: string }).download === '1';
      const action = download ? 'download-recording' : 'play-recording';
      const row = cc.store.queueCall(queueCallId);
      if (!row) throw new AgentActionError(404, `no queue call ${queueCallId}`);
      sup.requireQueue(p, row.queue, action, queueCallId);
      const rec = cc.store.recording(queueCallId);
      if (!rec?.file || rec.deletedAt)
        throw new AgentActionError(
          404,
          rec?.deletedAt ? 'recording deleted (retention)' : 'no recording',
        );
      const path = cc.recordingPath(rec.file);
      if (!existsSync(path)) throw new AgentActionError(404, 'recording file missing');
      // Who listened to whom, when: the monitoring trail the issue asks for.
      sup.audit(p.actor, action, queueCallId, true, {
        queue: row.queue,
        agent: row.agent,
        caller: row.callerNumber,
      });
      return reply
        .header('Content-Type', 'audio/wav')
        .header(
          'Content-Disposition',
          `${download ? 'attachment' : 'inline'}; filename="${basename(path)}"`,
        )
        .send(createReadStream(path));
    }),
  );

  app.get(
    '/api/supervisor/audit',
    route((req, reply, p) => {
      if (p.actor !== 'admin' && !sup.isAdmin(p.actor)) {
        sup.audit(p.actor, 'audit-log', null, false, { why: 'admins only' });
        return reply.code(403).send({ error: 'the audit log is for admins' });
      }
      const q = parse(
        z.object({
          from: iso.optional(),
          to: iso.optional(),
          actor: z.string().optional(),
          limit: z.coerce.number().int().min(1).max(5000).optional(),
        }),
        req.query,
      );
      return { audit: cc.store.auditLog(q) };
    }),
  );
}
