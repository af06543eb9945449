import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { e2ePortsFor, startE2eStack, type E2eStack } from './harness/stack.js';
import {
  answer,
  byId,
  dial,
  goView,
  expectTone,
  hangup,
  launchPhone,
  loginDemo,
  packetGrowth,
  registrationState,
  report,
  until,
  waitAttr,
  waitCallState,
  waitLinesReleased,
  waitNoLiveCall,
  type Phone,
} from './harness/softphone.js';
import { Baresip } from './harness/baresip.js';
import { openBarePhone } from './harness/bare.js';
import { dominantFrequency } from './harness/browser.js';
import { analyse, readWav, wavState } from './harness/audio.js';
import { clearFailureShots, ensureSoftphoneBuilt, failureShot } from './harness/artifacts.js';

// Issue 11 ("Test depth"), the trunk path with real audio: a browser (Opus,
// 1001 at 600 Hz) calls a G.711-only carrier (baresip on the trunk's address
// 127.0.0.2, PCMU only, 1000 Hz) and is called from it through a DID; each
// side must hear the other's tone, so rtpengine really transcodes Opus <-> PCMU
// and nothing is crossed or looped. Then Kamailio is killed with a call up and,
// once the browser says it is registered again, the carrier calls the DID:
// the browser's binding is really back (it rings and has audio), not just the badge.

const PORTS = e2ePortsFor('media-features');
const CARRIER = '127.0.0.2';
const DID = '+15550100901';
// baresip 1.0 only takes an INVITE whose Request-URI user is its account's
// user: the carrier's one number is both what the browser dials and its caller ID
const OUT_NUMBER = '+15551230000';
const CALLER = OUT_NUMBER;
const BROWSER_HZ = 600;
const CARRIER_HZ = 1000;
const TOL = 30;
const MIN_LEVEL = 0.003;
const BS = { sip: PORTS.endpoints + 10, ctrl: PORTS.endpoints + 20, rtp: PORTS.endpoints + 30 };

let stack: E2eStack;
let phone: Phone;
let carrier: Baresip;
/** 1002 offers and answers Opus only (codec preferences set before every offer/answer): rtpengine must transcode. */
let opusOnly: Phone;
const OPUS_ONLY_HZ = 700;

/** Init script: every audio transceiver of the page prefers Opus only, so the browser can neither send nor take G.711. */
const OPUS_ONLY = () => {
  const P = window.RTCPeerConnection.prototype;
  const only = (pc: RTCPeerConnection) => {
    const caps = RTCRtpReceiver.getCapabilities('audio')?.codecs ?? [];
    const opus = caps.filter((c) => c.mimeType.toLowerCase() === 'audio/opus');
    for (const t of pc.getTransceivers()) {
      if (t.receiver.track?.kind === 'audio' && opus.length) t.setCodecPreferences(opus);
    }
  };
  const offer = P.createOffer;
  const answer = P.createAnswer;
  P.createOffer = function (this: RTCPeerConnection, ...a: unknown[]) {
    only(this);
    return (offer as (...x: unknown[]) => Promise<RTCSessionDescriptionInit>).apply(this, a);
  } as typeof P.createOffer;
  P.createAnswer = function (this: RTCPeerConnection, ...a: unknown[]) {
    only(this);
    return (answer as (...x: unknown[]) => Promise<RTCSessionDescriptionInit>).apply(this, a);
  } as typeof P.createAnswer;
};

/**
 * Codec of the browser's inbound audio (getStats inbound-rtp -> codec mimeType),
 * once some has arrived: a call is established (200 OK, ACK) before the first
 * packet has crossed ICE and DTLS, and until then there is no inbound-rtp at
 * all. Waits up to 10 s, then returns what it sees (empty: nothing arrived).
 */
async function inboundCodec(p: Phone): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const codecs = await inboundCodecNow(p);
    if (codecs.length > 0 || Date.now() > deadline) return codecs;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function inboundCodecNow(p: Phone): Promise<string[]> {
  return p.page.evaluate(async () => {
    const rec = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e;
    const out: string[] = [];
    for (const pc of rec?.pcs ?? []) {
      if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
      const stats = await pc.getStats();
      const codecs = new Map<string, string>();
      stats.forEach((s: Record<string, unknown>) => {
        if (s.type === 'codec') codecs.set(String(s.id), String(s.mimeType));
      });
      stats.forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.codecId)
          out.push(codecs.get(String(s.codecId)) ?? '?');
      });
    }
    return out;
  });
}

