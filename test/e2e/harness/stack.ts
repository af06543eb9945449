import { mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../../gateway/src/main.js';
import { parseConfig } from '../../../gateway/src/config/load.js';
import { createLogger } from '../../../gateway/src/log.js';

// One real gateway stack (rtpengine, Kamailio, coturn, echo/tone services,
// HTTPS + WSS) for one e2e test file, on the e2e port block (20000-24999):
// never the dev stack's defaults, the integration tests' 15000-19999 or the
// gateway benchmark's 25000+.

export const E2E_PORTS = {
  http: 20443,
  sip: 20060,
  ws: 20066,
  decision: 20081,
  events: 20082,
  ng: 20223,
  rtpMin: 21000,
  rtpMax: 21999,
  turn: 20478,
  relayMin: 22000,
  relayMax: 22099,
  echo: 20090,
  tone: 20092,
  mediaBase: 20300,
  callControl: 20070,
  /** First port for baresip / sipp endpoints the tests start themselves. */
  endpoints: 20500,
} as const;

/** The softphone benchmark's block (also 20000-24999, apart from the e2e tests so both can run at once). */
export const BENCH_PORTS: { [K in keyof typeof E2E_PORTS]: number } = {
  http: 24443,
  sip: 24060,
  ws: 24066,
  decision: 24081,
  events: 24082,
  ng: 24223,
  rtpMin: 23000,
  rtpMax: 23999,
  turn: 24478,
  relayMin: 24100,
  relayMax: 24199,
  echo: 24090,
  tone: 24092,
  mediaBase: 24300,
  callControl: 24070,
  endpoints: 24500,
};

export interface E2eStack {
  gateway: Gateway;
  baseUrl: string;
  sipAddress: string;
  dataDir: string;
  /** Last `lines` of every component log (for failure messages). */
  logs(lines?: number): string;
  stop(): Promise<void>;
}

export async function startE2eStack(
  name: string,
  overrides: Record<string, unknown> = {},
  P: { [K in keyof typeof E2E_PORTS]: number } = E2E_PORTS,
): Promise<E2eStack> {
  const dataDir = mkdtempSync(join(tmpdir(), `e2e-${name}-`));
  const cfg = parseConfig({
    dataDir,
    http: { port: P.http },
    sip: { port: P.sip, wsPort: P.ws },
    decision: { port: P.decision, eventsPort: P.events },
    rtpengine: { ngPort: P.ng, portMin: P.rtpMin, portMax: P.rtpMax },
    turn: { port: P.turn, relayPortMin: P.relayMin, relayPortMax: P.relayMax },
    services: { echoPort: P.echo, tonePort: P.tone, mediaPortBase: P.mediaBase },
    contactCenter: { port: P.callControl },
    log: {
      level: process.env.E2E_LOG_LEVEL ?? 'warn',
      kamailioDebug: Number(process.env.E2E_KAMAILIO_DEBUG ?? 1),
    },
    ...overrides,
  });
  const gateway = await startGateway(cfg, {
    log: createLogger(process.env.E2E_LOG_LEVEL ?? 'warn'),
  });
  const logs = (lines = 60) => tailLogs(join(dataDir, 'log'), lines);
  return {
    gateway,
    baseUrl: `https://127.0.0.1:${P.http}`,
    sipAddress: `127.0.0.1:${P.sip}`,
    dataDir,
    logs,
    async stop() {
      await gateway.stop();
      // Safety net: nothing started for this stack may outlive it (a leftover
      // Kamailio worker would hold the e2e SIP port for the next test file).
      const leaked = processesMentioning(dataDir);
      if (leaked.length) {
        process.stderr.write(
          `[e2e] ${leaked.length} process(es) of stack ${dataDir} outlived gateway.stop(); killing them: ${leaked
            .map((p) => `${p.pid} ${p.cmd.slice(0, 60)}`)
            .join('; ')}\n`,
        );
        for (const p of leaked) {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    },
  };
}

/** Processes whose command line contains `needle` (a stack's unique dataDir). */
export function processesMentioning(needle: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(needle)) out.push({ pid: Number(d), cmd });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

export function tailLogs(dir: string, lines = 60): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => {
      const all = readFileSync(join(dir, f), 'utf8').trimEnd().split('\n');
      return `--- ${f} (last ${Math.min(lines, all.length)} of ${all.length} lines)\n${all.slice(-lines).join('\n')}`;
    })
    .join('\n');
}
