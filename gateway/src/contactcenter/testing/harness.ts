import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseConfig } from '../../config/load.js';
import type { GatewayConfig } from '../../config/schema.js';
import { Directory } from '../../directory/directory.js';
import { createLogger } from '../../log.js';
import { createMetrics } from '../../metrics.js';
import { openDb, type Db } from '../../store/db.js';
import { ContactCenter } from '../contactCenter.js';
import { ANNOUNCEMENT_PROMPTS, DEFAULT_MUSIC } from '../sounds.js';
import { FakeCallControl } from './fakeCallControl.js';

// One contact center over an in-memory store and a fake call-control tier,
// with prompt and music folders made up in a temp dir (only names that exist
// there pass the start-up check).

export const PROMPTS = [
  ...ANNOUNCEMENT_PROMPTS,
  'demo-thanks',
  'vm-press',
  'pm-invalid-option',
  'welcome',
];
export const MUSIC = [DEFAULT_MUSIC, 'jazz'];

export function soundDirs(): { soundsDir: string; musicDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'cc-sounds-'));
  const soundsDir = join(root, 'sounds');
  const musicDir = join(root, 'moh');
  for (const p of PROMPTS) touch(join(soundsDir, `${p}.wav`));
  for (const m of MUSIC) touch(join(musicDir, `${m}.wav`));
  return { soundsDir, musicDir };
}

function touch(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, '');
}

export interface Harness {
  cfg: GatewayConfig;
  db: Db;
  directory: Directory;
  callControl: FakeCallControl;
  cc: ContactCenter;
  metrics: ReturnType<typeof createMetrics>;
  soundsDir: string;
  musicDir: string;
  /** A new ContactCenter over the same store (a service restart). */
  restart(): ContactCenter;
}

/** `contactCenter` is merged over sound folders; users are the demo ones (1001-1004). */
export function harness(contactCenter: Record<string, unknown>, opts: { db?: Db } = {}): Harness {
  const dirs = soundDirs();
  const cfg = parseConfig({
    contactCenter: { ...dirs, ...contactCenter },
    log: { level: 'fatal' },
  });
  const db = opts.db ?? openDb(':memory:');
  const directory = new Directory(db, cfg.domain);
  directory.syncFromConfig(cfg);
  const log = createLogger('fatal');
  // Recordings and rtpengine's spool go here, never into the checkout.
  const dataDir = mkdtempSync(join(tmpdir(), 'cc-data-'));
  const metrics = createMetrics();
  const make = () => {
    const callControl = new FakeCallControl();
    const cc = new ContactCenter({ cfg, db, directory, callControl, log, metrics, dataDir });
    return { callControl, cc };
  };
  const first = make();
  const h: Harness = {
    cfg,
    db,
    directory,
    ...first,
    metrics,
    ...dirs,
    restart() {
      h.cc.stop();
      const next = make();
      h.cc = next.cc;
      h.callControl = next.callControl;
      next.cc.start();
      return next.cc;
    },
  };
  return h;
}
