// Browser ↔ plain SIP through the gateway, both directions:
//  - the browser calls the built-in echo (9196, sipp -rtp_echo behind rtpengine)
//    and tone (9198, 440 Hz) services;
//  - baresip, a real SIP phone registered over UDP as 1003 (ausine 800 Hz as its
//    microphone, sndfile recording), calls the browser (1001, 1000 Hz);
//  - DTMF (RFC 4733) from the browser's keypad reaches baresip: its own event
//    and, independently, the telephone-event packets on the wire (tshark).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startE2eStack, E2E_PORTS, type E2eStack } from './harness/stack.js';
import {
  answer,
  byId,
  dial,
  expectTone,
  hangup,
  launchPhone,
  loginDemo,
  packetGrowth,
  report,
  sleep,
  waitCallState,
  type Phone,
} from './harness/softphone.js';
import { Baresip } from './harness/baresip.js';
import { analyse, readWav } from './harness/audio.js';
import { Capture } from './harness/capture.js';
import { clearFailureShots, ensureSoftphoneBuilt, failureShot } from './harness/artifacts.js';

const TOL = 30;
/**
 * Level of the tone's bin (linear, from the AnalyserNode): a live tone measures
 * 0.012–0.15 here, digital silence about 1e-5; 0.003 is about -50 dB.
 */
const MIN_LEVEL = 0.003;
const FLOWING = 20;
const BROWSER_HZ = 1000;
const BARESIP_HZ = 800;
const BS = {
  sip: E2E_PORTS.endpoints + 10, // 20510
  ctrl: E2E_PORTS.endpoints + 20, // 20520
  rtp: E2E_PORTS.endpoints + 30, // 20530-20539
};

let stack: E2eStack;
let phone: Phone;
let baresip: Baresip;

