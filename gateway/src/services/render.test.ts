import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { REPO_ROOT } from '../paths.js';
import { TONE_FILE, renderServices } from './render.js';

describe('built-in echo and tone services', () => {
  it('runs two sipp UAS on their ports, echo with -rtp_echo, and makes the 30 s u-law tone', () => {
    const data = mkdtempSync(join(tmpdir(), 'services-'));
    const dirs = { root: REPO_ROOT, data, run: data, log: data };
    const cfg = parseConfig({ services: { echoPort: 7090, tonePort: 7092, mediaPortBase: 7100 } });
    const [echo, tone] = renderServices(cfg, dirs);
    expect(echo!.args).toEqual(expect.arrayContaining(['-p', '7090', '-mp', '7100', '-rtp_echo']));
    expect(echo!.args.join(' ')).toContain('infra/sipp/echo-uas.xml');
    expect(tone!.args).toEqual(expect.arrayContaining(['-p', '7092', '-mp', '7110']));
    expect(tone!.args).not.toContain('-rtp_echo');
    expect(statSync(join(data, TONE_FILE)).size).toBe(8000 * 30);
    expect(echo!.readiness).toMatchObject({ kind: 'udp', port: 7090 });
  });
});
