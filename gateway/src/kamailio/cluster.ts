import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { GatewayConfig } from '../config/schema.js';
import type { RuntimeDirs } from '../supervisor/types.js';

// Cluster mode of one edge node: kamailio.cfg imports `kamailio-cluster-defines.cfg`
// from its run folder when present, and that file alone switches on
// infra/kamailio/kamailio-cluster.cfg (DMQ registrations and dialogs, Path,
// several rtpengine nodes, dispatcher for trunks). Absent, the config is
// exactly the single-machine one. The input is plain data so the `cluster:`
// config section (gateway/src/config) maps onto it in one place.

export const CLUSTER_DEFINES_FILE = 'kamailio-cluster-defines.cfg';
export const DISPATCHER_LIST_FILE = 'kamailio-dispatcher.list';

export interface KamailioClusterSpec {
  /** This edge's SIP address as its peers reach it (an IP, not a name: Path hops compare it). */
  self: { address: string; port: number };
  /** Every other edge (at least one): DMQ peers, and the only sources of forwarded calls. */
  peers: { address: string; port: number }[];
  /** Media nodes: rtpengine ng sockets and their weights (calls spread by weight). */
  rtpengines: { address: string; ngPort: number; weight?: number }[];
  /** Trunks with several carrier gateways, probed with OPTIONS (a dead one is skipped). */
  trunkGateways?: {
    trunk: string;
    gateways: { host: string; port: number; transport?: 'udp' | 'tcp' }[];
  }[];
}

const IP4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function hostOf(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function checkAddress(value: string, field: string): void {
  const m = IP4.exec(value);
  const ok = m
    ? m.slice(1).every((o) => Number(o) <= 255)
    : /^[0-9a-f:]+$/i.test(value) && value.includes(':');
  if (!ok) throw new Error(`cluster: ${field} must be an IP address (got "${value}")`);
}

function checkPort(value: number, field: string): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535)
    throw new Error(`cluster: ${field} must be a port 1-65535 (got ${value})`);
}

function subnet(address: string): string {
  return address.includes(':') ? `${address}/128` : `${address}/32`;
}

/** Checks the spec; throws naming the field and what it needs. */
export function checkClusterSpec(spec: KamailioClusterSpec): void {
  checkAddress(spec.self.address, 'self.address');
  checkPort(spec.self.port, 'self.port');
  if (spec.peers.length === 0) throw new Error('cluster: peers needs at least one other edge');
  spec.peers.forEach((p, i) => {
    checkAddress(p.address, `peers[${i}].address`);
    checkPort(p.port, `peers[${i}].port`);
    if (p.address === spec.self.address && p.port === spec.self.port)
      throw new Error(`cluster: peers[${i}] is this node itself; list only the other edges`);
  });
  if (spec.rtpengines.length === 0)
    throw new Error('cluster: rtpengines needs at least one media node');
  spec.rtpengines.forEach((r, i) => {
    checkAddress(r.address, `rtpengines[${i}].address`);
    checkPort(r.ngPort, `rtpengines[${i}].ngPort`);
    if (r.weight !== undefined && (!Number.isInteger(r.weight) || r.weight < 1 || r.weight > 100))
      throw new Error(`cluster: rtpengines[${i}].weight must be an integer 1-100`);
  });
  (spec.trunkGateways ?? []).forEach((t, i) => {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(t.trunk))
      throw new Error(
        `cluster: trunkGateways[${i}].trunk must be a trunk name (lowercase letters, digits, dashes)`,
      );
    if (t.gateways.length === 0)
      throw new Error(`cluster: trunkGateways[${i}].gateways needs at least one gateway`);
    t.gateways.forEach((g, j) => {
      checkAddress(g.host, `trunkGateways[${i}].gateways[${j}].host`);
      checkPort(g.port, `trunkGateways[${i}].gateways[${j}].port`);
    });
  });
}

/** The rtpengine module's socket list: one set, every node with its weight. */
export function rtpengineSocketList(spec: KamailioClusterSpec): string {
  return spec.rtpengines
    .map((r) => `udp:${hostOf(r.address)}:${r.ngPort}${r.weight ? `=${r.weight}` : ''}`)
    .join(' ');
}

