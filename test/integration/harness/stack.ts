import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../gateway/src/config/load.js';
import type { GatewayConfig } from '../../../gateway/src/config/schema.js';
import { startGateway, REPO_ROOT, type Gateway } from '../../../gateway/src/main.js';
import { createLogger } from '../../../gateway/src/log.js';
import { stopAllSipp } from './sipp.js';

// One real stack per test file: rtpengine, Kamailio, the echo/tone sipp
// services, the TypeScript decision service and HTTPS terminator, all on
// loopback ports derived from a base port unique to the file, so files never
// collide with each other, with the lead's defaults (5060...) or with the e2e
// tests (20000+).

/** Port layout from a file's base port B (B = 15000 + 250*n). */
export function portsFor(base: number) {
  return {
    sip: base,
    ws: base + 1,
    decision: base + 2,
    ng: base + 3,
    http: base + 4,
    echo: base + 5,
    tone: base + 6,
    /** A port for a test's own helper server (slow/dead decision service...). */
    helper: base + 7,
    turn: base + 8,
    events: base + 9,
    /** sipp endpoints and Node SIP clients: base+10..base+39. */
    client: (i: number) => base + 10 + i,
    /** services media: echo base+40/42, tone base+50.. */
    servicesMedia: base + 40,
    /** sipp endpoints' media: base+60..base+99. */
    clientMedia: (i: number) => base + 60 + i * 4,
    rtpMin: base + 100,
    rtpMax: base + 199,
    /** The call-control tier's SIP/TCP listener (contact center). */
    callControl: base + 245,
  };
}

export type Ports = ReturnType<typeof portsFor>;

export interface Stack {
  gw: Gateway;
  cfg: GatewayConfig;
  ports: Ports;
  /** Folder with this file's config output and component logs. */
  dataDir: string;
  stop(): Promise<void>;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> | T[K] : T[K] };

/** Test config: everything on this file's ports; `overrides` merged on top (arrays replaced). */
export function testConfig(name: string, base: number, overrides: DeepPartial<GatewayConfig> = {}) {
  const ports = portsFor(base);
  const dataDir = join(REPO_ROOT, 'test', 'artifacts', 'integration', name);
  const raw: Record<string, unknown> = {
    dataDir,
    http: { port: ports.http },
    sip: {
      port: ports.sip,
      wsPort: ports.ws,
      children: 2,
      asyncWorkers: 4,
      sharedMemoryMb: 128,
      privateMemoryMb: 16,
    },
    decision: { port: ports.decision, eventsPort: ports.events, timeoutMs: 1000 },
    rtpengine: { ngPort: ports.ng, portMin: ports.rtpMin, portMax: ports.rtpMax, deleteDelay: 0 },
    turn: { enabled: false, port: ports.turn, relayPortMin: base + 200, relayPortMax: base + 240 },
    services: { echoPort: ports.echo, tonePort: ports.tone, mediaPortBase: ports.servicesMedia },
    contactCenter: { port: ports.callControl },
    protection: { pikeReqsDensity: 1000, failedAuthLimit: 50 },
    log: { level: 'warn', kamailioDebug: 1 },
  };
  const merged = merge(raw, overrides as Record<string, unknown>);
  return { cfg: parseConfig(merged, `integration:${name}`), ports, dataDir };
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      prev &&
      typeof prev === 'object' &&
      !Array.isArray(prev)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

export async function startStack(
  name: string,
  base: number,
  overrides: DeepPartial<GatewayConfig> = {},
  opts: { withoutDecisionServer?: boolean } = {},
): Promise<Stack> {
  const { cfg, ports, dataDir } = testConfig(name, base, overrides);
  // A fresh store and logs per run; the TLS key is cheap to remake.
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const gw = await startGateway(cfg, {
    log: createLogger(process.env.TEST_LOG_LEVEL ?? 'warn'),
    withoutDecisionServer: opts.withoutDecisionServer,
  });
  return {
    gw,
    cfg,
    ports,
    dataDir,
    async stop() {
      await stopAllSipp();
      await gw.stop();
    },
  };
}

/** Kamailio's log so far (for failure messages). */
export function logOf(stack: Stack, component = 'kamailio'): string {
  return join(stack.gw.dirs.log, `${component}.log`);
}
