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
    // control sockets explicit, never sipp's default 8888
    expect(echo!.args).toEqual(expect.arrayContaining(['-cp', '7106']));
    expect(tone!.args).toEqual(expect.arrayContaining(['-cp', '7107']));
  });

  it('keeps sipp default ports (6000, 6002, 8888) free by default', () => {
    const data = mkdtempSync(join(tmpdir(), 'services-'));
    const dirs = { root: REPO_ROOT, data, run: data, log: data };
    const specs = renderServices(parseConfig({}), dirs);
    const used = specs.flatMap((s) => [
      ...s.ports.map((p) => p.port),
      ...s.args.flatMap((a, i) => (['-mp', '-cp', '-p'].includes(s.args[i - 1] ?? '') ? [a] : [])),
    ]);
    for (const p of [6000, 6002, 8888]) {
      expect(used.map(String)).not.toContain(String(p));
    }
    expect(specs[0]!.args).toEqual(expect.arrayContaining(['-mp', '5100', '-cp', '5106']));
    expect(specs[1]!.args).toEqual(expect.arrayContaining(['-mp', '5110', '-cp', '5107']));
  });
});
