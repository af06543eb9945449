import { Agent, request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness/stack.js';
import { turnAllocate } from './harness/turn.js';
import { turnCredentials } from '../../gateway/src/turn/render.js';

// coturn as the gateway runs it: REST-API (use-auth-secret) credentials from
// /api/client-config get a relay, forged or expired ones do not, and relay
// ports come from the configured range.

const BASE = 16750;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack('turn', BASE, {
    turn: { enabled: true, secret: 'integration-turn-secret-0123456789' },
  });
});

afterAll(async () => {
  await stack?.stop();
});

function clientConfig(): Promise<{
  iceServers: { urls: string[]; username: string; credential: string }[];
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: stack.ports.http,
        path: '/api/client-config',
        agent: new Agent({ rejectUnauthorized: false }),
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(JSON.parse(body) as never));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('TURN with ephemeral credentials', () => {
  it('allocates a relay in the configured range with the credentials the service hands out', async () => {
    const [server] = (await clientConfig()).iceServers;
    expect(server?.urls[0]).toBe(`turn:127.0.0.1:${stack.cfg.turn.port}?transport=udp`);
    const r = await turnAllocate(
      '127.0.0.1',
      stack.cfg.turn.port,
      server!.username,
      server!.credential,
    );
    expect(r).toMatchObject({ ok: true });
    expect(r.relayPort).toBeGreaterThanOrEqual(stack.cfg.turn.relayPortMin);
    expect(r.relayPort).toBeLessThanOrEqual(stack.cfg.turn.relayPortMax);
  });

  it('refuses credentials made with another secret (401)', async () => {
    const forged = turnCredentials('not-the-secret-at-all-000', 'mallory', 3600);
    const r = await turnAllocate(
      '127.0.0.1',
      stack.cfg.turn.port,
      forged.username,
      forged.credential,
    );
    expect(r).toEqual({ ok: false, error: 401 });
  });

  it('refuses expired credentials (401)', async () => {
    const old = turnCredentials(stack.cfg.turn.secret!, 'softphone', 60, Date.now() - 3600_000);
    const r = await turnAllocate('127.0.0.1', stack.cfg.turn.port, old.username, old.credential);
    expect(r).toEqual({ ok: false, error: 401 });
  });
});
