import { z } from 'zod';

// Cluster mode (issue 10): several nodes, each running this service, sharing
// one PostgreSQL (directory, call records, contact-center state) and one
// Redis (rtpengine's keyspace). Absent: the single-machine default (SQLite).

/** A node name: a DNS label, so it can be used in hostnames, logs and metrics. */
const nodeName = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'a DNS label: lowercase letters, digits and dashes, e.g. "edge-a"',
  );

/**
 * URL checked by scheme, without echoing it in the message: a database URL
 * often carries a password, and config errors are printed and logged.
 */
function urlWithScheme(schemes: string[], example: string) {
  return z.string().superRefine((value, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      // reported below
    }
    if (!url || !schemes.includes(url.protocol.slice(0, -1)) || !url.hostname) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a ${schemes.map((s) => `${s}://`).join(' or ')} URL with a host, e.g. ${example}`,
      });
    }
  });
}

const ipAddress = z.union([z.ipv4(), z.ipv6()], 'an IPv4 or IPv6 address, e.g. 10.0.0.12');
const port = z.number().int().min(1).max(65535);

const peerSchema = z.strictObject({
  /** The peer's cluster.nodeName. */
  name: nodeName,
  /** Where the peer's Kamailio and service are reached (its cluster address). */
  address: ipAddress,
  /** The peer's SIP port (Kamailio DMQ talks SIP between nodes). */
  sipPort: port.default(5060),
});

const mediaNodeSchema = z.strictObject({
  /** Where this media node's rtpengine takes ng commands. */
  address: ipAddress,
  ngPort: port.default(2223),
  /** Calls are spread over media nodes by weight. */
  weight: z.number().int().min(1).max(100).default(1),
});

const trunkGatewaysSchema = z.strictObject({
  /** A trunk of the `trunks:` section. */
  trunk: z.string().min(1),
  /** Its carrier's gateways, probed with OPTIONS; a dead one is skipped. */
  gateways: z
    .array(
      z.strictObject({
        host: z.string().min(1),
        port: port.default(5060),
        transport: z.enum(['udp', 'tcp']).default('udp'),
      }),
    )
    .min(1, 'at least one gateway'),
});

export const clusterSchema = z
  .strictObject({
    /** This node's name, unique in the cluster (call records and logs say which node). */
    nodeName,
    /**
     * This node's address as its peers reach it (an IP: Kamailio's Path hops
     * compare it). Default: listenAddress.
     */
    address: ipAddress.optional(),
    /** This node's SIP port as its peers reach it. */
    sipPort: port.default(5060),
    /** The other nodes (not this one). */
    peers: z.array(peerSchema).default([]),
    /** The media nodes (rtpengine) Kamailio spreads calls over; empty: this node's own only. */
    rtpengines: z.array(mediaNodeSchema).default([]),
    /** Trunks reached through several carrier gateways (Kamailio dispatcher). */
    trunkGateways: z.array(trunkGatewaysSchema).default([]),
    /**
     * The shared PostgreSQL: directory, call records, queue and agent state, and
     * LISTEN/NOTIFY for live fan-out. Give it through GATEWAY_CLUSTER__DATABASE_URL
     * when it carries a password.
     */
    databaseUrl: urlWithScheme(
      ['postgres', 'postgresql'],
      'postgres://gateway@10.0.0.5:5432/gateway',
    ),
    /** rtpengine's Redis (call state replicated between media nodes). */
    redisUrl: urlWithScheme(['redis', 'rediss'], 'redis://10.0.0.5:6379/0').optional(),
    /**
     * Every edge's WSS URL as browsers reach it, this node's first: sent to the
     * softphones (client-config `wsUrls`), which move to the next edge when
     * theirs dies. Empty: only this node's own URL.
     */
    wsUrls: z.array(urlWithScheme(['wss', 'ws'], 'wss://edge-a.example.com/ws')).default([]),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>([c.nodeName]);
    c.peers.forEach((p, i) => {
      if (seen.has(p.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['peers', i, 'name'],
          message:
            p.name === c.nodeName
              ? `"${p.name}" is this node's own nodeName; list only the other nodes`
              : `duplicate peer "${p.name}"; give each node once`,
        });
      }
      seen.add(p.name);
      if (c.address && p.address === c.address && p.sipPort === c.sipPort) {
        ctx.addIssue({
          code: 'custom',
          path: ['peers', i, 'address'],
          message: `${p.address}:${p.sipPort} is this node's own address and port; list only the other nodes`,
        });
      }
    });
  });

/** Cross-references to the rest of the config (called from schema.ts). */
export function checkCluster(
  c: ClusterConfig | undefined,
  trunkNames: Set<string>,
  issue: (path: (string | number)[], message: string) => void,
): void {
  c?.trunkGateways.forEach((t, i) => {
    if (!trunkNames.has(t.trunk))
      issue(
        ['cluster', 'trunkGateways', i, 'trunk'],
        `no trunk named "${t.trunk}" in trunks; use one of: ${[...trunkNames].join(', ') || '(none configured)'}`,
      );
  });
}

export type ClusterConfig = z.infer<typeof clusterSchema>;
