import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './harness/stack.js';
import { noMediaSessions, udpUser } from './harness/phones.js';
import { SipUA, hdr, plainSdp } from './harness/sipua.js';
import { untilStopped, waitForRecord } from './harness/wait.js';

// rtpengine that stops answering (hung, not crashed: the supervisor sees
// nothing to restart) must cost the caller a prompt SIP error, never a call
// that hangs or media that silently goes nowhere; and calls work again once
// it answers.

const BASE = 17000;
let stack: Stack;
let ua: SipUA;

beforeAll(async () => {
  stack = await startStack('media-failure', BASE);
  ua = await udpUser(stack, '1001', 0);
});

afterAll(async () => {
  stack?.gw.supervisor.kill('rtpengine', 'SIGCONT');
  await ua?.close();
  await stack?.stop();
});

const callEcho = (timeoutMs = 20_000) =>
  ua.request('INVITE', {
    uri: `sip:${stack.cfg.services.echoExtension}@localhost`,
    body: plainSdp(stack.ports.clientMedia(0)),
    timeoutMs,
  });

describe('rtpengine not answering', () => {
  it('works while rtpengine answers', async () => {
    const r = await callEcho();
    expect(r.final.status).toBe(200);
    expect((await ua.inDialog(r.dialog!, 'BYE')).status).toBe(200);
  });

  it('answers the INVITE with a 5xx within seconds, and recovers once rtpengine is back', async () => {
    expect(stack.gw.supervisor.kill('rtpengine', 'SIGSTOP')).toBe(true);
    try {
      const pid = stack.gw.supervisor.status().find((c) => c.name === 'rtpengine')?.pid;
      await untilStopped(pid!);
      // still a running process to the supervisor, but /healthz asks it and says so
      const health = await getHealth();
      expect(health.status).toBe(503);
      expect(health.body).toMatchObject({ status: 'degraded', rtpengineControl: 'down' });
      const r = await callEcho();
      console.log(`rtpengine hung: INVITE answered ${r.final.status} in ${r.elapsedMs} ms`);
      expect(r.final.status).toBeGreaterThanOrEqual(500);
      expect(r.final.status).toBeLessThan(600);
      // offer timeout 1 s x (1 + 2 retries), plus the request's own handling
      expect(r.elapsedMs).toBeLessThan(8000);
      // the call record is closed, not left "started" (no dialog reports a call never forwarded)
      const callId = hdr(r.final, 'call-id');
      expect(
        await waitForRecord(stack, `${callId} closed`, (c) => c.callId === callId && !!c.endedAt),
      ).toMatchObject({
        status: 'failed',
        code: 500,
      });
    } finally {
      stack.gw.supervisor.kill('rtpengine', 'SIGCONT');
    }
    // Kamailio retries a disabled rtpengine after rtpengine_disable_tout (5 s).
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      const r = await callEcho();
      status = r.final.status;
      if (status === 200) {
        expect((await ua.inDialog(r.dialog!, 'BYE')).status).toBe(200);
        break;
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
    expect(status).toBe(200);
    // The hung offer still made a session once rtpengine resumed; the service's
    // delete after the `failed` event, queued behind it, removes it.
    expect(await noMediaSessions(stack)).toBe(0);
    expect((await getHealth()).status).toBe(200);
  });
});

async function getHealth(): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await stack.gw.http.inject({ method: 'GET', url: '/healthz' });
  return { status: res.statusCode, body: res.json() };
}
