import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig, TrunkConfig } from '../config/schema.js';
import type { ProcessSpec, RuntimeDirs } from '../supervisor/types.js';
import { PRESENCE_DB_FILE, ensurePresenceDb } from './presenceDb.js';

// Kamailio's part of the stack: infra/kamailio/kamailio.cfg is static and
// reads every value from `kamailio-defines.cfg`, which this file renders from
// the typed config into dirs.run. Kamailio runs with dirs.run as its working
// directory, which is where its relative `import_file` looks first.

export const DEFINES_FILE = 'kamailio-defines.cfg';

/** Folder of the db_text tables (uac_reg's `uacreg`) under dirs.run. */
export const DB_TEXT_DIR = 'kamailio-db';

/** Kamailio 5.6's http_client counts its timeout in whole seconds (no `timeout_mode` before 5.7). */
export function decisionTimeoutSeconds(timeoutMs: number): number {
  return Math.max(1, Math.ceil(timeoutMs / 1000));
}

/** Where Kamailio asks for decisions: decision.url, else the service on loopback. */
export function decisionUrl(cfg: GatewayConfig): string {
  return (cfg.decision.url ?? `http://127.0.0.1:${cfg.decision.port}`).replace(/\/+$/, '');
}

/** `udp:127.0.0.1:5060`, `tcp:[::1]:5066` */
function socket(proto: 'udp' | 'tcp', host: string, port: number): string {
  return `${proto}:${hostOf(host)}:${port}`;
}