describe('browser ↔ plain SIP through the gateway', () => {
  beforeAll(async () => {
    ensureSoftphoneBuilt();
    clearFailureShots('sip-interop');
    stack = await startE2eStack('sip');
    phone = await launchPhone('1001', BROWSER_HZ, stack.baseUrl);
    await loginDemo(phone, '1001');
    baresip = new Baresip({
      user: '1003',
      password: 'demo-1003-pw',
      proxy: stack.sipAddress,
      sipPort: BS.sip,
      ctrlPort: BS.ctrl,
      rtpPort: BS.rtp,
      toneHz: BARESIP_HZ,
    });
    await baresip.start();
    await baresip.waitRegistered(10_000);
  });

  afterAll(async () => {
    await baresip?.stop();
    await phone?.close();
    await stack?.stop();
  });

  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail') {
      process.stderr.write(
        `\n[e2e] ${task.name} failed; component logs:\n${stack.logs(40)}\n${report(phone)}\n--- baresip:\n${baresip.output.slice(-3000)}\n`,
      );
      await failureShot(phone.page, 'sip-interop', task.name);
    }
    await hangup(phone.page).catch(() => undefined);
    await baresip.command('hangup').catch(() => undefined);
    await sleep(300);
  });

  it('echo service 9196: the browser hears its own tone back (3 calls)', async () => {
    for (let i = 1; i <= 3; i++) {
      await dial(phone.page, '9196');
      await waitCallState(phone.page, 'established', 15_000);
      const heard = await expectTone(phone.page, BROWSER_HZ, { tol: TOL, minLevel: MIN_LEVEL });
      const flow = await packetGrowth(phone.page);
      expect(
        Math.abs(heard.hz - BROWSER_HZ),
        `call ${i}: ${JSON.stringify({ heard, flow })}`,
      ).toBeLessThanOrEqual(TOL);
      expect(heard.level, `call ${i}`).toBeGreaterThan(MIN_LEVEL);
      expect(flow.delta, `call ${i}`).toBeGreaterThan(FLOWING);
      await hangup(phone.page);
      await waitCallState(phone.page, ['ended', 'idle'], 10_000);
    }
  });

  it('tone service 9198: the browser hears 440 Hz', async () => {
    await dial(phone.page, '9198');
    await waitCallState(phone.page, 'established', 15_000);
    const heard = await expectTone(phone.page, 440, { tol: TOL, minLevel: MIN_LEVEL });
    const flow = await packetGrowth(phone.page);
    expect(Math.abs(heard.hz - 440), JSON.stringify({ heard, flow })).toBeLessThanOrEqual(TOL);
    expect(heard.level, JSON.stringify({ heard, flow })).toBeGreaterThan(MIN_LEVEL);
    expect(flow.delta, JSON.stringify({ heard, flow })).toBeGreaterThan(FLOWING);
  });

  it('baresip (SIP/UDP, 1003) calls the browser (1001): audio both ways (2 calls)', async () => {
    for (let i = 1; i <= 2; i++) {
      const before = baresip.recordings().map((r) => r.file);
      const since = baresip.events.length;
      const r = await baresip.command('dial', 'sip:1001@localhost');
      expect(r.ok, `baresip dial: ${r.data}`).toBe(true);
      await byId(phone.page, 'answer-button').waitFor({ state: 'visible', timeout: 15_000 });
      await answer(phone.page);
      await waitCallState(phone.page, 'established', 15_000);
      await baresip.waitEvent(
        (e) => e.type === 'CALL_ESTABLISHED',
        'CALL_ESTABLISHED',
        10_000,
        since,
      );

      const heard = await expectTone(phone.page, BARESIP_HZ, { tol: TOL, minLevel: MIN_LEVEL });
      expect(
        Math.abs(heard.hz - BARESIP_HZ),
        `call ${i}: browser hears ${JSON.stringify(heard)}`,
      ).toBeLessThanOrEqual(TOL);
      expect(heard.level).toBeGreaterThan(MIN_LEVEL);
      await sleep(2000); // let baresip record a couple of seconds of the browser
      await hangup(phone.page);
      await baresip.waitEvent((e) => e.type === 'CALL_CLOSED', 'CALL_CLOSED', 10_000, since);
      await sleep(300);

      const dec = baresip
        .recordings()
        .find((f) => !before.includes(f.file) && f.file.endsWith('-dec.wav'));
      expect(
        dec,
        `baresip wrote no decode recording: ${JSON.stringify(baresip.recordings())}`,
      ).toBeDefined();
      const got = analyse(readWav(dec!.file), 0.5);
      expect(got.seconds, `baresip recording too short: ${JSON.stringify(got)}`).toBeGreaterThan(1);
      expect(
        Math.abs(got.hz - BROWSER_HZ),
        `call ${i}: baresip received ${JSON.stringify(got)}`,
      ).toBeLessThanOrEqual(TOL);
      expect(
        got.rms,
        `call ${i}: baresip received near silence ${JSON.stringify(got)}`,
      ).toBeGreaterThan(0.01);
    }
  });

  it('DTMF: keypad digits from the browser reach baresip as RFC 4733 events', async () => {
    // baresip's SIP too, so tshark learns the RTP stream and its telephone-event payload type from the SDP
    const capture = new Capture(
      join(baresip.dir, 'dtmf.pcap'),
      `udp port ${BS.sip} or udp portrange ${BS.rtp}-${BS.rtp + 9}`,
    );
    await capture.start();
    try {
      const since = baresip.events.length;
      await dial(phone.page, '1003');
      await baresip.waitEvent((e) => e.type === 'CALL_INCOMING', 'CALL_INCOMING', 15_000, since);
      const acc = await baresip.command('accept');
      expect(acc.ok, `baresip accept: ${acc.data}`).toBe(true);
      await waitCallState(phone.page, 'established', 15_000);
      await sleep(500);
      for (const d of ['5', '#', '1']) {
        await byId(phone.page, `dtmf-${d}`).click();
        await sleep(400);
      }
      await sleep(800);
      const got = baresip.events
        .slice(since)
        .filter((e) => e.type === 'CALL_DTMF_START')
        .map((e) => String(e.param ?? ''));
      const fromConsole = [...baresip.output.matchAll(/received DTMF: '(.)'/g)].map((m) => m[1]);
      await hangup(phone.page);
      await capture.stop();
      // RFC 4733 event ids: 0-9 digits, 10 '*', 11 '#'
      // one event = every packet with the same RTP timestamp (start, updates, 3 end packets)
      const seen = new Set<string>();
      const wire: number[] = [];
      for (const [id, ts, ssrc] of capture.fields('rtpevent', [
        'rtpevent.event_id',
        'rtp.timestamp',
        'rtp.ssrc',
      ])) {
        const key = `${ssrc}/${ts}`;
        if (!seen.has(key)) {
          seen.add(key);
          wire.push(Number(id));
        }
      }
      const digits = { 5: '5', 11: '#', 1: '1' } as Record<number, string>;
      expect(
        wire.map((v) => digits[v] ?? `?${v}`),
        `telephone-event packets toward baresip (tshark); baresip events ${JSON.stringify(got)}, console ${JSON.stringify(fromConsole)}`,
      ).toEqual(['5', '#', '1']);
      expect(got.length ? got : fromConsole, 'baresip reports the digits it received').toEqual([
        '5',
        '#',
        '1',
      ]);
    } finally {
      await capture.stop();
    }
  });
});
