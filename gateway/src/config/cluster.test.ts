import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from './load.js';
import { problemsOf } from './testing/problems.js';

// The cluster section (issue 10): absent by default, and a malformed one is
// refused naming the field and the fix, without echoing a database password.

const good = {
  nodeName: 'edge-a',
  address: '10.0.0.11',
  peers: [{ name: 'edge-b', address: '10.0.0.12' }],
  databaseUrl: 'postgres://gateway:s3cret@10.0.0.5:5432/gateway',
  redisUrl: 'redis://10.0.0.5:6379/0',
};

describe('cluster config', () => {
  it('is absent by default: the single-machine default on SQLite', () => {
    expect(parseConfig({}).cluster).toBeUndefined();
  });

  it('takes node name, peers, database and Redis URLs, with defaults', () => {
    expect(parseConfig({ cluster: good }).cluster).toEqual({
      ...good,
      sipPort: 5060,
      peers: [{ name: 'edge-b', address: '10.0.0.12', sipPort: 5060 }],
      rtpengines: [],
      trunkGateways: [],
      wsUrls: [],
    });
  });

  it('takes the edges’ WSS URLs for the softphones, and refuses one that is not ws(s)://', () => {
    const edges = ['wss://edge-a.example.com/ws', 'wss://edge-b.example.com/ws'];
    expect(parseConfig({ cluster: { ...good, wsUrls: edges } }).cluster?.wsUrls).toEqual(edges);
    const problems = problemsOf(() =>
      parseConfig({ cluster: { ...good, wsUrls: ['https://edge-b.example.com/ws'] } }),
    );
    expect(problems.join('\n')).toContain('cluster.wsUrls.0');
    expect(problems.join('\n')).toContain('wss://edge-a.example.com/ws');
  });

  it('refuses a database URL that is not PostgreSQL, naming the field and the fix, not the URL', () => {
    const problems = problemsOf(() =>
      parseConfig({ cluster: { ...good, databaseUrl: 'mysql://root:hunter22@db/gw' } }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('cluster.databaseUrl');
    expect(problems[0]).toContain('postgres://gateway@10.0.0.5:5432/gateway');
    expect(problems[0]).not.toContain('hunter22');
  });

  it('refuses a missing database URL, a bad node name, a bad Redis URL and a bad peer', () => {
    const problems = problemsOf(() =>
      parseConfig({
        cluster: {
          nodeName: 'Edge_A',
          address: '10.0.0.11',
          peers: [{ name: 'edge-b', address: 'not-an-ip' }],
          redisUrl: 'http://10.0.0.5:6379',
        },
      }),
    ).join('\n');
    expect(problems).toContain('cluster.nodeName: a DNS label');
    expect(problems).toContain('cluster.peers.0.address: an IPv4 or IPv6 address');
    expect(problems).toContain('cluster.redisUrl: must be a redis:// or rediss:// URL');
    expect(problems).toMatch(/cluster\.databaseUrl: .*expected string/);
  });

  it('refuses this node among its peers and a peer given twice', () => {
    const problems = problemsOf(() =>
      parseConfig({
        cluster: {
          ...good,
          peers: [
            { name: 'edge-a', address: '10.0.0.11' },
            { name: 'edge-b', address: '10.0.0.12' },
            { name: 'edge-b', address: '10.0.0.13' },
            { name: 'edge-c', address: '10.0.0.11' },
          ],
        },
      }),
    ).join('\n');
    expect(problems).toContain(
      `cluster.peers.0.name: "edge-a" is this node's own nodeName; list only the other nodes`,
    );
    expect(problems).toContain('cluster.peers.2.name: duplicate peer "edge-b"');
    expect(problems).toContain(
      "cluster.peers.3.address: 10.0.0.11:5060 is this node's own address and port",
    );
  });

  it('refuses an unknown key with its spelling fix', () => {
    const problems = problemsOf(() => parseConfig({ cluster: { ...good, databaseURL: 'x' } }));
    expect(problems.join('\n')).toContain('cluster: ');
    expect(problems.join('\n')).toContain('remove databaseURL');
  });

  it('media nodes and trunk gateways, a trunk gateway list naming a configured trunk', () => {
    const trunks = [{ name: 'carrier', host: '192.0.2.10' }];
    const cfg = parseConfig({
      trunks,
      cluster: {
        ...good,
        rtpengines: [{ address: '10.0.0.21' }, { address: '10.0.0.22', ngPort: 2224, weight: 2 }],
        trunkGateways: [
          { trunk: 'carrier', gateways: [{ host: '192.0.2.10' }, { host: '192.0.2.11' }] },
        ],
      },
    }).cluster!;
    expect(cfg.rtpengines).toEqual([
      { address: '10.0.0.21', ngPort: 2223, weight: 1 },
      { address: '10.0.0.22', ngPort: 2224, weight: 2 },
    ]);
    expect(cfg.trunkGateways[0]!.gateways[1]).toEqual({
      host: '192.0.2.11',
      port: 5060,
      transport: 'udp',
    });
    const shape = problemsOf(() =>
      parseConfig({
        trunks,
        cluster: {
          ...good,
          rtpengines: [{ address: 'media-1' }],
          trunkGateways: [{ trunk: 'carrier', gateways: [] }],
        },
      }),
    ).join('\n');
    expect(shape).toContain('cluster.rtpengines.0.address: an IPv4 or IPv6 address');
    expect(shape).toContain('cluster.trunkGateways.0.gateways: at least one gateway');
    // Cross-references are checked once every field is well formed.
    const reference = problemsOf(() =>
      parseConfig({
        trunks,
        cluster: {
          ...good,
          trunkGateways: [{ trunk: 'other', gateways: [{ host: '192.0.2.10' }] }],
        },
      }),
    );
    expect(reference).toEqual([
      expect.stringContaining(
        'cluster.trunkGateways.0.trunk: no trunk named "other" in trunks; use one of: carrier',
      ) as string,
    ]);
  });

  it('takes the database URL from the environment (no password in the file)', () => {
    const cfg = loadConfig({
      env: {
        GATEWAY_CLUSTER__NODE_NAME: 'edge-b',
        GATEWAY_CLUSTER__ADDRESS: '10.0.0.12',
        GATEWAY_CLUSTER__DATABASE_URL: 'postgresql://gw:pw@127.0.0.1:5432/gw',
      },
    });
    expect(cfg.cluster?.nodeName).toBe('edge-b');
    expect(cfg.cluster?.databaseUrl).toBe('postgresql://gw:pw@127.0.0.1:5432/gw');
  });
});
