import { mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killMentioning } from './processes.js';
import { startGateway, type Gateway } from '../../../gateway/src/main.js';
import { parseConfig } from '../../../gateway/src/config/load.js';
import { createLogger } from '../../../gateway/src/log.js';

// One real gateway stack (rtpengine, Kamailio, coturn, echo/tone services,
// HTTPS + WSS) for one e2e test file, on that file's own port block: e2e files
// never share a port, even when Vitest runs them at the same time. Never the
// dev stack's defaults, the integration tests' 15000-19999 or the gateway
// benchmark's 25000+.

/**
 * Port layout of e2e block `n`, 500 ports each: blocks 0..5 at 20000 + 500*n
 * (20000-22999), blocks 6..9 at 13000 + 500*(n-6) (13000-14999). The rest is
 * others' (test/README.md "Port blocks"): 15000-19999 integration files,
 * 23000-29999 benchmarks, 30000-30999 the dev stack, 31000-31999 unit tests,
 * 32768+ the kernel's ephemeral ports.
 */
export function e2ePorts(n: number) {
  if (!Number.isInteger(n) || n < 0 || n > 9) {
    throw new Error(`e2e port block ${n} does not exist (0..9, see e2ePorts)`);
  }
  const B = n <= 5 ? 20000 + 500 * n : 13000 + 500 * (n - 6);
  return {
    http: B,
    sip: B + 1,
    ws: B + 2,
    decision: B + 3,
    events: B + 4,
    ng: B + 5,
    turn: B + 6,
    callControl: B + 7,
    echo: B + 8,
    tone: B + 10,
    /** The echo/tone services' media: B+20 (echo), B+30.. (tone). */
    mediaBase: B + 20,
    /** First port for baresip / sipp endpoints the tests start themselves (B+100..B+199). */
    endpoints: B + 100,
    rtpMin: B + 200,
    rtpMax: B + 399,
    relayMin: B + 400,
    relayMax: B + 499,
  };
}

export type E2ePorts = ReturnType<typeof e2ePorts>;

/**
 * Which block each e2e file owns (one file, one block). A new e2e file adds
 * itself here with a free block and calls `startE2eStack('<its name>')`.
 */
export const E2E_BLOCKS = {
  'browser-calls': 0,
  'sip-interop': 1,
  resilience: 2,
  'agent-desktop': 3,
  'media-features': 4,
  'transfer-conference': 5,
  'supervisor-desktop': 6,
  'webrtc-recovery': 7,
  'call-quality': 8,
  'video-devices': 9,
} as const satisfies Record<string, number>;

export type E2eFile = keyof typeof E2E_BLOCKS;

/** The ports of a registered e2e file. */
export function e2ePortsFor(file: E2eFile): E2ePorts {
  const n = (E2E_BLOCKS as Record<string, number>)[file];
  if (n === undefined) {
    throw new Error(
      `e2e file "${file}" has no port block: add it to E2E_BLOCKS in test/e2e/harness/stack.ts`,
    );
  }
  return e2ePorts(n);
}

/** The softphone benchmark's block (23000-24999, apart from the e2e files so both can run at once). */
export const BENCH_PORTS: E2ePorts = {
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
  /** This stack's ports (its file's block). */
  ports: E2ePorts;
  baseUrl: string;
  sipAddress: string;
  dataDir: string;
  /** Last `lines` of every component log (for failure messages). */
  logs(lines?: number): string;
  stop(): Promise<void>;
}

/**
 * `name` is the test file's name in E2E_BLOCKS (its ports); anything else (the
 * benchmark) passes its own ports.
 */
export async function startE2eStack(
  name: E2eFile,
  overrides?: Record<string, unknown>,
): Promise<E2eStack>;
export async function startE2eStack(
  name: string,
  overrides: Record<string, unknown>,
  P: E2ePorts,
): Promise<E2eStack>;
export async function startE2eStack(
  name: string,
  overrides: Record<string, unknown> = {},
  P: E2ePorts = e2ePortsFor(name as E2eFile),
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
    ports: P,
    baseUrl: `https://127.0.0.1:${P.http}`,
    sipAddress: `127.0.0.1:${P.sip}`,
    dataDir,
    logs,
    async stop() {
      await gateway.stop();
      // Safety net: nothing started for this stack may outlive it (a leftover
      // Kamailio worker would hold the e2e SIP port for the next test file).
      const leaked = killMentioning(dataDir);
      if (leaked.length) {
        process.stderr.write(
          `[e2e] ${leaked.length} process(es) of stack ${dataDir} outlived gateway.stop(); killed them: ${leaked
            .map((p) => `${p.pid} ${p.cmd.slice(0, 60)}`)
            .join('; ')}\n`,
        );
      }
    },
  };
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