/** dispatcher's list file: `setid destination flags priority` per gateway, set = trunk's place + 1. */
export function renderDispatcherList(spec: KamailioClusterSpec): string {
  const lines = [
    '# Rendered by gateway/src/kamailio/cluster.ts: set id, gateway, flags, priority.',
  ];
  (spec.trunkGateways ?? []).forEach((t, i) => {
    for (const g of t.gateways) {
      const transport = g.transport === 'tcp' ? ';transport=tcp' : '';
      lines.push(`${i + 1} sip:${hostOf(g.host)}:${g.port}${transport} 0 0`);
    }
  });
  return lines.join('\n') + '\n';
}

/** The cluster defines file's text. */
export function renderClusterDefines(spec: KamailioClusterSpec, dirs: RuntimeDirs): string {
  checkClusterSpec(spec);
  const self = `sip:${hostOf(spec.self.address)}:${spec.self.port}`;
  const peers = [spec.self, ...spec.peers].map((p) => subnet(p.address));
  const lines = [
    '# Rendered by gateway/src/kamailio/cluster.ts: this edge is one of several (infra/kamailio/kamailio-cluster.cfg).',
    '#!define WITH_CLUSTER',
    `#!define CLUSTER_SELF "${self}"`,
    `#!define CLUSTER_NOTIFY "sip:${hostOf(spec.peers[0]!.address)}:${spec.peers[0]!.port}"`,
    `#!define CLUSTER_PEERS "${[...new Set(peers)].join(',')}"`,
    `#!redefine RTPENGINE_SOCK "${rtpengineSocketList(spec)}"`,
  ];
  const trunks = spec.trunkGateways ?? [];
  if (trunks.length > 0) {
    lines.push(
      '#!define WITH_DISPATCHER',
      `#!define DISPATCHER_LIST "${join(dirs.run, DISPATCHER_LIST_FILE)}"`,
      `#!define DISPATCHER_TRUNK_SETS "${trunks.map((t, i) => `${t.trunk}=${i + 1}`).join(';')}"`,
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * The spec from the config's `cluster:` section (undefined: a single machine).
 * No media nodes listed: this node's own rtpengine is the set.
 */
export function kamailioClusterSpec(cfg: GatewayConfig): KamailioClusterSpec | undefined {
  const c = cfg.cluster;
  if (!c) return undefined;
  return {
    self: { address: c.address ?? cfg.listenAddress, port: c.sipPort },
    peers: c.peers.map((p) => ({ address: p.address, port: p.sipPort })),
    rtpengines:
      c.rtpengines.length > 0
        ? c.rtpengines.map((r) => ({ address: r.address, ngPort: r.ngPort, weight: r.weight }))
        : [{ address: cfg.listenAddress, ngPort: cfg.rtpengine.ngPort }],
    trunkGateways: c.trunkGateways.map((t) => ({
      trunk: t.trunk,
      gateways: t.gateways.map((g) => ({ host: g.host, port: g.port, transport: g.transport })),
    })),
  };
}

/**
 * Writes the cluster defines (and dispatcher list) into dirs.run, before
 * Kamailio starts; with no spec (no `cluster:` section) removes them, so a node
 * taken out of a cluster is a single machine again at its next start.
 */
export function renderKamailioCluster(
  spec: KamailioClusterSpec | undefined,
  dirs: RuntimeDirs,
): void {
  mkdirSync(dirs.run, { recursive: true });
  const defines = join(dirs.run, CLUSTER_DEFINES_FILE);
  const list = join(dirs.run, DISPATCHER_LIST_FILE);
  if (!spec) {
    rmSync(defines, { force: true });
    rmSync(list, { force: true });
    return;
  }
  writeFileSync(defines, renderClusterDefines(spec, dirs));
  if ((spec.trunkGateways ?? []).length > 0) writeFileSync(list, renderDispatcherList(spec));
  else rmSync(list, { force: true });
}
