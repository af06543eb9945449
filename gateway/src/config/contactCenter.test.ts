import { describe, expect, it } from 'vitest';
import { rtpengineArgs } from '../rtpengine/render.js';
import { recordingSpoolDir } from './contactCenter.js';
import { parseConfig } from './load.js';
import { problemsOf } from './testing/problems.js';

// The supervisors' part of the contact-center config (issue 8): defaults that
// change nothing for an existing config, cross-references, and rtpengine's
// recording flags only when a queue records.

const queues = [{ name: 'sales' }, { name: 'support' }];

describe('contactCenter supervisors config', () => {
  it('defaults: no supervisors, no recording, short abandon 5 s, MOS threshold 3.5', () => {
    const cc = parseConfig({ contactCenter: { queues } }).contactCenter;
    expect(cc.supervisors).toEqual([]);
    expect(cc.admins).toEqual([]);
    expect(cc.qualityMosThreshold).toBe(3.5);
    expect(cc.queues[0]).toMatchObject({
      shortAbandonSec: 5,
      recording: { enabled: false, retentionDays: 90 },
    });
    expect(recordingSpoolDir(cc, '/data')).toBeUndefined();
  });

  it('supervisors name existing users and queues (or *), once each', () => {
    const problems = problemsOf(() =>
      parseConfig({
        contactCenter: {
          queues,
          supervisors: [
            { username: '1001', queues: ['sales', 'billing'] },
            { username: '1001', queues: '*' },
            { username: 'ghost', queues: '*' },
          ],
          admins: ['nobody'],
        },
      }),
    );
    expect(problems.join('\n')).toContain('contactCenter.supervisors.0.queues.1');
    expect(problems.join('\n')).toContain('no queue named "billing"');
    expect(problems.join('\n')).toContain('contactCenter.supervisors.1.username');
    expect(problems.join('\n')).toContain('no user "ghost"');
    expect(problems.join('\n')).toContain('contactCenter.admins.0');
    expect(
      parseConfig({
        contactCenter: { queues, supervisors: [{ username: '1002', queues: '*' }] },
      }).contactCenter.supervisors,
    ).toEqual([{ username: '1002', queues: '*' }]);
  });

  it('a recording queue gives rtpengine the pcap method and a spool under the data dir', () => {
    const cfg = parseConfig({
      contactCenter: {
        queues: [{ name: 'sales', recording: { enabled: true, retentionDays: 30 } }],
      },
    });
    expect(recordingSpoolDir(cfg.contactCenter, '/data')).toBe('/data/recordings/spool');
    expect(rtpengineArgs(cfg, '/data')).toEqual(
      expect.arrayContaining(['--recording-dir=/data/recordings/spool', '--recording-method=pcap']),
    );
    const plain = parseConfig({ contactCenter: { queues } });
    expect(rtpengineArgs(plain, '/data').some((a) => a.startsWith('--recording'))).toBe(false);
  });
});
