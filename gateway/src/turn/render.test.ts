import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { REPO_ROOT } from '../paths.js';
import { renderTurnConfig, stunBindingRequest, turnCredentials } from './render.js';

const dirs = { root: REPO_ROOT, data: '/tmp/x', run: '/tmp/x/run', log: '/tmp/x/log' };

describe('turnCredentials (TURN REST API)', () => {
  it('makes "<expiry>:<user>" and base64(HMAC-SHA1(secret, username))', () => {
    // expected value computed independently (Python hmac/hashlib)
    const c = turnCredentials('static-secret-for-tests', 'alice', 3600, 1_700_000_000_000);
    expect(c).toEqual({ username: '1700003600:alice', credential: 'IU1sQdOLdznArJJOp4S8j2lQTAo=' });
  });
});

describe('renderTurnConfig', () => {
  it('uses the shared secret, the configured ports and relays only to the media address', () => {
    const cfg = parseConfig({ turn: { port: 3479, relayPortMin: 40000, relayPortMax: 40100 } });
    const text = renderTurnConfig(cfg, dirs, 'a-secret-of-some-length');
    expect(text).toMatch(/^use-auth-secret$/m);
    expect(text).toMatch(/^static-auth-secret=a-secret-of-some-length$/m);
    expect(text).toMatch(/^listening-port=3479$/m);
    expect(text).toMatch(/^min-port=40000$/m);
    expect(text).toMatch(/^max-port=40100$/m);
    expect(text).toMatch(/^no-cli$/m);
    expect(text).toMatch(/^log-file=stdout$/m);
    expect(text).toMatch(/^denied-peer-ip=0\.0\.0\.0-255\.255\.255\.255$/m);
    expect(text).toMatch(/^allowed-peer-ip=127\.0\.0\.1$/m);
    expect(text).not.toMatch(/\{\{/);
  });

  it('maps the public address for a host behind NAT', () => {
    const cfg = parseConfig({
      listenAddress: '10.0.0.5',
      advertisedAddress: '203.0.113.10',
      demo: { enabled: false },
    });
    const text = renderTurnConfig(cfg, dirs, 'a-secret-of-some-length');
    expect(text).toMatch(/^external-ip=203\.0\.113\.10\/10\.0\.0\.5$/m);
    expect(text).not.toMatch(/allow-loopback-peers/);
  });

  it('probes readiness with a STUN Binding Request', () => {
    const b = stunBindingRequest();
    expect(b.length).toBe(20);
    expect(b.readUInt16BE(0)).toBe(0x0001);
    expect(b.readUInt32BE(4)).toBe(0x2112a442);
  });
});
