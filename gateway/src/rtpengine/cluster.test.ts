import { describe, expect, it } from 'vitest';
import { mediaNodeArgs, mediaNodeEnv, redisArgs, type MediaNodeSpec } from './cluster.js';

const spec: MediaNodeSpec = {
  own: { name: 'pub1', address: '192.0.2.101' },
  others: [{ name: 'pub2', address: '192.0.2.102' }],
  ng: { address: '192.0.2.21', port: 2223 },
  redis: { host: '192.0.2.30', port: 6379, password: 'redis-secret' },
  db: 1,
  otherDbs: [2],
  portMin: 40000,
  portMax: 40999,
};

describe('rtpengine media node (cluster)', () => {
  it('stores its calls in its own Redis database and follows the others', () => {
    const args = mediaNodeArgs(spec);
    expect(args).toContain('--redis=192.0.2.30:6379/1');
    expect(args).toContain('--redis-write=192.0.2.30:6379/1');
    expect(args).toContain('--subscribe-keyspace=2');
    expect(args).toContain('--active-switchover');
    // its own floating address first (new calls), the others' for restored calls
    expect(args.filter((a) => a.startsWith('--interface='))).toEqual([
      '--interface=pub1/192.0.2.101',
      '--interface=pub2/192.0.2.102',
    ]);
    expect(args).toContain('--listen-ng=192.0.2.21:2223');
  });

  it('keeps the Redis password out of the process list', () => {
    expect(mediaNodeArgs(spec).join(' ')).not.toContain('redis-secret');
    expect(mediaNodeEnv(spec)).toEqual({
      RTPENGINE_REDIS_AUTH_PW: 'redis-secret',
      RTPENGINE_REDIS_WRITE_AUTH_PW: 'redis-secret',
    });
  });

  it("refuses to follow its own database as another node's", () => {
    expect(() => mediaNodeArgs({ ...spec, otherDbs: [1] })).toThrow(/db 1 is this node's own/);
  });

  it('runs Redis with keyspace notifications (what --subscribe-keyspace needs)', () => {
    const args = redisArgs({ address: '192.0.2.30', port: 6379, dir: '/tmp/r' });
    expect(args.join(' ')).toContain('--notify-keyspace-events KEA');
    expect(args.join(' ')).toContain('--bind 192.0.2.30');
  });
});
