import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { Directory } from '../directory/directory.js';
import { createLogger } from '../log.js';
import { openDb } from '../store/db.js';
import { ContactCenter } from './contactCenter.js';
import { ContactCenterConfigError, Sounds } from './sounds.js';
import { FakeCallControl } from './testing/fakeCallControl.js';
import { harness, soundDirs } from './testing/harness.js';

describe('sounds', () => {
  it('bare names resolve in soundsDir / musicDir, absolute paths stay; a music folder plays in turn', () => {
    const { soundsDir, musicDir } = soundDirs();
    mkdirSync(join(musicDir, 'set'));
    for (const f of ['b.wav', 'a.wav', 'notes.txt']) writeFileSync(join(musicDir, 'set', f), '');
    const s = new Sounds(soundsDir, musicDir);
    expect(s.prompt('queue-thereare')).toBe(`${soundsDir}/queue-thereare.wav`);
    expect(s.prompt('/opt/x.wav')).toBe('/opt/x.wav');
    expect(s.music('jazz')).toEqual([`${musicDir}/jazz.wav`]);
    expect(s.music('set')).toEqual([`${musicDir}/set/a.wav`, `${musicDir}/set/b.wav`]);
    expect(s.music(join(musicDir, 'set'))).toHaveLength(2);
  });

  it('numbers as Allison digit prompts', () => {
    const s = new Sounds('/s', '/m');
    const say = (n: number) => s.number(n).map((f) => f.slice('/s/digits/'.length, -4));
    expect(say(7)).toEqual(['7']);
    expect(say(20)).toEqual(['20']);
    expect(say(42)).toEqual(['40', '2']);
    expect(say(300)).toEqual(['3', 'hundred']);
    expect(say(115)).toEqual(['1', 'hundred', '15']);
    expect(s.position(1)).toEqual(['/s/queue-youarenext.wav']);
    expect(s.estimatedWait(1).at(-1)).toBe('/s/queue-minute.wav');
  });

  it('a missing prompt or music file refuses the start, naming the config path', () => {
    const h = harness({
      ivrs: [
        {
          name: 'main',
          number: '8000',
          greeting: ['welcome', 'no-such-prompt'],
          options: { '1': { queue: 'sales' } },
        },
      ],
      queues: [{ name: 'sales', number: '8001', music: 'polka' }],
    });
    let err: unknown;
    try {
      h.cc.start();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ContactCenterConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(
      `contactCenter.ivrs[0].greeting[1]: no prompt file ${h.soundsDir}/no-such-prompt.wav`,
    );
    expect(msg).toContain('contactCenter.queues[0].music: no music file or folder "polka"');
  });

  it('a config agent who is not in the directory refuses the start', () => {
    const h = harness({
      queues: [{ name: 'sales', number: '8001' }],
      agents: [{ username: '1003', queues: [{ name: 'sales' }] }],
    });
    h.directory.removeUser('1003');
    expect(() => h.cc.start()).toThrow(/contactCenter\.agents\[0\]\.username: no user "1003"/);
  });
});

describe('the demo contact center', () => {
  it('starts with the installed Asterisk prompts and music (installed by the set-up)', async () => {
    const cfg = parseConfig({});
    const db = openDb(':memory:');
    const directory = new Directory(db, cfg.domain);
    directory.syncFromConfig(cfg);
    const callControl = new FakeCallControl();
    const cc = new ContactCenter({ cfg, db, directory, callControl, log: createLogger('fatal') });
    cc.start();
    expect(cc.listAgents().map((a) => [a.username, a.queues.map((q) => q.name)])).toEqual([
      ['1003', ['sales', 'support']],
      ['1004', ['sales', 'support']],
    ]);
    const c = callControl.call('8000');
    await new Promise((r) => setImmediate(r));
    expect(c.playing?.files.every((f) => existsSync(f))).toBe(true);
    cc.stop();
  });
});
