import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portsFor, type Stack } from './harness/stack.js';
import { startGateway } from '../../gateway/src/main.js';
import { createLogger } from '../../gateway/src/log.js';
import { SipUA, plainSdp, type Dialog } from './harness/sipua.js';
import { udpUser, noMediaSessions } from './harness/phones.js';
import { RtpEndpoint, sdpAudio } from './harness/rtp.js';
import { until } from './harness/wait.js';
import type { ContactCenter } from '../../gateway/src/contactcenter/contactCenter.js';
import { carrierCalls, startContactCenterStack } from './harness/carrier.js';
import { httpsRequest } from './harness/https.js';

// Contact center II (supervisors) through the real stack: a queue with
// recording on; a carrier caller (1000 Hz) is answered by agent 1003 (600 Hz);
// rtpengine records the call with its pcap method (userspace only: the
// recording daemon's proc method needs the kernel module), the contact
// center turns the pcap into a mixed WAV, and that WAV holds both tones.
// The wallboard and the report of the same call come from the store. Then a
// caller abandons, and the scenario's numbers (2 offered, 1 answered, 1
// abandoned, SL 50 %) read through the HTTPS API are the same after the
// gateway service is stopped and started again on the same data dir.

const BASE = 17500;
const ports = portsFor(BASE);
const DID_SALES = '+15550100801';

let stack: Stack;
let cc: ContactCenter;
let carrier: SipUA;

beforeAll(async () => {
  ({ stack, cc, carrier } = await startContactCenterStack('cc-supervisors', BASE, {
    queues: [
      {
        name: 'sales',
        dids: [DID_SALES],
        announce: { everySec: 0 },
        wrapUpSec: 1,
        recording: { enabled: true, retentionDays: 7 },
        // A caller who hung up after 1 s or more is a counted abandon.
        shortAbandonSec: 1,
        serviceLevelSec: 20,
      },
    ],
    agents: [{ username: '1003', queues: [{ name: 'sales', penalty: 0 }] }],
    supervisors: [{ username: '1001', queues: ['sales'] }],
  }));
});

afterAll(async () => {
  await carrier?.close();
  await stack?.stop();
});

/** GET on the gateway's HTTPS server; the body as bytes. */
async function get(
  path: string,
  token?: string,
): Promise<{ status: number; type: string; body: Buffer }> {
  const a = await httpsRequest(ports.http, path, token ? { token } : {});
  return { status: a.status, type: String(a.headers['content-type'] ?? ''), body: a.body };
}