/** An address as it goes before `:port` (IPv6 in brackets). */
function hostOf(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function quoted(value: string, what: string): string {
  if (/["\\\r\n]/.test(value))
    throw new Error(`kamailio: ${what} must not contain quotes, backslashes or newlines`);
  return `"${value}"`;
}

/** `#!substdef` replaces inside strings too; pick a delimiter the value does not contain. */
function substdef(id: string, value: string): string {
  const delimiter = ['!', '#', '%', '|', '~', '@', '^'].find((d) => !value.includes(d));
  if (!delimiter || /[\r\n"]/.test(value))
    throw new Error(`kamailio: cannot render ${id}=${value}`);
  return `#!substdef "${delimiter}${id}${delimiter}${value}${delimiter}g"`;
}

/** The defines file's text (exported for tests and the README). */
export function renderDefines(
  cfg: GatewayConfig,
  dirs: RuntimeDirs,
  secrets: { callControlToken?: string } = {},
): string {
  const listen = cfg.listenAddress;
  const advertised = cfg.advertisedAddress;
  const advertise = (port: number) =>
    advertised && advertised !== listen ? ` advertise ${advertised}:${port}` : '';
  const trusted = [...new Set(cfg.trunks.flatMap((t) => t.inboundAddresses))].map((ip) =>
    ip.includes(':') ? `${ip}/128` : `${ip}/32`,
  );
  const registering = cfg.trunks.filter((t) => t.register && t.auth);

  const lines = [
    '# Rendered by gateway/src/kamailio/render.ts from the gateway config: do not edit.',
    `#!define SIP_DOMAIN ${quoted(cfg.domain, 'domain')}`,
    `#!define WS_PORT ${cfg.sip.wsPort}`,
    `#!define DECISION_URL ${quoted(decisionUrl(cfg), 'decision.url')}`,
    `#!define DECISION_TIMEOUT_SEC ${decisionTimeoutSeconds(cfg.decision.timeoutMs)}`,
    substdef('DECISION_CACHE_SEC', String(cfg.decision.cacheSeconds)),
    `#!define EVAPI_ADDR "127.0.0.1:${cfg.decision.eventsPort}"`,
    `#!define RTPENGINE_SOCK ${quoted(socket('udp', listen, cfg.rtpengine.ngPort), 'rtpengine socket')}`,
    `#!define CHILDREN ${cfg.sip.children}`,
    `#!define DEBUG_LEVEL ${cfg.log.kamailioDebug}`,
    `#!define PIKE_DENSITY ${cfg.protection.pikeReqsDensity}`,
    `#!define AUTHFAIL_LIMIT ${cfg.protection.failedAuthLimit}`,
    `#!define MIN_EXPIRES ${cfg.sip.minExpires}`,
    `#!define MAX_EXPIRES ${cfg.sip.maxExpires}`,
    substdef('LISTEN_UDP', socket('udp', listen, cfg.sip.port) + advertise(cfg.sip.port)),
    substdef('LISTEN_TCP', socket('tcp', listen, cfg.sip.port) + advertise(cfg.sip.port)),
    substdef('LISTEN_WS', socket('tcp', listen, cfg.sip.wsPort) + advertise(cfg.sip.wsPort)),
    substdef('RUN_DIR', dirs.run),
    substdef('ASYNC_WORKERS', String(cfg.sip.asyncWorkers)),
    substdef('PIKE_BAN_SEC', '300'),
    substdef('AUTHFAIL_WINDOW', String(cfg.protection.failedAuthWindowSec)),
    // presence: its SQLite file (presenceDb.ts), the Contact of its NOTIFYs and 200s,
    // and where pua sends the call-state PUBLISHes: to ourselves, on our own socket
    `#!define PRESENCE_DB_URL ${quoted(`sqlite:///${join(dirs.run, PRESENCE_DB_FILE)}`, 'presence db path')}`,
    `#!define PRESENCE_SERVER ${quoted(`sip:${hostOf(advertised ?? listen)}:${cfg.sip.port}`, 'presence address')}`,
    `#!define PUA_PROXY ${quoted(`sip:${hostOf(listen)}:${cfg.sip.port}`, 'pua proxy')}`,
  ];
  if (advertised && advertised !== listen) {
    lines.push(
      '#!define WITH_ADVERTISED',
      `#!define ADVERTISED_ADDR ${quoted(advertised, 'advertisedAddress')}`,
    );
  }
  if (cfg.contactCenter.enabled && secrets.callControlToken) {
    lines.push(
      '#!define WITH_CALLCONTROL',
      `#!define CALLCONTROL_TOKEN ${quoted(secrets.callControlToken, 'call-control token')}`,
    );
  }
  if (trusted.length > 0) {
    lines.push('#!define WITH_TRUSTED_PEERS', `#!define TRUSTED_PEERS "${trusted.join(',')}"`);
  }
  if (registering.length > 0) {
    const contact = `${advertised ?? listen}:${cfg.sip.port}`;
    lines.push(
      '#!define WITH_TRUNK_REGISTER',
      `#!define UACREG_DB_URL ${quoted(`text://${join(dirs.run, DB_TEXT_DIR)}`, 'db_text path')}`,
      `#!define REG_CONTACT_ADDR ${quoted(contact, 'contact address')}`,
      // uac_reg has one retry interval for every registration: the most eager trunk's
      `#!define TRUNK_REG_RETRY_SEC ${Math.min(...registering.map((t) => t.registerRetrySeconds))}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** db_text escapes: backslash, colon and control characters (Kamailio db_text README §1). */
function dbText(value: string | number): string {
  return String(value).replace(/[\\:\n\r\t]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\${c}`,
  );
}

/** uac_reg's table (schema version 5, as shipped in /usr/share/kamailio/dbtext). */
export function renderUacreg(cfg: GatewayConfig): string {
  const header =
    // Optional columns may be empty, which db_text reads as NULL: declare them nullable.
    'id(int,auto) l_uuid(string) l_username(string) l_domain(string) r_username(string) r_domain(string) realm(string,null) auth_username(string) auth_password(string) auth_ha1(string,null) auth_proxy(string) expires(int) flags(int) reg_delay(int) contact_addr(string,null) socket(string,null)';
  const rows = cfg.trunks
    .filter((t): t is TrunkConfig & { auth: NonNullable<TrunkConfig['auth']> } =>
      Boolean(t.register && t.auth),
    )
    .map((t, i) => {
      const hostPort = `${t.host}:${t.port}`;
      const proxy = `sip:${hostPort}${t.transport === 'tcp' ? ';transport=tcp' : ''}`;
      return [
        i + 1,
        t.name,
        t.name,
        cfg.domain,
        t.auth.username,
        hostPort,
        t.auth.realm ?? '',
        t.auth.username,
        t.auth.password,
        '',
        proxy,
        t.registerExpires,
        0,
        0,
        '',
        '',
      ]
        .map(dbText)
        .join(':');
    });
  return [header, ...rows].join('\n') + '\n';
}

/** A SIP OPTIONS Kamailio answers itself (REQINIT: keepalive), for the readiness probe. */
export function optionsProbe(host: string, port: number, name = 'probe'): Buffer {
  const h = host.includes(':') ? `[${host}]` : host;
  const branch = `z9hG4bK-${name}-${Date.now().toString(36)}`;
  return Buffer.from(
    [
      `OPTIONS sip:${h}:${port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${h}:9;branch=${branch};rport`,
      'Max-Forwards: 70',
      `From: <sip:${name}@${h}>;tag=${name}`,
      `To: <sip:${h}:${port}>`,
      `Call-ID: ${name}-${Date.now().toString(36)}@${h}`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

/**
 * Kamailio's memory manager (shared and private memory): TLSF instead of the
 * default qm, whose allocation walk was up to 40 % of a SIP worker's CPU per
 * call (perf on `npm run bench:gateway`; DECISIONS.md "Memory manager"). The
 * benchmark's bare baselines run with the same, so its ratios compare routing.
 */
export const KAMAILIO_MEMORY_ARGS = ['-x', 'tlsf'];

/** Writes the defines (and uac_reg table) into dirs.run; returns how to run Kamailio. */
export function renderKamailio(
  cfg: GatewayConfig,
  dirs: RuntimeDirs,
  secrets: { callControlToken?: string } = {},
): ProcessSpec {
  mkdirSync(dirs.run, { recursive: true });
  // Carries the call-control token: owner-only.
  writeFileSync(join(dirs.run, DEFINES_FILE), renderDefines(cfg, dirs, secrets), { mode: 0o600 });
  chmodSync(join(dirs.run, DEFINES_FILE), 0o600);
  ensurePresenceDb(dirs.run);
  if (cfg.trunks.some((t) => t.register && t.auth)) {
    const db = join(dirs.run, DB_TEXT_DIR);
    mkdirSync(db, { recursive: true, mode: 0o700 });
    writeFileSync(
      join(db, 'version'),
      'id(int,auto) table_name(string) table_version(int)\n1:uacreg:5\n',
    );
    // Carries the trunk passwords: owner-only.
    writeFileSync(join(db, 'uacreg'), renderUacreg(cfg), { mode: 0o600 });
    chmodSync(join(db, 'uacreg'), 0o600);
  }
  const host = cfg.listenAddress;
  return {
    name: 'kamailio',
    command: 'kamailio',
    debianPackage: 'kamailio',
    args: [
      '-DD',
      '-E',
      ...KAMAILIO_MEMORY_ARGS,
      '-m',
      String(cfg.sip.sharedMemoryMb),
      '-M',
      String(cfg.sip.privateMemoryMb),
      '-f',
      join(dirs.root, 'infra', 'kamailio', 'kamailio.cfg'),
      '-w',
      dirs.run,
    ],
    ports: [
      { proto: 'udp', host, port: cfg.sip.port },
      { proto: 'tcp', host, port: cfg.sip.port },
      { proto: 'tcp', host, port: cfg.sip.wsPort },
      { proto: 'tcp', host: '127.0.0.1', port: cfg.decision.eventsPort },
    ],
    readiness: { kind: 'udp', host, port: cfg.sip.port, payload: optionsProbe(host, cfg.sip.port) },
    after: ['rtpengine'],
    // A Kamailio restarted after a crash gets the previous run's call states dropped too.
    beforeStart: () => ensurePresenceDb(dirs.run),
  };
}
