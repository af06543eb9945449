import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of the service; Kamailio and rtpengine figures are collected into the same registry. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gateway_' });
  return {
    registry,
    decisions: new Counter({
      name: 'gateway_decisions_total',
      help: 'Decisions by kind and outcome; source "service" answered by the service, "cache" taken by Kamailio from its decision cache (read over its RPC)',
      labelNames: ['kind', 'outcome', 'source'] as const,
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: 'gateway_decision_seconds',
      help: 'Time to answer a Kamailio decision request',
      labelNames: ['kind'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    callEvents: new Counter({
      name: 'gateway_call_events_total',
      help: 'Call-record events from Kamailio',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    eventsConnected: new Gauge({
      name: 'gateway_call_events_connected',
      help: '1 while the call-event connection from Kamailio (evapi) is open',
      registers: [registry],
    }),
    componentUp: new Gauge({
      name: 'gateway_component_up',
      help: '1 when the supervised component is running and ready',
      labelNames: ['component'] as const,
      registers: [registry],
    }),
    componentRestarts: new Counter({
      name: 'gateway_component_restarts_total',
      help: 'Restarts of a supervised component after it exited',
      labelNames: ['component'] as const,
      registers: [registry],
    }),
    wsConnections: new Gauge({
      name: 'gateway_ws_connections',
      help: 'Open SIP-over-WebSocket connections through the TLS terminator',
      registers: [registry],
    }),
    wsRejected: new Counter({
      name: 'gateway_ws_rejected_total',
      help: 'WebSocket handshakes refused, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    ccWaiting: new Gauge({
      name: 'gateway_cc_callers_waiting',
      help: 'Callers waiting in a contact-center queue now',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    ccAgents: new Gauge({
      name: 'gateway_cc_agents',
      help: 'Contact-center agents by state',
      labelNames: ['state'] as const,
      registers: [registry],
    }),
    ccQueueCalls: new Counter({
      name: 'gateway_cc_queue_calls_total',
      help: 'Queue calls by how they left the queue (answered, abandoned, overflowed, exited)',
      labelNames: ['queue', 'outcome'] as const,
      registers: [registry],
    }),
    ccOffers: new Counter({
      name: 'gateway_cc_offers_total',
      help: 'Offers of queue callers to agents, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    trunkRegistered: new Gauge({
      name: 'gateway_trunk_registered',
      help: '1 while Kamailio holds a registration with the trunk (register: true), else 0',
      labelNames: ['trunk'] as const,
      registers: [registry],
    }),
    rtpengineSessions: new Gauge({
      name: 'gateway_rtpengine_sessions',
      help: 'Calls rtpengine is anchoring now',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
