import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig } from '../config/schema.js';
import type { ProcessSpec, RuntimeDirs } from '../supervisor/types.js';

// coturn for browsers that cannot reach rtpengine directly (symmetric NAT,
// UDP blocked). Credentials are ephemeral (TURN REST API): the service hands
// them out per session; the static secret never leaves the server.

export { turnCredentials } from './credentials.js';

export const TEMPLATE = join('infra', 'coturn', 'turnserver.conf.tmpl');

/** A STUN Binding Request: any TURN server answers it without credentials. */
export function stunBindingRequest(): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(0x0001, 0); // Binding Request
  b.writeUInt16BE(0, 2); // no attributes
  b.writeUInt32BE(0x2112a442, 4); // magic cookie (RFC 5389)
  b.write('gatewayready', 8, 'latin1'); // 12-byte transaction id
  return b;
}

function isLoopback(ip: string): boolean {
  return /^127\./.test(ip) || ip === '::1';
}

export function renderTurnConfig(
  cfg: GatewayConfig,
  dirs: RuntimeDirs,
  secret: string,
  template = readFileSync(join(dirs.root, TEMPLATE), 'utf8'),
): string {
  if (/[\r\n]/.test(secret)) throw new Error('turn secret must be one line');
  const listen = cfg.listenAddress;
  const media = [
    ...new Set([listen, cfg.advertisedAddress].filter((a): a is string => Boolean(a))),
  ];
  const peerRules = [
    'denied-peer-ip=0.0.0.0-255.255.255.255',
    'denied-peer-ip=::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    ...media.map((ip) => `allowed-peer-ip=${ip}`),
    ...(isLoopback(listen) ? ['allow-loopback-peers'] : []),
  ];
  const values: Record<string, string> = {
    LISTEN_IP: listen,
    PORT: String(cfg.turn.port),
    EXTERNAL_IP:
      cfg.advertisedAddress && cfg.advertisedAddress !== listen
        ? `external-ip=${cfg.advertisedAddress}/${listen}`
        : '',
    REALM: cfg.domain,
    SECRET: secret,
    RELAY_MIN: String(cfg.turn.relayPortMin),
    RELAY_MAX: String(cfg.turn.relayPortMax),
    PEER_RULES: peerRules.join('\n'),
    PID_FILE: join(dirs.run, 'turnserver.pid'),
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`turnserver template: unknown placeholder ${name}`);
    return v;
  });
}

export function renderCoturn(cfg: GatewayConfig, dirs: RuntimeDirs, secret: string): ProcessSpec {
  const file = join(dirs.run, 'turnserver.conf');
  // Holds the shared secret: owner-only.
  writeFileSync(file, renderTurnConfig(cfg, dirs, secret), { mode: 0o600 });
  chmodSync(file, 0o600);
  const host = cfg.listenAddress;
  return {
    name: 'coturn',
    command: 'turnserver',
    debianPackage: 'coturn',
    args: ['-c', file],
    ports: [
      { proto: 'udp', host, port: cfg.turn.port },
      { proto: 'tcp', host, port: cfg.turn.port },
    ],
    readiness: { kind: 'udp', host, port: cfg.turn.port, payload: stunBindingRequest() },
  };
}
