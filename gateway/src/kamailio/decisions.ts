import Fastify, { type FastifyInstance } from 'fastify';
import type { Router, RequestFacts } from '../routing/decide.js';
import type { CallRecords } from '../records/callRecords.js';
import type { Metrics } from '../metrics.js';
import type { Logger } from '../log.js';

// The TypeScript side of DECISIONS.md: a loopback-only HTTP server Kamailio's
// async workers ask. Hot path: no request logging, no body parsing.

type Query = Record<string, string | undefined>;

const str = (q: Query, k: string): string => q[k] ?? '';

export function createDecisionServer(deps: {
  router: Router;
  records: CallRecords;
  metrics: Metrics;
  log: Logger;
}): FastifyInstance {
  const { router, records, metrics, log } = deps;
  const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });

  app.get('/kamailio/v1/register', async (req) => {
    const end = metrics.decisionSeconds.startTimer({ kind: 'register' });
    const q = req.query as Query;
    const answer = router.registration({
      authUser: str(q, 'auth_user'),
      realm: str(q, 'realm'),
      aorUser: str(q, 'aor_user'),
    });
    metrics.decisions.inc({
      kind: 'register',
      outcome: 'ha1' in answer ? 'ha1' : 'reject',
      source: 'service',
    });
    end();
    return answer;
  });

  app.get('/kamailio/v1/request', async (req) => {
    const end = metrics.decisionSeconds.startTimer({ kind: 'request' });
    const q = req.query as Query;
    const facts: RequestFacts = {
      method: str(q, 'method'),
      authUser: str(q, 'auth_user'),
      realm: str(q, 'realm'),
      fromUser: str(q, 'from_user'),
      ruriUser: str(q, 'ruri_user'),
      ruriHost: str(q, 'ruri_host'),
      ruriPort: str(q, 'ruri_port') || undefined,
      srcIp: str(q, 'src_ip'),
      proto: str(q, 'proto').toLowerCase(),
      fromCallControl: str(q, 'callcontrol') === '1',
    };
    const decision = router.decide(facts);
    const callId = str(q, 'call_id');
    if (facts.method === 'INVITE' && callId && decision.direction !== 'rejected') {
      records.noteDecision(
        callId,
        decision.direction,
        decision.target.kind === 'trunk' ? decision.target.trunk : undefined,
      );
    }
    metrics.decisions.inc({
      kind: 'request',
      outcome: `${decision.caller.kind}/${decision.target.kind}`,
      source: 'service',
    });
    log.debug(
      {
        callId,
        method: facts.method,
        caller: decision.caller.kind,
        target: decision.target.kind,
        ruri: facts.ruriUser,
      },
      'routing decision',
    );
    end();
    // Never log this object: it carries the HA1 and trunk credentials.
    return { caller: decision.caller, target: decision.target };
  });

  return app;
}
