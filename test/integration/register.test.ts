import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness/stack.js';
import { explain, runSipp } from './harness/sipp.js';
import { DEMO, artifacts, udpUser } from './harness/phones.js';
import { SipUA, hdr, udpTransport } from './harness/sipua.js';

// REGISTER (RFC 3261 §10) with digest against the HA1 the decision service
// gives: good credentials bind, bad ones and unknown users get the same 403,
// credentials cannot register someone else's address-of-record.

let stack: Stack;
let ua: SipUA;

beforeAll(async () => {
  stack = await startStack('register', 16500);
  ua = await udpUser(stack, '1002', 0);
});

afterAll(async () => {
  await ua?.close();
  await stack?.stop();
});

describe('REGISTER', () => {
  it('accepts good credentials from a sipp phone (401 challenge, then 200)', async () => {
    const r = await runSipp({
      scenario: 'register.xml',
      label: 'register-1001',
      artifacts: artifacts(stack),
      remote: `127.0.0.1:${stack.ports.sip}`,
      localPort: stack.ports.client(1),
      service: '1001',
      auth: { user: '1001', password: DEMO['1001'] },
      keys: { domain: 'localhost', contact_port: stack.ports.client(2), expires: 300 },
    });
    expect(r.code, explain(r)).toBe(0);
    expect(r.messages).toMatch(/SIP\/2\.0 401 Unauthorized[\s\S]*SIP\/2\.0 200 OK/);
  });

  it('returns the binding with its expiry, and removes it with Expires: 0', async () => {
    const r = await ua.register({ expires: 120 });
    expect(r.final.status).toBe(200);
    expect(hdr(r.final, 'contact')).toMatch(/expires=1[12]\d/);
    const gone = await ua.register({ expires: 0 });
    expect(gone.final.status).toBe(200);
    expect(hdr(gone.final, 'contact')).toBeUndefined();
  });

  it('refuses a wrong password with 403', async () => {
    const r = await ua.register({ credentials: { user: '1002', password: 'wrong-password' } });
    expect(r.final.status).toBe(403);
  });

  it('refuses an unknown user with the same 403 (no user enumeration)', async () => {
    const stranger = new SipUA(
      await udpTransport({
        remoteHost: '127.0.0.1',
        remotePort: stack.ports.sip,
        localPort: stack.ports.client(3),
      }),
      {
        user: '7777',
        password: 'any-password',
      },
    );
    try {
      const r = await stranger.register();
      expect(r.final.status).toBe(403);
      expect(r.final.reason).toBe('Forbidden');
    } finally {
      await stranger.close();
    }
  });

  it("refuses one user's credentials for another user's address (403)", async () => {
    const r = await ua.request('REGISTER', {
      uri: 'sip:localhost',
      to: '<sip:1003@localhost>',
      from: '<sip:1003@localhost>',
      headers: ['Expires: 60'],
    });
    expect(r.final.status).toBe(403);
  });

  it('refuses to register for another domain (403)', async () => {
    const r = await ua.request('REGISTER', {
      uri: 'sip:example.org',
      to: '<sip:1002@example.org>',
      from: '<sip:1002@example.org>',
      headers: ['Expires: 60'],
    });
    expect(r.final.status).toBe(403);
  });
});