/** Relative power of `hz` in the samples (Goertzel), per sample squared. */
function tonePower(samples: Int16Array, hz: number, rate = 8000): number {
  const k = 2 * Math.cos((2 * Math.PI * hz) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s = x + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.length / samples.length;
}

describe('supervisors through the real stack', () => {
  it('a recorded queue call: the WAV contains both tones; wallboard and report count it', async () => {
    // The agent: a Node SIP client answering with 600 Hz.
    const ua = await udpUser(stack, '1003', 1);
    const agentRtp = await RtpEndpoint.open(ports.clientMedia(1), 600);
    let agentDialog: Dialog | undefined;
    ua.onRequest((req) => {
      if (req.msg.method === 'INVITE') {
        agentDialog = req.reply(200, 'OK', {
          body: plainSdp(agentRtp.port),
          contentType: 'application/sdp',
        });
        const to = sdpAudio(req.msg.body);
        agentRtp.sendTo(to.host, to.port);
      } else if (req.msg.method !== 'ACK') req.reply(200, 'OK');
    });
    expect((await ua.register({ expires: 300 })).final.status).toBe(200);
    await until('1003 registered', () => stack.gw.registrations.isRegistered('1003'), 3000);
    cc.setState('1003', 'available');

    // The caller: 1000 Hz from the carrier.
    const {
      inv,
      rtp: callerRtp,
      callId,
    } = await carrierCalls(carrier, ports, DID_SALES, {
      hz: 1000,
      callId: `sup-${Date.now()}@carrier`,
    });
    expect(inv.final.status).toBe(200);
    try {
      const bridged = await until('agent answered', () => agentDialog, 8000);
      expect(bridged).toBeTruthy();
      const since = Date.now();
      await until(
        'both tones flow',
        () => {
          return (
            callerRtp.toneFrom(600, since).length >= 50 &&
            agentRtp.toneFrom(1000, since).length >= 50
          );
        },
        8000,
      );
      // Two more seconds of conversation in the recording.
      await new Promise((r) => setTimeout(r, 2000));
      const row = cc.store.queueCalls().find((r) => r.callId === callId)!;
      const board = cc.supervision.wallboard({ actor: '1001', queues: ['sales'] });
      expect(board.agents[0]!.call).toMatchObject({ queueCallId: row.id, recorded: true });
      expect(cc.view('1003').call!.recorded).toBe(true);
      expect(await carrier.inDialog(inv.dialog!, 'BYE').then((r) => r.status)).toBe(200);
    } finally {
      callerRtp.stopSending();
      agentRtp.stopSending();
    }

    const row = cc.store.queueCalls().find((r) => r.callId === callId)!;
    const file = await until(
      'recording converted',
      () => cc.store.recording(row.id)?.file ?? undefined,
      8000,
    );
    const wavPath = cc.recordingPath(file);
    const wav = readFileSync(wavPath);
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    const samples = new Int16Array(
      wav.buffer.slice(wav.byteOffset + 44, wav.byteOffset + wav.length),
    );
    const seconds = samples.length / 8000;
    const p600 = tonePower(samples, 600);
    const p1000 = tonePower(samples, 1000);
    const p800 = tonePower(samples, 800);
    console.log(
      `recording: ${seconds.toFixed(1)} s, power 600 Hz ${p600.toFixed(0)}, 1000 Hz ${p1000.toFixed(0)}, 800 Hz (absent) ${p800.toFixed(1)}`,
    );
    expect(seconds).toBeGreaterThan(2);
    expect(p600).toBeGreaterThan(100 * Math.max(p800, 1));
    expect(p1000).toBeGreaterThan(100 * Math.max(p800, 1));
    // rtpengine's pcap and metadata are gone once the WAV exists.
    const spool = join(stack.dataDir, 'recordings', 'spool', 'pcaps');
    expect(existsSync(spool) ? readdirSync(spool).filter((f) => f.startsWith(callId)) : []).toEqual(
      [],
    );

    const board = cc.supervision.wallboard({ actor: '1001', queues: ['sales'] });
    expect(board.queues[0]!.today).toMatchObject({ offered: 1, answered: 1, abandoned: 0 });

    // The same WAV through the service's HTTPS supervisor API (admin token), audited.
    const admin = readFileSync(join(stack.dataDir, 'secrets', 'admin-token'), 'utf8').trim();
    const url = `/api/supervisor/recordings/${encodeURIComponent(row.id)}`;
    expect((await get(url)).status).toBe(401);
    const served = await get(url, admin);
    expect([served.status, served.type]).toEqual([200, 'audio/wav']);
    expect(served.body.equals(wav)).toBe(true);
    expect(cc.store.auditLog()[0]).toMatchObject({
      actor: 'admin',
      action: 'play-recording',
      target: row.id,
      allowed: true,
    });
    const report = await get('/api/supervisor/reports?interval=1d&format=csv', admin);
    expect(report.status).toBe(200);
    expect(report.body.toString().split('\r\n')[1]).toMatch(/,sales,1,1,0,0,0,0,1,100,/);

    // Retention: 8 days later the file is deleted and the deletion audited.
    expect(cc.supervision.runRetention(Date.now() + 8 * 86_400_000)).toBe(1);
    expect(existsSync(wavPath)).toBe(false);
    expect(cc.store.auditLog()[0]).toMatchObject({ action: 'recording-deleted', target: row.id });

    agentRtp.close();
    callerRtp.close();
    await ua.register({ expires: 0 }).catch(() => undefined);
    await ua.close();
    expect(await noMediaSessions(stack, 5000)).toBe(0);
  });

  it('the scripted scenario (1 answered, 1 abandoned): wallboard and reports through the API give the same numbers after a gateway restart on the same data dir', async () => {
    // Follows the first test (1 call answered within the service level). Now a
    // caller waits with no agent ready and hangs up after 2 s: an abandon.
    cc.setState('1003', 'not-ready', 'Break');
    const {
      inv,
      rtp: callerRtp,
      callId,
    } = await carrierCalls(carrier, ports, DID_SALES, {
      hz: 1000,
      callId: `sup-abandon-${Date.now()}@carrier`,
    });
    expect(inv.final.status).toBe(200);
    await until(
      'caller queued',
      () => cc.store.queueCalls().find((r) => r.callId === callId),
      5000,
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect(await carrier.inDialog(inv.dialog!, 'BYE').then((r) => r.status)).toBe(200);
    callerRtp.close();
    await until(
      'abandon recorded',
      () => cc.store.queueCalls().find((r) => r.callId === callId && r.outcome === 'abandoned'),
      5000,
    );
    // End of shift: the agent's logged-in time stops, so occupancy is fixed too.
    cc.setState('1003', 'offline', null);

    const admin = readFileSync(join(stack.dataDir, 'secrets', 'admin-token'), 'utf8').trim();
    const json = async (path: string) => {
      const a = await get(path, admin);
      expect(a.status).toBe(200);
      return JSON.parse(a.body.toString()) as Record<string, unknown>;
    };
    type Rows = { rows: Record<string, unknown>[] };
    const snapshot = async () => {
      const board = (await json('/api/supervisor/wallboard')) as {
        queues: { name: string; today: Record<string, unknown> }[];
      };
      return {
        today: board.queues.find((q) => q.name === 'sales')!.today,
        byQueue: ((await json('/api/supervisor/reports?interval=1d')) as Rows).rows,
        by15m: ((await json('/api/supervisor/reports?interval=15m')) as Rows).rows,
        byAgent: ((await json('/api/supervisor/reports?interval=1d&by=agent')) as Rows).rows,
        csv: (await get('/api/supervisor/reports?interval=1d&format=csv', admin)).body.toString(),
      };
    };
    const before = await snapshot();
    // The scenario's exact numbers, on the wallboard and in the day's report row.
    const expected = {
      offered: 2,
      answered: 1,
      abandoned: 1,
      shortAbandoned: 0,
      answeredWithinSl: 1,
      serviceLevelPct: 50,
    };
    expect(before.today).toMatchObject(expected);
    expect(before.byQueue).toEqual([expect.objectContaining({ queue: 'sales', ...expected })]);
    const sum = (k: string) => before.by15m.reduce((n, r) => n + Number(r[k]), 0);
    expect([sum('offered'), sum('answered'), sum('abandoned')]).toEqual([2, 1, 1]);
    expect(before.byAgent).toEqual([expect.objectContaining({ agent: '1003', answered: 1 })]);
    console.log(`before restart: ${JSON.stringify(before.byQueue[0])}`);

    // Restart the gateway service (every child too) on the same data dir and config.
    await stack.stop();
    const gw = await startGateway(stack.cfg, {
      log: createLogger(process.env.TEST_LOG_LEVEL ?? 'warn'),
    });
    stack = { ...stack, gw, stop: () => gw.stop() };
    cc = gw.contactCenter!;

    const after = await snapshot();
    console.log(`after restart: ${JSON.stringify(after.byQueue[0])}`);
    expect(after.today).toMatchObject(expected);
    expect(after).toEqual(before);
  });
});
