import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness/stack.js';
import { udpUser } from './harness/phones.js';
import { hdr, wsTransport, type SipUA } from './harness/sipua.js';
import { httpsRequest } from './harness/https.js';

// What an operator and a browser meet at the gateway's HTTPS port, through the
// real server over TCP (not fastify.inject): the admin API's bearer token,
// /metrics with the series the README documents, the WebSocket Origin check;
// and what Kamailio answers to a SUBSCRIBE (its presence server: presence.test.ts
// has the whole flow) and to a method it does not serve out of dialog (405).

const BASE = 15250;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack('operations', BASE);
});

afterAll(async () => {
  await stack?.stop();
});

async function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const a = await httpsRequest(stack.ports.http, path, { headers });
  return { status: a.status, headers: a.headers, body: a.text };
}

const adminToken = () => readFileSync(join(stack.dataDir, 'secrets', 'admin-token'), 'utf8').trim();

describe('admin API', () => {
  it('refuses a missing bearer token with 401 and says how to authenticate', async () => {
    for (const path of ['/api/admin/calls', '/api/admin/users']) {
      const r = await get(path);
      expect(r.status, `${path} without a token`).toBe(401);
      expect(r.headers['www-authenticate'], path).toMatch(/^Bearer/);
      expect(r.body, path).not.toMatch(/ha1|demo-100/i);
    }
  });

  it('refuses a wrong token, a token of the wrong scheme and a prefix of the right one', async () => {
    const token = adminToken();
    expect(token.length, 'the admin token file').toBeGreaterThanOrEqual(16);
    for (const authorization of [
      'Bearer wrong-token',
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}x`,
      `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`,
      'Bearer ',
    ]) {
      const r = await get('/api/admin/calls', { authorization });
      expect(r.status, `Authorization: ${authorization.slice(0, 12)}…`).toBe(401);
    }
  });

  it('answers the right token with the call records and the directory, HA1 never shown', async () => {
    const authorization = `Bearer ${adminToken()}`;
    const calls = await get('/api/admin/calls?limit=5', { authorization });
    expect(calls.status, calls.body).toBe(200);
    expect(JSON.parse(calls.body)).toBeTypeOf('object');
    const users = await get('/api/admin/users', { authorization });
    expect(users.status, users.body).toBe(200);
    expect(users.body).toContain('1001');
    expect(users.body).not.toMatch(/ha1/i);
  });
});

describe('/metrics', () => {
  it('exposes the series the README documents, with live values', async () => {
    // something to count first: a registration decision
    const ua = await udpUser(stack, '1001', 0);
    try {
      expect((await ua.register()).final.status).toBe(200);
      expect((await ua.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await ua.close();
    }
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(String(r.headers['content-type'])).toMatch(/^text\/plain/);
    // every documented metric is declared (`# TYPE`); a labelled counter has
    // samples only once something happened, so the live values are checked below
    const declared = new Set([...r.body.matchAll(/^# TYPE (\S+) \w+$/gm)].map((m) => m[1]));
    // README "Operating it": decisions by outcome and latency, call-record events,
    // component up/restarts, WebSocket connections and refusals, rtpengine sessions,
    // Node process metrics
    for (const name of [
      'gateway_decisions_total',
      'gateway_decision_seconds',
      'gateway_call_events_total',
      'gateway_call_events_connected',
      'gateway_component_up',
      'gateway_component_restarts_total',
      'gateway_ws_connections',
      'gateway_ws_rejected_total',
      'gateway_rtpengine_sessions',
      // Node process metrics, under the gateway's prefix
      'gateway_process_cpu_user_seconds_total',
      'gateway_nodejs_heap_size_used_bytes',
    ]) {
      expect(declared.has(name), `${name} in /metrics`).toBe(true);
    }
    expect(r.body).toMatch(/^gateway_decision_seconds_count(\{[^}]*\})? [1-9]/m);
    expect(r.body).toMatch(/^gateway_call_events_connected(\{[^}]*\})? 1$/m);
    expect(r.body).toMatch(/^gateway_rtpengine_sessions(\{[^}]*\})? 0$/m);
    for (const c of ['kamailio', 'rtpengine']) {
      expect(r.body, `${c} is up`).toMatch(
        new RegExp(`^gateway_component_up\\{[^}]*component="${c}"[^}]*\\} 1$`, 'm'),
      );
    }
    const decisions = [...r.body.matchAll(/^gateway_decisions_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)]
      .map((m) => Number(m[1]))
      .reduce((a, b) => a + b, 0);
    // the first REGISTER was decided by the service; the one removing the binding
    // was checked with the HA1 Kamailio kept (decision cache), so it is not counted
    expect(decisions, 'the first REGISTER above was decided').toBeGreaterThanOrEqual(1);
  });
});

describe('WebSocket Origin check (through the HTTPS terminator)', () => {
  const url = () => `wss://127.0.0.1:${stack.ports.http}/ws`;

  it('refuses a foreign Origin with 403 before any SIP, and counts the refusal', async () => {
    const rejected = async () => {
      const m = /^gateway_ws_rejected_total\{[^}]*reason="origin"[^}]*\} (\d+)/m.exec(
        (await get('/metrics')).body,
      );
      return Number(m?.[1] ?? 0);
    };
    const before = await rejected();
    await expect(wsTransport(url(), { origin: 'https://evil.example' })).rejects.toThrow(
      /handshake refused: 403/,
    );
    await expect(
      wsTransport(url(), { origin: `https://127.0.0.1:${stack.ports.http}.evil.example` }),
    ).rejects.toThrow(/handshake refused: 403/);
    expect(await rejected(), 'gateway_ws_rejected_total{reason="origin"}').toBe(before + 2);
  });

  it('accepts the gateway’s own origin: a REGISTER over it succeeds', async () => {
    const t = await wsTransport(url(), { origin: `https://127.0.0.1:${stack.ports.http}` });
    const { SipUA } = await import('./harness/sipua.js');
    const ua = new SipUA(t, { user: '1002', password: 'demo-1002-pw' });
    try {
      expect((await ua.register()).final.status).toBe(200);
      expect((await ua.register({ expires: 0 })).final.status).toBe(200);
    } finally {
      await ua.close();
    }
  });
});

describe('SUBSCRIBE', () => {
  let ua: SipUA;
  beforeAll(async () => {
    ua = await udpUser(stack, '1003', 1);
  });
  afterAll(async () => ua?.close());

  it('is answered by the presence server: presence and dialog 200, a package it does not serve 489', async () => {
    const expected = { presence: 200, dialog: 200, 'message-summary': 489 };
    for (const [event, status] of Object.entries(expected)) {
      // Expires: 0 fetches the state once and leaves no subscription behind
      const r = await ua.request('SUBSCRIBE', {
        uri: 'sip:1001@localhost',
        headers: [`Event: ${event}`, 'Expires: 0'],
      });
      expect(r.final.status, `SUBSCRIBE Event: ${event}`).toBe(status);
    }
  });

  it('lists SUBSCRIBE and PUBLISH in the Allow of a 405 (out-of-dialog REFER)', async () => {
    const r = await ua.request('REFER', {
      uri: 'sip:1001@localhost',
      headers: ['Refer-To: <sip:1002@localhost>'],
    });
    expect(r.final.status).toBe(405);
    const allow = hdr(r.final, 'allow') ?? '';
    expect(allow, 'Allow header').toMatch(/\bINVITE\b/);
    expect(allow).toMatch(/\bSUBSCRIBE\b/);
    expect(allow).toMatch(/\bPUBLISH\b/);
  });
});
