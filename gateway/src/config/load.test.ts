import { describe, it, expect } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseConfig } from './load.js';
import { problemsOf } from './testing/problems.js';

const noEnv = {} as NodeJS.ProcessEnv;

describe('config', () => {
  it('embedded defaults are loopback-only with demo accounts', () => {
    const cfg = loadConfig({ env: noEnv });
    expect(cfg.listenAddress).toBe('127.0.0.1');
    expect(cfg.http.port).toBe(8443);
    expect(cfg.sip.port).toBe(5060);
    expect(cfg.demo.enabled).toBe(true);
    expect(cfg.rtpengine.deleteDelay).toBe(0);
  });

  it('environment overrides the file, nested and indexed, SNAKE_CASE to camelCase', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'gw.yaml');
    writeFileSync(file, 'sip:\n  port: 5070\ntrunks:\n  - name: carrier\n    host: 127.0.0.1\n');
    const cfg = loadConfig({
      file,
      env: {
        GATEWAY_SIP__WS_PORT: '15066',
        GATEWAY_TRUNKS__0__AUTH__USERNAME: 'acct',
        GATEWAY_TRUNKS__0__AUTH__PASSWORD: '12345678',
        UNRELATED: 'x',
      },
    });
    expect(cfg.sip.port).toBe(5070);
    expect(cfg.sip.wsPort).toBe(15066);
    // An all-digit secret stays the string it was.
    expect(cfg.trunks[0]?.auth).toEqual({ username: 'acct', password: '12345678' });
  });

  it('a wrong type names the path, the env variable and what is expected', () => {
    const [p] = problemsOf(() => parseConfig({ sip: { port: 'five' } }));
    expect(p).toContain('sip.port');
    expect(p).toContain('GATEWAY_SIP__PORT');
    expect(p).toContain('expected number');
  });

  it('a misspelt key is refused rather than ignored', () => {
    const [p] = problemsOf(() => parseConfig({ sip: { prot: 5060 } }));
    expect(p).toContain('remove prot');
  });

  it('an enum names its choices', () => {
    const [p] = problemsOf(() => parseConfig({ log: { level: 'loud' } }));
    expect(p).toMatch(/log\.level.*"info"/);
  });

  it('refuses demo accounts on a public address', () => {
    const problems = problemsOf(() => parseConfig({ listenAddress: '192.0.2.10' }));
    expect(problems.join()).toContain('demo.enabled');
    expect(() =>
      parseConfig({ listenAddress: '192.0.2.10', demo: { enabled: false } }),
    ).not.toThrow();
  });

  it('refuses an inverted rtpengine port range and a registering trunk without credentials', () => {
    const problems = problemsOf(() =>
      parseConfig({
        rtpengine: { portMin: 40000, portMax: 30000 },
        trunks: [{ name: 'c', host: 'sip.example.net', register: true }],
      }),
    );
    expect(problems.some((p) => p.startsWith('rtpengine.portMax'))).toBe(true);
    expect(problems.some((p) => p.startsWith('trunks.0.auth'))).toBe(true);
  });

  it('a missing file and bad YAML are clear errors', () => {
    expect(problemsOf(() => loadConfig({ file: '/nonexistent.yaml', env: noEnv }))[0]).toContain(
      'file not found',
    );
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'bad.yaml'), 'sip: [unclosed');
    expect(problemsOf(() => loadConfig({ file: join(dir, 'bad.yaml'), env: noEnv }))[0]).toContain(
      'not valid YAML',
    );
  });
});
