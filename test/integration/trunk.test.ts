import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../gateway/src/main.js';
import { portsFor, startStack, type Stack } from './harness/stack.js';
import {
  explain,
  receivedRequestTexts,
  receivedRequests,
  runSipp,
  startUas,
  ulawFile,
  type SippProcess,
} from './harness/sipp.js';
import { DEMO, artifacts, noMediaSessions, sippPhone } from './harness/phones.js';
import { waitForRecord } from './harness/wait.js';
import { SipUA, hdr, parseSip, plainSdp, udpTransport, verifyDigest } from './harness/sipua.js';

// SIP trunks with sipp playing the carriers, each on its own loopback address
// (calls from there are the carrier's, by source address): outbound calls
// answer the carrier's digest challenge (407 and 401) with the trunk's
// credentials and present the caller ID; inbound calls reach a DID's user;
// callers without valid credentials never reach a carrier; the gateway
// registers a trunk that asks for it.

const BASE = 15500;
const ports = portsFor(BASE);
const CARRIER = { user: 'gw-account', password: 'trunk-secret-1' };
const CARRIER401 = { user: 'gw-401', password: 'trunk-secret-2' };
const REGTRUNK = { user: 'reg-account', password: 'trunk-secret-3' };

let stack: Stack;
let registrar: SippProcess;

beforeAll(async () => {
  // Up before the gateway, so the first REGISTER of uac_reg finds it.
  registrar = await startUas({
    scenario: 'carrier-registrar.xml',
    label: 'registrar',
    // not under the stack's folder, which startStack empties
    artifacts: join(REPO_ROOT, 'test', 'artifacts', 'integration', 'trunk-registrar'),
    localIp: '127.0.0.4',
    localPort: ports.client(22),
    keys: { carrier_user: REGTRUNK.user, carrier_pass: REGTRUNK.password },
    timeoutSec: 40,
  });
  stack = await startStack('trunk', BASE, {
    trunks: [
      {
        name: 'carrier',
        host: '127.0.0.2',
        port: ports.client(20),
        inboundAddresses: ['127.0.0.2'],
        auth: { username: CARRIER.user, password: CARRIER.password },
        prefixes: ['+1555'],
        codecs: ['PCMU', 'PCMA'],
      },
      {
        name: 'carrier401',
        host: '127.0.0.3',
        port: ports.client(21),
        inboundAddresses: ['127.0.0.3'],
        auth: { username: CARRIER401.user, password: CARRIER401.password },
        prefixes: ['+1666'],
        numberFormat: 'e164-no-plus',
      },
      {
        name: 'regtrunk',
        host: '127.0.0.4',
        port: ports.client(22),
        inboundAddresses: ['127.0.0.4'],
        register: true,
        auth: { username: REGTRUNK.user, password: REGTRUNK.password },
        prefixes: ['+1777'],
      },
    ],
  });
});

afterAll(async () => {
  await registrar?.stop();
  await stack?.stop();
});

function carrier(
  scenario: string,
  ip: string,
  slot: number,
  creds: { user: string; password: string },
) {
  return startUas({
    scenario,
    label: `${scenario.replace('.xml', '')}-${Date.now()}`,
    artifacts: artifacts(stack),
    localIp: ip,
    localPort: ports.client(slot),
    mediaPort: ports.clientMedia(slot - 12),
    rtpEcho: true,
    keys: { carrier_user: creds.user, carrier_pass: creds.password },
    timeoutSec: 20,
  });
}

function callNumber(number: string) {
  ulawFile(artifacts(stack), 'caller.ulaw', 1000);
  return runSipp({
    scenario: 'uac-call.xml',
    label: `call-${number}`,
    artifacts: artifacts(stack),
    remote: `127.0.0.1:${ports.sip}`,
    localPort: ports.client(0),
    mediaPort: ports.clientMedia(0),
    service: number,
    auth: { user: '1002', password: DEMO['1002'] },
    keys: { domain: 'localhost', from_user: '1002' },
    durationMs: 1000,
  });
}

describe('outbound through a trunk', () => {
  it('answers the carrier 407 with the trunk credentials and presents the caller ID', async () => {
    const c = await carrier('carrier-uas.xml', '127.0.0.2', 20, CARRIER);
    const caller = await callNumber('+15551234567');
    expect(caller.code, explain(caller)).toBe(0);
    const got = await c.done;
    // carrier-uas.xml checks P-Asserted-Identity and G.711-only SDP itself
    expect(got.code, explain(got)).toBe(0);
    const invites = receivedRequestTexts(got.messages, 'INVITE').map(parseSip);
    expect(invites).toHaveLength(2);
    const retry = invites[1]!;
    expect(retry.uri).toMatch(/^sip:\+15551234567@127\.0\.0\.2:/);
    expect(hdr(retry, 'from')).toMatch(/^<sip:\+15550101002@/);
    expect(hdr(retry, 'p-asserted-identity')).toMatch(/<sip:\+15550101002@/);
    // our own user's credentials never reach the carrier; the carrier's do
    const auths = retry.headers.filter(([k]) => k === 'proxy-authorization').map(([, v]) => v);
    expect(auths).toHaveLength(1);
    expect(verifyDigest(auths[0]!, { ...CARRIER, method: 'INVITE' }), auths[0]).toBe(true);
    expect(await noMediaSessions(stack)).toBe(0);
  });

  it('answers a carrier 401 too (sipp <verifyauth> checks it) and formats the number without +', async () => {
    const c = await carrier('carrier-uas-401.xml', '127.0.0.3', 21, CARRIER401);
    const caller = await callNumber('+16665550000');
    expect(caller.code, explain(caller)).toBe(0);
    const got = await c.done;
    expect(got.code, explain(got)).toBe(0);
    expect(parseSip(receivedRequestTexts(got.messages, 'INVITE')[0]!).uri).toMatch(
      /^sip:16665550000@/,
    );
    expect(await noMediaSessions(stack)).toBe(0);
  });

  it('gives the caller 403 (not the carrier challenge) when the carrier refuses our credentials', async () => {
    // This carrier expects another password: it answers the digest with 403.
    const c = await carrier('carrier-uas-401.xml', '127.0.0.3', 21, {
      ...CARRIER401,
      password: 'other',
    });
    const ua = new SipUA(
      await udpTransport({
        remoteHost: '127.0.0.1',
        remotePort: ports.sip,
        localPort: ports.client(5),
      }),
      {
        user: '1002',
        password: DEMO['1002'],
      },
    );
    try {
      const r = await ua.request('INVITE', {
        uri: 'sip:+16665550001@localhost',
        body: plainSdp(ports.clientMedia(5)),
      });
      expect(r.final.status).toBe(403);
      expect(hdr(r.final, 'www-authenticate')).toBeUndefined();
      const got = await c.stop();
      expect(receivedRequests(got.messages, 'INVITE')).toBe(2);
    } finally {
      await ua.close();
    }
    expect(await noMediaSessions(stack)).toBe(0);
  });
});