/** SSRCs of inbound audio that no receiver track plays (inbound-rtp without trackIdentifier). */
async function unplayedInbound(p: Phone): Promise<number[]> {
  return p.page.evaluate(async () => {
    const rec = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e;
    const out: number[] = [];
    for (const pc of rec?.pcs ?? []) {
      if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio' && !s.trackIdentifier)
          out.push(Number(s.ssrc));
      });
    }
    return out;
  });
}

/** Video frames decoded by the page's open RTCPeerConnections (inbound-rtp video). */
async function framesDecoded(p: Phone): Promise<number> {
  return p.page.evaluate(async () => {
    const rec = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e;
    let n = 0;
    for (const pc of rec?.pcs ?? []) {
      if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') n += Number(s.framesDecoded ?? 0);
      });
    }
    return n;
  });
}

/** The carrier's recording of what it received during the call that began after `before`: its last 2 s. */
async function carrierHeard(before: string[]) {
  const dec = await until(
    'the carrier to record 3 s of the browser',
    async () => {
      const f = carrier
        .recordings()
        .find((x) => !before.includes(x.file) && x.file.endsWith('-dec.wav'));
      return f && wavState(f.file).seconds >= 3 ? f : undefined;
    },
    15_000,
    100,
  );
  const wav = readWav(dec.file);
  const secs = wav.samples.length / wav.rate;
  return analyse(wav, secs - 2, secs);
}

/** Both directions of an established browser <-> carrier call. */
async function expectBothWays(
  label: string,
  before: string[],
  p: Phone = phone,
  browserHz = BROWSER_HZ,
): Promise<string[]> {
  const heard = await expectTone(p.page, CARRIER_HZ, { tol: TOL, minLevel: MIN_LEVEL });
  expect(
    Math.abs(heard.hz - CARRIER_HZ),
    `${label}: browser hears ${JSON.stringify(heard)}`,
  ).toBeLessThanOrEqual(TOL);
  expect(heard.level, `${label}: browser level`).toBeGreaterThan(MIN_LEVEL);
  expect((await packetGrowth(p.page)).delta, `${label}: inbound RTP`).toBeGreaterThan(10);
  const codecs = await inboundCodec(p);
  expect(codecs.length, `${label}: browser inbound codec`).toBeGreaterThan(0);
  process.stdout.write(`[e2e] ${label}: browser receives ${codecs.join(',')}\n`);

  const got = await carrierHeard(before);
  expect(
    Math.abs(got.hz - browserHz),
    `${label}: carrier received ${JSON.stringify(got)}`,
  ).toBeLessThanOrEqual(TOL);
  expect(got.rms, `${label}: carrier received near silence`).toBeGreaterThan(0.01);
  return codecs;
}

/** The SDP the carrier negotiated: only PCMU (baresip prints the codec it uses). */
function carrierCodecSeen(since: number): string {
  return carrier.output.slice(since);
}

