// A media node of a cluster: rtpengine with its calls in Redis, so another
// node carries them on when it dies (rtpengine's own keyspace replication:
// https://github.com/sipwise/rtpengine/wiki/Redis-keyspace-notifications).
//
// Each node owns a Redis database and a media address of its own (a floating
// address, moved by keepalived/VRRP or by hand when its node dies). Every node
// also declares the other nodes' floating addresses as extra interfaces and
// subscribes to their databases: it holds a copy of their calls ("foreign"
// calls) with the same ports on the same addresses, and once the dead node's
// address moves to it, the media of those calls arrives and is relayed with no
// new offer and no re-INVITE. The binding to an address not (yet) present
// needs net.ipv4.ip_nonlocal_bind=1 on the node.

export interface MediaNodeSpec {
  /** This node's floating media address and the interface name its calls are stored under. */
  own: { name: string; address: string };
  /** The other nodes' floating addresses (their calls are kept here too). */
  others: { name: string; address: string }[];
  /** ng control (Kamailio's rtpengine set points here): the node's fixed address. */
  ng: { address: string; port: number };
  redis: { host: string; port: number; password?: string };
  /** This node's Redis database; the others' are subscribed to. */
  db: number;
  otherDbs: number[];
  portMin: number;
  portMax: number;
  /** Seconds without media before a call is dropped. */
  timeout?: number;
  logLevel?: number;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** rtpengine's command line for one media node (userspace forwarding, foreground). */
export function mediaNodeArgs(spec: MediaNodeSpec): string[] {
  if (spec.otherDbs.includes(spec.db))
    throw new Error(`cluster media node: db ${spec.db} is this node's own, not another node's`);
  // a password goes through the environment (mediaNodeEnv), never the process list
  const redis = hostPort(spec.redis.host, spec.redis.port);
  return [
    '--config-file=none',
    '--foreground',
    '--table=-1',
    // the first interface takes this node's new calls; the others are there for restored calls
    `--interface=${spec.own.name}/${spec.own.address}`,
    ...spec.others.map((o) => `--interface=${o.name}/${o.address}`),
    `--listen-ng=${hostPort(spec.ng.address, spec.ng.port)}`,
    `--port-min=${spec.portMin}`,
    `--port-max=${spec.portMax}`,
    // calls read at start-up and written on every change: this node's own database
    `--redis=${redis}/${spec.db}`,
    `--redis-write=${redis}/${spec.db}`,
    // the other nodes' calls, followed as they change (Redis keyspace notifications)
    ...spec.otherDbs.map((db) => `--subscribe-keyspace=${db}`),
    // media arriving for a copied call makes this node its owner (no ng command needed)
    '--active-switchover',
    // a media node starts even while Redis is down (it then has nothing to share)
    '--no-redis-required',
    '--redis-connect-timeout=1000',
    '--delete-delay=0',
    `--timeout=${spec.timeout ?? 60}`,
    '--log-stderr',
    `--log-level=${spec.logLevel ?? 5}`,
    '--num-threads=2',
  ];
}

/** The Redis password for both connections, when Redis has one. */
export function mediaNodeEnv(spec: MediaNodeSpec): Record<string, string> {
  return spec.redis.password
    ? {
        RTPENGINE_REDIS_AUTH_PW: spec.redis.password,
        RTPENGINE_REDIS_WRITE_AUTH_PW: spec.redis.password,
      }
    : {};
}

/** redis-server's command line for the cluster's Redis (keyspace notifications on). */
export function redisArgs(opts: { address: string; port: number; dir: string }): string[] {
  return [
    '--bind',
    opts.address,
    '--port',
    String(opts.port),
    '--dir',
    opts.dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--protected-mode',
    'no',
    // rtpengine's --subscribe-keyspace needs keyspace events for its keys
    '--notify-keyspace-events',
    'KEA',
    '--databases',
    '16',
  ];
}