describe('callers without valid credentials', () => {
  it('challenges (407), refuses a wrong password (403), and the carrier sees no INVITE at all', async () => {
    const c = await carrier('carrier-uas.xml', '127.0.0.2', 20, CARRIER);
    const ua = new SipUA(
      await udpTransport({
        remoteHost: '127.0.0.1',
        remotePort: ports.sip,
        localPort: ports.client(6),
      }),
      {
        user: '1003',
        password: DEMO['1003'],
      },
    );
    try {
      const body = plainSdp(ports.clientMedia(6));
      const noCreds = await ua.request('INVITE', {
        uri: 'sip:+15551230000@localhost',
        body,
        authenticate: false,
      });
      expect(noCreds.final.status).toBe(407);
      const bad = await ua.request('INVITE', {
        uri: 'sip:+15551230000@localhost',
        body,
        credentials: { user: '1003', password: 'guessed-wrong' },
      });
      expect(bad.final.status).toBe(403);
      const unknown = await ua.request('INVITE', {
        uri: 'sip:+15551230000@localhost',
        body,
        from: '<sip:9999@localhost>',
        credentials: { user: '9999', password: 'whatever-it-is' },
      });
      expect(unknown.final.status).toBe(403);
    } finally {
      await ua.close();
    }
    const got = await c.stop();
    expect(receivedRequests(got.messages, 'INVITE')).toBe(0);
    expect(await noMediaSessions(stack)).toBe(0);
  });
});

describe('inbound from a trunk', () => {
  it('routes a carrier call to a DID to the user the DID rings', async () => {
    const phone = await sippPhone(stack, { user: '1001', slot: 1 });
    const call = await runSipp({
      scenario: 'carrier-uac-did.xml',
      label: 'did-call',
      artifacts: artifacts(stack),
      remote: `127.0.0.1:${ports.sip}`,
      localIp: '127.0.0.2',
      localPort: ports.client(23),
      mediaPort: ports.clientMedia(9),
      service: '+15550100100',
      keys: { domain: '127.0.0.1' },
    });
    expect(call.code, explain(call)).toBe(0);
    const answered = await phone.done;
    expect(answered.code, explain(answered)).toBe(0);
    expect(await noMediaSessions(stack)).toBe(0);
    await waitForRecord(
      stack,
      'inbound call to 1001',
      (r) => r.direction === 'inbound' && r.toUser === '1001',
    );
  });

  it('refuses a carrier call to a number that is not our DID (404)', async () => {
    const ua = new SipUA(
      await udpTransport({
        localHost: '127.0.0.2',
        localPort: ports.client(24),
        remoteHost: '127.0.0.1',
        remotePort: ports.sip,
      }),
      { user: 'carrier' },
    );
    try {
      const r = await ua.request('INVITE', {
        uri: 'sip:+15559990000@127.0.0.1',
        body: plainSdp(ports.clientMedia(8)),
      });
      expect(r.final.status).toBe(404);
    } finally {
      await ua.close();
    }
  });
});

describe('trunk registration', () => {
  it('registers the trunk that asks for it, answering the carrier 401 (sipp <verifyauth>)', async () => {
    const got = await registrar.done;
    expect(got.code, explain(got)).toBe(0);
    const register = parseSip(receivedRequestTexts(got.messages, 'REGISTER')[1]!);
    expect(hdr(register, 'contact')).toMatch(new RegExp(`@127\\.0\\.0\\.1:${ports.sip}`));
  });

  it('takes calls the carrier sends to the registration contact to the DID in To', async () => {
    const phone = await sippPhone(stack, { user: '1001', slot: 1 });
    const ua = new SipUA(
      await udpTransport({
        localHost: '127.0.0.4',
        localPort: ports.client(25),
        remoteHost: '127.0.0.1',
        remotePort: ports.sip,
      }),
      { user: 'carrier' },
    );
    try {
      const r = await ua.request('INVITE', {
        uri: `sip:regtrunk@127.0.0.1:${ports.sip}`,
        to: '<sip:+15550100100@127.0.0.1>',
        body: plainSdp(ports.clientMedia(8)),
      });
      expect(r.final.status).toBe(200);
      expect((await ua.inDialog(r.dialog!, 'BYE')).status).toBe(200);
    } finally {
      await ua.close();
    }
    const answered = await phone.done;
    expect(answered.code, explain(answered)).toBe(0);
    expect(await noMediaSessions(stack)).toBe(0);
  });
});