describe('media features: G.711-only trunk (both ways, transcoding), video, Kamailio restart, relay only', () => {
  beforeAll(async () => {
    ensureSoftphoneBuilt();
    clearFailureShots('media-features');
    stack = await startE2eStack('media-features', {
      trunks: [
        {
          name: 'carrier',
          host: CARRIER,
          port: BS.sip,
          inboundAddresses: [CARRIER],
          prefixes: ['+1555'],
          codecs: ['PCMU'],
        },
      ],
      dids: [{ number: DID, username: '1001' }],
    });
    phone = await launchPhone('1001', BROWSER_HZ, stack.baseUrl);
    opusOnly = await launchPhone('1002', OPUS_ONLY_HZ, stack.baseUrl);
    await opusOnly.context.addInitScript(OPUS_ONLY);
    carrier = new Baresip({
      user: CALLER,
      password: '',
      proxy: stack.sipAddress,
      sipPort: BS.sip,
      ctrlPort: BS.ctrl,
      rtpPort: BS.rtp,
      toneHz: CARRIER_HZ,
      carrierAddress: CARRIER,
    });
    await carrier.start();
    await loginDemo(phone, '1001');
    await loginDemo(opusOnly, '1002');
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') {
      await failureShot(phone.page, 'media-features', ctx.task.name, '1001');
      process.stderr.write(
        `\n[e2e] ${ctx.task.name} failed:\n${stack.logs(40)}\n${report(phone)}\n--- carrier baresip:\n${carrier.output.slice(-3000)}\n`,
      );
    }
    await hangup(phone.page).catch(() => undefined);
    await hangup(opusOnly.page).catch(() => undefined);
    await carrier.command('hangup').catch(() => undefined);
    await waitNoLiveCall(phone.page).catch(() => undefined);
    await waitLinesReleased(phone.page);
    await waitNoLiveCall(opusOnly.page).catch(() => undefined);
    await waitLinesReleased(opusOnly.page);
  });

  afterAll(async () => {
    await carrier?.stop();
    await phone?.close();
    await opusOnly?.close();
    await stack?.stop();
  });

  it('the browser calls a number on the PCMU-only trunk: the carrier answers, tones both ways, PCMU only toward the carrier', async () => {
    const before = carrier.recordings().map((r) => r.file);
    const since = carrier.events.length;
    const out = carrier.output.length;
    await dial(phone.page, OUT_NUMBER);
    const inc = await carrier.waitEvent(
      (e) => e.type === 'CALL_INCOMING',
      'CALL_INCOMING at the carrier',
      15_000,
      since,
    );
    expect(JSON.stringify(inc)).toContain(OUT_NUMBER.slice(1));
    const acc = await carrier.command('accept');
    expect(acc.ok, `carrier accept: ${acc.data}`).toBe(true);
    await waitCallState(phone.page, 'established', 15_000);
    await carrier.waitEvent(
      (e) => e.type === 'CALL_ESTABLISHED',
      'CALL_ESTABLISHED',
      10_000,
      since,
    );
    await expectBothWays('browser -> trunk', before);
    const log = carrierCodecSeen(out);
    expect(log, 'the carrier negotiated PCMU').toMatch(/PCMU/);
    expect(log, 'no PCMA offered to a PCMU-only trunk').not.toMatch(/PCMA\/8000/);
    await hangup(phone.page);
    await carrier.waitEvent((e) => e.type === 'CALL_CLOSED', 'CALL_CLOSED', 10_000, since);
  });

  /** An Opus-only browser (1002) calls the carrier and the carrier answers. */
  async function opusOnlyCall() {
    const before = carrier.recordings().map((r) => r.file);
    const since = carrier.events.length;
    const out = carrier.output.length;
    await dial(opusOnly.page, OUT_NUMBER);
    await carrier.waitEvent(
      (e) => e.type === 'CALL_INCOMING',
      'CALL_INCOMING at the carrier',
      15_000,
      since,
    );
    const acc = await carrier.command('accept');
    expect(acc.ok, `carrier accept: ${acc.data}`).toBe(true);
    await waitCallState(opusOnly.page, 'established', 15_000);
    await carrier.waitEvent(
      (e) => e.type === 'CALL_ESTABLISHED',
      'CALL_ESTABLISHED',
      10_000,
      since,
    );
    return { before, since, out };
  }

  it('transcoding: an Opus-only browser (1002) calls the PCMU-only carrier: Opus on the browser leg, PCMU on the trunk, the carrier hears the browser, RTP reaches the browser', async () => {
    const { before, since, out } = await opusOnlyCall();
    expect(await inboundCodec(opusOnly), 'the browser leg is Opus').toEqual(['audio/opus']);
    const got = await carrierHeard(before);
    expect(
      Math.abs(got.hz - OPUS_ONLY_HZ),
      `the carrier received ${JSON.stringify(got)}`,
    ).toBeLessThanOrEqual(TOL);
    expect(got.rms).toBeGreaterThan(0.01);
    expect(
      (await packetGrowth(opusOnly.page)).delta,
      'Opus RTP toward the browser',
    ).toBeGreaterThan(10);
    const log = carrier.output.slice(out);
    expect(log, 'the carrier negotiated PCMU').toMatch(/PCMU/);
    expect(log, 'no Opus toward the carrier').not.toMatch(/opus/i);
    await hangup(opusOnly.page);
    await carrier.waitEvent((e) => e.type === 'CALL_CLOSED', 'CALL_CLOSED', 10_000, since);
  });

  // PCMU -> Opus toward a WebRTC browser. This was silent: rtpengine sent ~50
  // Opus packets/s that decoded fine in libopus (a 1000 Hz tone) but Chromium
  // played them nowhere (inbound-rtp without trackIdentifier, audioLevel 0):
  // rtpengine 10.5 passes the carrier's a=ssrc through to the browser yet sends
  // its own SSRC once it transcodes, and Chromium ties the receiver to the SSRC
  // announced. The gateway drops the far end's audio a=ssrc toward WebRTC
  // clients (kamailio.cfg route RTPENGINE_SDP; the next test proves it without
  // the softphone), and the softphone drops them too (withoutAudioSsrc in
  // softphone/src/phone/media-session.ts: the call-control tier's own answers
  // to its callers do not pass that route).
  it('the Opus-only browser hears the PCMU carrier (transcoded to Opus)', async () => {
    await opusOnlyCall();
    const heard = await expectTone(opusOnly.page, CARRIER_HZ, { tol: TOL, minLevel: MIN_LEVEL });
    expect(
      Math.abs(heard.hz - CARRIER_HZ),
      `the Opus-only browser hears ${JSON.stringify(heard)}`,
    ).toBeLessThanOrEqual(TOL);
    expect(heard.level).toBeGreaterThan(MIN_LEVEL);
    expect(await inboundCodec(opusOnly), 'the browser leg is Opus').toEqual(['audio/opus']);
    expect(await unplayedInbound(opusOnly), 'inbound audio no track plays').toEqual([]);
    await hangup(opusOnly.page);
  });

  // The same call from a WebRTC client that is not this softphone: a bare
  // SIP.js UserAgent (test/e2e/harness/bare), which rewrites no SDP of its own,
  // Opus only as 1002's browser. rtpengine 10.5 passes the carrier's a=ssrc
  // through but sends its own SSRC once it transcodes, and Chromium ties the
  // receiver to the SSRC announced: the gateway must drop the far end's audio
  // a=ssrc toward WebRTC clients (route RTPENGINE), or this client hears nothing.
  it('a WebRTC client that is not this softphone (bare SIP.js, Opus only) hears the PCMU carrier: the gateway announces no stale audio a=ssrc', async () => {
    type Bare = {
      register(u: string, p: string): Promise<number>;
      call(n: string): Promise<{ status?: number }>;
      hangup(): Promise<void>;
      stop(): Promise<void>;
      pc(): RTCPeerConnection | undefined;
      t: Record<string, number>;
    };
    const page = await opusOnly.context.newPage();
    try {
      await openBarePhone(page, stack.baseUrl);
      await page.evaluate(
        ([u, p]) => (window as unknown as { bare: Bare }).bare.register(u!, p!),
        ['1003', 'demo-1003-pw'],
      );
      const since = carrier.events.length;
      const calling = page.evaluate(
        (n) => (window as unknown as { bare: Bare }).bare.call(n),
        OUT_NUMBER,
      );
      await carrier.waitEvent(
        (e) => e.type === 'CALL_INCOMING',
        'CALL_INCOMING at the carrier',
        15_000,
        since,
      );
      const acc = await carrier.command('accept');
      expect(acc.ok, `carrier accept: ${acc.data}`).toBe(true);
      await calling;
      await until('the bare client to establish the call', () =>
        page.evaluate(() => ((window as unknown as { bare: Bare }).bare.t.established ?? 0) > 0),
      );
      const sdp = await page.evaluate(
        () => (window as unknown as { bare: Bare }).bare.pc()?.remoteDescription?.sdp ?? '',
      );
      const audio = sdp.split(/\r?\nm=/).find((m) => m.startsWith('audio ')) ?? '';
      const stale = audio.split(/\r?\n/).filter((l) => /^a=ssrc(-group)?:/.test(l));
      const stream = `document.querySelector('[data-testid="bare-remote-audio"]')?.srcObject`;
      let heard = { hz: 0, level: 0 };
      const end = Date.now() + 8000;
      while (Date.now() < end) {
        heard = await dominantFrequency(page, stream, 1000);
        if (Math.abs(heard.hz - CARRIER_HZ) <= TOL && heard.level > MIN_LEVEL) break;
      }
      const unplayed = await page.evaluate(async () => {
        const out: number[] = [];
        const pc = (window as unknown as { bare: Bare }).bare.pc();
        (await pc?.getStats())?.forEach((s: Record<string, unknown>) => {
          if (s.type === 'inbound-rtp' && s.kind === 'audio' && !s.trackIdentifier)
            out.push(Number(s.ssrc));
        });
        return out;
      });
      const seen = `heard ${JSON.stringify(heard)}, inbound audio no track plays ${JSON.stringify(unplayed)}, audio a=ssrc announced ${JSON.stringify(stale)}`;
      process.stdout.write(`[e2e] bare SIP.js (Opus only) <- PCMU carrier: ${seen}\n`);
      expect(stale, `the gateway's SDP toward the WebRTC client: ${seen}`).toEqual([]);
      expect(Math.abs(heard.hz - CARRIER_HZ), seen).toBeLessThanOrEqual(TOL);
      expect(heard.level, seen).toBeGreaterThan(MIN_LEVEL);
      expect(unplayed, seen).toEqual([]);
      await page.evaluate(() => (window as unknown as { bare: Bare }).bare.hangup());
      await carrier.waitEvent((e) => e.type === 'CALL_CLOSED', 'CALL_CLOSED', 10_000, since);
    } finally {
      await page
        .evaluate(() => (window as unknown as { bare: Bare }).bare.stop())
        .catch(() => undefined);
      await page.close();
    }
  });

  it('the carrier calls the DID: the browser rings, answers, tones both ways', async () => {
    const before = carrier.recordings().map((r) => r.file);
    const since = carrier.events.length;
    const r = await carrier.command('dial', `sip:${DID}@${stack.sipAddress}`);
    expect(r.ok, `carrier dial: ${r.data}`).toBe(true);
    await byId(phone.page, 'answer-button').waitFor({ state: 'visible', timeout: 15_000 });
    await answer(phone.page);
    await waitCallState(phone.page, 'established', 15_000);
    await carrier.waitEvent(
      (e) => e.type === 'CALL_ESTABLISHED',
      'CALL_ESTABLISHED',
      10_000,
      since,
    );
    await expectBothWays('trunk -> browser', before);
    await carrier.command('hangup');
    await carrier.waitEvent((e) => e.type === 'CALL_CLOSED', 'CALL_CLOSED', 10_000, since);
    await waitNoLiveCall(phone.page);
  });

  it('video call between two browsers (Chromium fake camera): each side decodes frames, and frames keep coming', async () => {
    await goView(phone.page, 'phone');
    await byId(phone.page, 'dial-input').fill('1002');
    await byId(phone.page, 'video-call-button').click();
    await byId(opusOnly.page, 'answer-video-button').waitFor({ state: 'visible', timeout: 15_000 });
    await byId(opusOnly.page, 'answer-video-button').click();
    await waitCallState(opusOnly.page, 'established', 15_000);
    await waitCallState(phone.page, 'established', 15_000);
    for (const p of [phone, opusOnly]) {
      const first = await until(
        `${p.name} to decode video frames`,
        async () => {
          const n = await framesDecoded(p);
          return n > 10 ? n : undefined;
        },
        15_000,
        200,
      );
      const later = await until(
        `${p.name}'s decoded frames to keep rising`,
        async () => {
          const n = await framesDecoded(p);
          return n > first + 10 ? n : undefined;
        },
        15_000,
        200,
      );
      process.stdout.write(`[e2e] video: ${p.name} framesDecoded ${first} -> ${later}\n`);
    }
    await hangup(phone.page);
  });

  it('Kamailio killed with a call up: the browser re-registers and the carrier reaches it again through the DID (the binding is back, not only the badge)', async () => {
    // a call up
    let since = carrier.events.length;
    await carrier.command('dial', `sip:${DID}@${stack.sipAddress}`);
    await byId(phone.page, 'answer-button').waitFor({ state: 'visible', timeout: 15_000 });
    await answer(phone.page);
    await waitCallState(phone.page, 'established', 15_000);
    await carrier.waitEvent(
      (e) => e.type === 'CALL_ESTABLISHED',
      'CALL_ESTABLISHED',
      10_000,
      since,
    );

    const restartsBefore =
      stack.gateway.supervisor.status().find((c) => c.name === 'kamailio')?.restarts ?? 0;
    expect(stack.gateway.supervisor.kill('kamailio'), 'supervisor.kill(kamailio)').toBe(true);
    await until(
      'registration-status to leave "registered"',
      async () => {
        const s = await registrationState(phone.page);
        return s && s !== 'registered' ? s : undefined;
      },
      15_000,
      100,
    );
    await waitAttr(phone.page, 'registration-status', 'data-state', 'registered', 45_000);
    const k = stack.gateway.supervisor.status().find((c) => c.name === 'kamailio');
    expect(k?.restarts ?? 0).toBeGreaterThan(restartsBefore);
    // the old call is gone on both sides (no dialog survives the proxy's death in-memory)
    await hangup(phone.page).catch(() => undefined);
    await carrier.command('hangup').catch(() => undefined);
    await waitNoLiveCall(phone.page, 15_000);
    await waitLinesReleased(phone.page);

    // the proof: an incoming call reaches the re-registered browser, with audio
    const before = carrier.recordings().map((r) => r.file);
    since = carrier.events.length;
    const r = await carrier.command('dial', `sip:${DID}@${stack.sipAddress}`);
    expect(r.ok, `carrier dial: ${r.data}`).toBe(true);
    await byId(phone.page, 'answer-button').waitFor({ state: 'visible', timeout: 15_000 });
    await answer(phone.page);
    await waitCallState(phone.page, 'established', 15_000);
    await carrier.waitEvent(
      (e) => e.type === 'CALL_ESTABLISHED',
      'CALL_ESTABLISHED',
      10_000,
      since,
    );
    await expectBothWays('after the restart', before);
  });

  // last in the file: 1001 keeps relay-only from here on
  it('relay only (settings, iceTransportPolicy relay): the call goes through coturn (relay candidate pair) with tones both ways', async () => {
    await goView(phone.page, 'settings');
    await phone.page.getByLabel(/Relay only/).check({ timeout: 10_000 });
    await byId(phone.page, 'settings-save-signin').click();
    await waitAttr(phone.page, 'registration-status', 'data-state', 'registered', 20_000);
    await dial(phone.page, '1002');
    await byId(opusOnly.page, 'answer-button').waitFor({ state: 'visible', timeout: 15_000 });
    await answer(opusOnly.page);
    await waitCallState(phone.page, 'established', 15_000);
    const pair = await until(
      'a selected candidate pair on 1001',
      () =>
        phone.page.evaluate(async () => {
          const rec = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e;
          for (const pc of rec?.pcs ?? []) {
            if (pc.connectionState !== 'connected') continue;
            const st = await pc.getStats();
            const all = new Map<string, Record<string, unknown>>();
            st.forEach((x: Record<string, unknown>) => all.set(String(x.id), x));
            for (const x of all.values()) {
              if (x.type === 'transport' && x.selectedCandidatePairId) {
                const p = all.get(String(x.selectedCandidatePairId));
                const l = all.get(String(p?.localCandidateId));
                return { local: String(l?.candidateType), relayProtocol: String(l?.relayProtocol) };
              }
            }
          }
          return undefined;
        }),
      15_000,
      200,
    );
    expect(pair.local, `1001's selected local candidate ${JSON.stringify(pair)}`).toBe('relay');
    const h1 = await expectTone(phone.page, OPUS_ONLY_HZ, { tol: TOL, minLevel: MIN_LEVEL });
    expect(Math.abs(h1.hz - OPUS_ONLY_HZ), `1001 hears ${JSON.stringify(h1)}`).toBeLessThanOrEqual(
      TOL,
    );
    const h2 = await expectTone(opusOnly.page, BROWSER_HZ, { tol: TOL, minLevel: MIN_LEVEL });
    expect(Math.abs(h2.hz - BROWSER_HZ), `1002 hears ${JSON.stringify(h2)}`).toBeLessThanOrEqual(
      TOL,
    );
    process.stdout.write(
      `[e2e] relay: ${JSON.stringify(pair)} 1001 ${JSON.stringify(h1)} 1002 ${JSON.stringify(h2)}\n`,
    );
  });
});
