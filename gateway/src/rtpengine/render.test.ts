import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { ngPing, rtpengineArgs } from './render.js';

describe('rtpengine process', () => {
  it('runs userspace-only, in the foreground, with ports and timers from the config', () => {
    const args = rtpengineArgs(
      parseConfig({
        rtpengine: { ngPort: 2300, portMin: 31000, portMax: 31999, deleteDelay: 0, timeout: 45 },
      }),
    );
    expect(args).toEqual(
      expect.arrayContaining([
        '--config-file=none',
        '--foreground',
        '--table=-1',
        '--interface=127.0.0.1',
        '--listen-ng=127.0.0.1:2300',
        '--port-min=31000',
        '--port-max=31999',
        '--delete-delay=0',
        '--timeout=45',
        '--log-stderr',
      ]),
    );
  });

  it('advertises the public address in SDP when behind NAT', () => {
    const args = rtpengineArgs(
      parseConfig({
        listenAddress: '10.0.0.5',
        advertisedAddress: '203.0.113.10',
        demo: { enabled: false },
      }),
    );
    expect(args).toContain('--interface=10.0.0.5!203.0.113.10');
  });

  it('pings with a bencoded ng command', () => {
    expect(ngPing('abc').toString()).toBe('abc d7:command4:pinge');
  });
});
