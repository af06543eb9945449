import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { REPO_ROOT } from '../paths.js';
import type { RuntimeDirs } from '../supervisor/types.js';
import { decisionTimeoutSeconds, renderDefines, renderKamailio, renderUacreg } from './render.js';

function dirs(): RuntimeDirs {
  const data = mkdtempSync(join(tmpdir(), 'kam-render-'));
  return { root: REPO_ROOT, data, run: join(data, 'run'), log: join(data, 'log') };
}

const full = parseConfig({
  domain: 'pbx.example.com',
  listenAddress: '127.0.0.1',
  advertisedAddress: '203.0.113.10',
  demo: { enabled: true },
  trunks: [
    {
      name: 'carrier',
      host: 'sip.carrier.example',
      inboundAddresses: ['198.51.100.20', '2001:db8::1'],
      register: true,
      auth: { username: '12345', password: 'p:ss\\word' },
    },
  ],
});

describe('renderDefines', () => {
  it('rounds the decision timeout up to whole seconds (http_client in 5.6)', () => {
    expect(decisionTimeoutSeconds(1500)).toBe(2);
    expect(decisionTimeoutSeconds(1000)).toBe(1);
    expect(decisionTimeoutSeconds(100)).toBe(1);
  });

  it('advertises the public address on every listener and turns the optional features on', () => {
    const text = renderDefines(full, dirs());
    expect(text).toContain(
      '#!substdef "!LISTEN_UDP!udp:127.0.0.1:5060 advertise 203.0.113.10:5060!g"',
    );
    expect(text).toContain('#!define SIP_DOMAIN "pbx.example.com"');
    expect(text).toContain('#!define TRUSTED_PEERS "198.51.100.20/32,2001:db8::1/128"');
    expect(text).toContain('#!define WITH_TRUNK_REGISTER');
    expect(text).toContain('#!define REG_CONTACT_ADDR "203.0.113.10:5060"');
    expect(text).toContain('#!define DECISION_URL "http://127.0.0.1:5081"');
    // presence: NOTIFYs carry the public address; pua publishes to our own socket
    expect(text).toContain('#!define PRESENCE_SERVER "sip:203.0.113.10:5060"');
    expect(text).toContain('#!define PUA_PROXY "sip:127.0.0.1:5060"');
    expect(text).toMatch(
      /#!define PRESENCE_DB_URL "sqlite:\/\/\/\/.*\/run\/kamailio-presence\.sqlite"/,
    );
  });

  it("renders uac's one retry interval from the most eager registering trunk", () => {
    expect(renderDefines(full, dirs())).toContain('#!define TRUNK_REG_RETRY_SEC 30');
    const two = parseConfig({
      trunks: [
        { name: 'a', host: 'a.example', register: true, auth: { username: 'a', password: 'x' } },
        {
          name: 'b',
          host: 'b.example',
          register: true,
          registerRetrySeconds: 7,
          auth: { username: 'b', password: 'y' },
        },
        // not registering: its interval does not count
        { name: 'c', host: 'c.example', registerRetrySeconds: 5 },
      ],
    });
    expect(renderDefines(two, dirs())).toContain('#!define TRUNK_REG_RETRY_SEC 7');
  });

  it('refuses a retry interval uac could not honour, naming the field', () => {
    const trunk = { name: 'a', host: 'a.example', registerRetrySeconds: 2 };
    expect(() => parseConfig({ trunks: [trunk] })).toThrow(
      /registerRetrySeconds must be at least 5/,
    );
    expect(() => parseConfig({ trunks: [{ ...trunk, registerRetrySeconds: 7.5 }] })).toThrow(
      /registerRetrySeconds must be whole seconds/,
    );
  });

  it('leaves trunk features out when there are no trunks', () => {
    const text = renderDefines(parseConfig({}), dirs());
    expect(text).not.toContain('WITH_TRUSTED_PEERS');
    expect(text).not.toContain('WITH_TRUNK_REGISTER');
    expect(text).not.toContain('advertise');
  });
});

describe('renderUacreg', () => {
  it('escapes db_text separators in values (a password with ":" and "\\")', () => {
    const row = renderUacreg(full).split('\n')[1]!;
    expect(row).toContain('p\\:ss\\\\word');
    expect(row).toContain('sip\\:sip.carrier.example\\:5060');
    expect(row.split(/(?<!\\):/)).toHaveLength(16);
  });
});

describe('renderKamailio', () => {
  it('renders files Kamailio accepts: the shipped config lints with them (kamailio -c)', () => {
    const d = dirs();
    const spec = renderKamailio(full, d);
    expect(statSync(join(d.run, 'kamailio-db', 'uacreg')).mode & 0o777).toBe(0o600);
    // listen on loopback for the check: the advertised address is not ours here
    const out = execFileSync(
      'kamailio',
      ['-c', '-f', join(REPO_ROOT, 'infra', 'kamailio', 'kamailio.cfg')],
      {
        cwd: d.run,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    expect(out).toMatch(/udp: 127\.0\.0\.1 \[127\.0\.0\.1\]:5060 advertise 203\.0\.113\.10:5060/);
    expect(spec.after).toEqual(['rtpengine']);
    expect(spec.readiness).toMatchObject({ kind: 'udp', port: 5060 });
    expect(readFileSync(join(d.run, 'kamailio-defines.cfg'), 'utf8')).toContain('RUN_DIR');
  });
});
