import { createServer, request, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portsFor, startStack, type Stack } from './harness/stack.js';
import { DEMO } from './harness/phones.js';
import { SipUA, hdr, plainSdp, udpTransport } from './harness/sipua.js';

// When the decision service is down, slow or broken, Kamailio must answer
// 503 + Retry-After: 5 within a bounded time, keep its SIP workers free, and
// recover as soon as the service answers again. Kamailio is pointed
// (decision.url) at a switchable HTTP front: "ok" forwards to the real
// decision service, "down" is a closed port, "slow" accepts and never
// answers, "error" answers 500, "garbage" answers 200 with no JSON.

const BASE = 15750;
const ports = portsFor(BASE);
const TIMEOUT_MS = 1000;

type Mode = 'ok' | 'down' | 'slow' | 'error' | 'garbage';
let mode: Mode = 'ok';
let front: Server | undefined;
const hanging = new Set<Socket>();
let stack: Stack;
let ua: SipUA;

function startFront(): Promise<void> {
  const srv = createServer((req, res) => {
    if (mode === 'slow') return; // never answers; Kamailio's timeout must fire
    if (mode === 'error') {
      res.writeHead(500).end('boom');
      return;
    }
    if (mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json</html>');
      return;
    }
    const up = request(
      { host: '127.0.0.1', port: ports.decision, path: req.url, method: 'GET' },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    up.end();
  });
  srv.on('connection', (s) => {
    hanging.add(s);
    s.on('close', () => hanging.delete(s));
  });
  front = srv;
  return new Promise((resolve) => srv.listen(ports.helper, '127.0.0.1', () => resolve()));
}

async function stopFront(): Promise<void> {
  for (const s of hanging) s.destroy();
  await new Promise<void>((resolve) => (front ? front.close(() => resolve()) : resolve()));
  front = undefined;
}

beforeAll(async () => {
  await startFront();
  stack = await startStack('decision', BASE, {
    // every request must reach the service here: no answers kept in Kamailio
    decision: { url: `http://127.0.0.1:${ports.helper}`, timeoutMs: TIMEOUT_MS, cacheSeconds: 0 },
  });
  ua = new SipUA(
    await udpTransport({
      remoteHost: '127.0.0.1',
      remotePort: ports.sip,
      localPort: ports.client(0),
    }),
    {
      user: '1001',
      password: DEMO['1001'],
    },
  );
});

afterAll(async () => {
  await ua?.close();
  await stopFront();
  await stack?.stop();
});

async function setMode(m: Mode): Promise<void> {
  if (m === 'down' && front) await stopFront();
  if (m !== 'down' && !front) await startFront();
  mode = m;
}

const invite = () =>
  ua.request('INVITE', { uri: 'sip:9196@localhost', body: plainSdp(ports.clientMedia(0)) });

describe('decision service unavailable', () => {
  it('works normally while the service answers', async () => {
    await setMode('ok');
    expect((await ua.register()).final.status).toBe(200);
  });

  it('answers 503 + Retry-After: 5 at once when the service is down (connection refused)', async () => {
    await setMode('down');
    const r = await ua.register();
    expect(r.final.status).toBe(503);
    expect(hdr(r.final, 'retry-after')).toBe('5');
    console.log(`service down: REGISTER answered 503 in ${r.elapsedMs} ms`);
    expect(r.elapsedMs).toBeLessThan(500);
    const i = await invite();
    expect(i.final.status).toBe(503);
    expect(hdr(i.final, 'retry-after')).toBe('5');
  });

  it('still challenges a REGISTER without credentials (no service round trip needed)', async () => {
    const r = await ua.request('REGISTER', {
      uri: 'sip:localhost',
      to: '<sip:1001@localhost>',
      from: '<sip:1001@localhost>',
      authenticate: false,
    });
    expect(r.final.status).toBe(401);
  });

  it('answers 503 after the timeout when the service never answers, and SIP workers stay free', async () => {
    await setMode('slow');
    // More waiting REGISTERs than Kamailio has SIP workers (sip.children = 2 here),
    // each retransmitted by its client while the decision hangs.
    const clients = await Promise.all(
      [1, 2, 3].map(
        async (i) =>
          new SipUA(
            await udpTransport({
              remoteHost: '127.0.0.1',
              remotePort: ports.sip,
              localPort: ports.client(i),
            }),
            {
              user: '1001',
              password: DEMO['1001'],
            },
          ),
      ),
    );
    const probe = new SipUA(
      await udpTransport({
        remoteHost: '127.0.0.1',
        remotePort: ports.sip,
        localPort: ports.client(4),
      }),
      {
        user: 'probe',
      },
    );
    try {
      const pending = [ua, ...clients].map((c) => c.register());
      // after the first retransmissions (500 ms), a keepalive is still answered at once
      await new Promise((r) => setTimeout(r, 700));
      const options = await probe.request('OPTIONS', {
        uri: `sip:127.0.0.1:${ports.sip}`,
        authenticate: false,
      });
      expect(options.final.status).toBe(200);
      expect(options.elapsedMs).toBeLessThan(200);
      for (const r of await Promise.all(pending)) {
        expect(r.final.status).toBe(503);
        expect(hdr(r.final, 'retry-after')).toBe('5');
        expect(r.elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
        expect(r.elapsedMs).toBeLessThan(TIMEOUT_MS + 1000);
      }
      const first = await pending[0]!;
      console.log(
        `service hanging: REGISTER answered 503 in ${first.elapsedMs} ms (timeout ${TIMEOUT_MS} ms)`,
      );
    } finally {
      await probe.close();
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('handles a CANCEL while the decision is pending: 200 to the CANCEL at once, 487 to the INVITE', async () => {
    await setMode('slow');
    const callId = `cancel-${Date.now()}@test`;
    let cancel: Promise<{ status: number; ms: number }> | undefined;
    const started = Date.now();
    const r = await ua.request('INVITE', {
      uri: 'sip:9196@localhost',
      body: plainSdp(ports.clientMedia(0)),
      callId,
      fromTag: 'cancelme',
      // The credential-less INVITE (CSeq 1) is challenged by Kamailio itself; the
      // authenticated one (CSeq 2) is the one left waiting for the decision.
      onProvisional: (m, branch) => {
        cancel ??= ua
          .cancel({
            uri: 'sip:9196@localhost',
            branch,
            callId,
            from: '<sip:1001@localhost>',
            fromTag: 'cancelme',
            to: '<sip:9196@localhost>',
            cseq: 2,
          })
          .then((c) => ({ status: c.status, ms: Date.now() - started }));
      },
    });
    const c = await cancel;
    expect(c?.status).toBe(200);
    expect(c?.ms).toBeLessThan(200);
    // 487 as soon as the async worker is free of the (hanging) decision: within the timeout
    expect(r.final.status).toBe(487);
    expect(r.elapsedMs).toBeLessThan(TIMEOUT_MS + 500);
  });

  it('answers 503 when the service fails (HTTP 500) or answers something unreadable', async () => {
    await setMode('error');
    expect((await invite()).final.status).toBe(503);
    await setMode('garbage');
    const r = await invite();
    expect(r.final.status).toBe(503);
    expect(hdr(r.final, 'retry-after')).toBe('5');
  });

  it('recovers as soon as the service answers again', async () => {
    await setMode('ok');
    expect((await ua.register()).final.status).toBe(200);
    const i = await invite();
    expect(i.final.status).toBe(200);
    expect((await ua.inDialog(i.dialog!, 'BYE')).status).toBe(200);
    expect(await stack.gw.rtpengine.sessionCount()).toBe(0);
  });
});
