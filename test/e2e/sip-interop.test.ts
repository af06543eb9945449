// Browser ↔ plain SIP through the gateway, both directions:
//  - the browser calls the built-in echo (9196, sipp -rtp_echo behind rtpengine)
//    and tone (9198, 440 Hz) services;
//  - baresip, a real SIP phone registered over UDP as 1003 (ausine 800 Hz as its
//    microphone, sndfile recording), calls the browser (1001, 1000 Hz);
//  - DTMF (RFC 4733) from the browser's keypad reaches baresip: its own event
//    and, independently, the telephone-event packets on the wire (tshark).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startE2eStack, e2ePortsFor, type E2eStack } from './harness/stack.js';
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
  until,
  waitCallState,
  waitLinesReleased,
  waitNoLiveCall,
  type Phone,
} from './harness/softphone.js';
import { Baresip } from './harness/baresip.js';
import { analyse, readWav, wavState } from './harness/audio.js';
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
/** This file's port block (E2E_BLOCKS): the stack and baresip. */
const PORTS = e2ePortsFor('sip-interop');
const BS = {
  sip: PORTS.endpoints + 10,
  ctrl: PORTS.endpoints + 20,
  rtp: PORTS.endpoints + 30, // 10 ports
};

let stack: E2eStack;
let phone: Phone;
let baresip: Baresip;

describe('browser ↔ plain SIP through the gateway', () => {
  beforeAll(async () => {
    ensureSoftphoneBuilt();
    clearFailureShots('sip-interop');
    stack = await startE2eStack('sip-interop');
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
    await waitNoLiveCall(phone.page).catch(() => undefined);
    await waitLinesReleased(phone.page);
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
      // baresip records what it receives (…-dec.wav) while the call is up: wait
      // for 2 s of it, then hang up and wait for sndfile to close the file
      const newDec = () =>
        baresip.recordings().find((f) => !before.includes(f.file) && f.file.endsWith('-dec.wav'));
      const dec = await until(
        'baresip to record 2 s of the browser',
        async () => {
          const f = newDec();
          return f && wavState(f.file).seconds >= 2 ? f : undefined;
        },
        10_000,
        100,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; recordings ${JSON.stringify(baresip.recordings())}`);
      });
      await hangup(phone.page);
      await baresip.waitEvent((e) => e.type === 'CALL_CLOSED', 'CALL_CLOSED', 10_000, since);
      await until(
        'sndfile to close the recording',
        async () => wavState(dec.file).closed,
        5000,
        50,
      );

      const got = analyse(readWav(dec.file), 0.5);
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
      // media is up toward baresip before the first digit (its jitter buffer
      // would otherwise swallow an event that arrives with the first packets)
      await baresip.waitEvent(
        (e) => e.type === 'CALL_ESTABLISHED',
        'CALL_ESTABLISHED',
        10_000,
        since,
      );
      const outSince = baresip.output.length;
      const dtmfSeen = () => {
        const events = baresip.events
          .slice(since)
          .filter((e) => e.type === 'CALL_DTMF_START')
          .map((e) => String(e.param ?? ''));
        const consoleDigits = [
          ...baresip.output.slice(outSince).matchAll(/received DTMF: '(.)'/g),
        ].map((m) => m[1] ?? '');
        return { events, consoleDigits, n: Math.max(events.length, consoleDigits.length) };
      };
      // one digit at a time: press, then wait until baresip has it (a press
      // while a tone still plays would replace the browser's tone buffer)
      for (const [i, d] of ['5', '#', '1'].entries()) {
        await byId(phone.page, `dtmf-${d}`).click();
        await until(`baresip to receive DTMF '${d}'`, async () => dtmfSeen().n > i, 5000, 50).catch(
          (err: Error) => {
            throw new Error(`${err.message}: ${JSON.stringify(dtmfSeen())}`);
          },
        );
      }
      const { events: got, consoleDigits: fromConsole } = dtmfSeen();
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
