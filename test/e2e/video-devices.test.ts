// Issue 11 item 6: switching cameras in the middle of a video call, through the
// real gateway (Kamailio over WSS, rtpengine), browser <-> browser. 1001's
// Chromium offers three fake cameras (`--use-fake-device-for-media-stream=
// device-count=3`). Chromium 156 paints them differently: `fake_device_0` (I420)
// has four green corner squares, `fake_device_2` (MJPEG) four yellow-to-grey
// ones (red as strong as green). `fake_device_1` is a Y16 "depth" camera whose
// frames WebRTC never encodes (measured in a loopback RTCPeerConnection here:
// media-source frames 0), so the test switches 0 -> 2 -> 0. 1001 picks the
// camera in the call's camera picker (the `<select>` the user sees on a video
// call); 1002 must keep decoding frames, and the corners of the frames its
// `remote-video` element shows must turn from green to yellow (and back): the
// source really changed on the far side, not only in 1001's preview. The switch
// is a replaceTrack on the live sender: same RTCPeerConnection, same SSRC at
// 1002, same dialog, and no INVITE at all (the softphone needs no re-INVITE).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startE2eStack, type E2eStack } from './harness/stack.js';
import {
  byId,
  expectTone,
  goView,
  hangup,
  launchPhone,
  loginDemo,
  recordSip,
  report,
  sipHeader,
  until,
  waitCallState,
  waitLinesReleased,
  waitNoLiveCall,
  type Phone,
  type SipFrame,
} from './harness/softphone.js';
import { clearFailureShots, ensureSoftphoneBuilt, failureShot } from './harness/artifacts.js';

const A_HZ = 1000;
const B_HZ = 600;
const TOL = 30;
const MIN_LEVEL = 0.003;
/**
 * Red / green of the four corner squares of a frame, averaged (see farVideo).
 * At the camera: fake_device_0 0.00-0.25, fake_device_2 0.97-1.0 (every
 * corner, whatever its brightness). Far apart, so these bounds hold with room
 * either way after VP8.
 */
const GREEN_MAX_RED = 0.35;
const YELLOW_MIN_RED = 0.65;
/**
 * Mean green (0..255) of the corner squares: 150-255 from fake_device_0,
 * ~100-130 from fake_device_2; a black frame (a disabled track) has none.
 */
const MIN_CORNER_GREEN = 50;
type Look = 'green' | 'yellow';
const CAMERA: Record<Look, string> = { green: 'fake_device_0', yellow: 'fake_device_2' };

let stack: E2eStack;
let a: Phone; // 1001, two cameras
let b: Phone; // 1002
let aSip: SipFrame[];
let bSip: SipFrame[];

/** 1001's video sender: its track's label and deviceId; the number of open RTCPeerConnections. */
async function sentCamera(p: Phone): Promise<{ label: string; deviceId: string; pcs: number }> {
  return p.page.evaluate(() => {
    const pcs = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e?.pcs ?? [];
    const out = { label: '', deviceId: '', pcs: 0 };
    for (const pc of pcs) {
      if (pc.signalingState === 'closed') continue;
      out.pcs++;
      for (const s of pc.getSenders()) {
        if (s.track?.kind !== 'video') continue;
        out.label = s.track.label;
        out.deviceId = s.track.getSettings().deviceId ?? '';
      }
    }
    return out;
  });
}

interface FarVideo {
  frames: number;
  ssrc: number;
  width: number;
  height: number;
  /** Red / green of the corner squares of the frame `remote-video` shows now (-1: none). */
  cornerRed: number;
  /** Mean green of those corner squares (-1: none). */
  cornerGreen: number;
}

/**
 * What 1002 receives: inbound-rtp video (frames decoded, SSRC, frame size) of
 * its open RTCPeerConnections, and the corner squares' red / green of the
 * frame the `remote-video` element shows. The fake cameras draw their squares
 * 1/16 of the width by 1/9 of the height; the middle half of each is sampled
 * (clear of VP8's blurred edges).
 */
async function farVideo(p: Phone): Promise<FarVideo> {
  return p.page.evaluate(async () => {
    const pcs = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e?.pcs ?? [];
    const out = { frames: 0, ssrc: 0, width: 0, height: 0, cornerRed: -1, cornerGreen: -1 };
    for (const pc of pcs) {
      if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
        out.frames += Number(s.framesDecoded ?? 0);
        out.ssrc = Number(s.ssrc ?? 0);
        if (s.frameWidth) out.width = Number(s.frameWidth);
        if (s.frameHeight) out.height = Number(s.frameHeight);
      });
    }
    // what the user sees: the frame the `remote-video` element shows now
    const el = document.querySelector('[data-testid="remote-video"]') as HTMLVideoElement | null;
    if (el && el.videoWidth > 0 && !el.paused) {
      const canvas = new OffscreenCanvas(el.videoWidth, el.videoHeight);
      const g = canvas.getContext('2d')!;
      g.drawImage(el, 0, 0);
      const px = g.getImageData(0, 0, el.videoWidth, el.videoHeight).data;
      const W = el.videoWidth;
      const cw = W / 16;
      const ch = el.videoHeight / 9;
      let ratios = 0;
      let greens = 0;
      for (const [cx, cy] of [
        [0, 0],
        [15, 0],
        [0, 8],
        [15, 8],
      ] as const) {
        let r = 0;
        let gr = 0;
        let n = 0;
        for (let y = Math.floor((cy + 0.25) * ch); y < (cy + 0.75) * ch; y++) {
          for (let x = Math.floor((cx + 0.25) * cw); x < (cx + 0.75) * cw; x++) {
            r += px[(y * W + x) * 4]!;
            gr += px[(y * W + x) * 4 + 1]!;
            n++;
          }
        }
        ratios += r / Math.max(gr, 1);
        greens += gr / Math.max(n, 1);
      }
      out.cornerRed = ratios / 4;
      out.cornerGreen = greens / 4;
    }
    return out;
  });
}

/**
 * 1002 decodes frames of the given look, and keeps decoding: at least 30 more
 * frames than `since`, and the frame shown now has green / yellow corners.
 */
async function expectFarLook(look: Look, since: number, what: string): Promise<FarVideo> {
  let last: FarVideo | undefined;
  try {
    return await until(
      `${what}: 1002 to decode frames with ${look} corners beyond frame ${since + 30}`,
      async () => {
        last = await farVideo(b);
        const ok =
          last.cornerGreen > MIN_CORNER_GREEN &&
          (look === 'green' ? last.cornerRed < GREEN_MAX_RED : last.cornerRed > YELLOW_MIN_RED);
        return last.frames > since + 30 && ok ? last : undefined;
      },
      20_000,
      250,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last ${JSON.stringify(last)}`);
  }
}

function describeFar(v: FarVideo): string {
  return `frame ${v.frames}, ${v.width}x${v.height}, corner red/green ${v.cornerRed.toFixed(2)}, green ${v.cornerGreen.toFixed(0)}`;
}

/** Picks 1001's camera labelled `label` in the call's camera picker, as the user does. */
async function pickCamera(label: string): Promise<void> {
  const picker = a.page.locator('#camera-switch');
  await picker.waitFor({ state: 'visible', timeout: 15_000 });
  await picker.selectOption({ label });
}

describe('video devices: camera switch mid-call', () => {
  beforeAll(async () => {
    ensureSoftphoneBuilt();
    clearFailureShots('video-devices');
    stack = await startE2eStack('video-devices');
    a = await launchPhone('1001', A_HZ, stack.baseUrl, { cameras: 3 });
    b = await launchPhone('1002', B_HZ, stack.baseUrl);
    aSip = recordSip(a);
    bSip = recordSip(b);
    await loginDemo(a, '1001');
    await loginDemo(b, '1002');
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') {
      for (const p of [a, b]) await failureShot(p.page, 'video-devices', ctx.task.name, p.name);
      process.stderr.write(
        `\n[e2e] ${ctx.task.name} failed:\n${stack.logs(40)}\n${report(a)}\n${report(b)}\n`,
      );
    }
    for (const p of [a, b]) await hangup(p.page).catch(() => undefined);
    for (const p of [a, b]) {
      await waitNoLiveCall(p.page).catch(() => undefined);
      await waitLinesReleased(p.page);
    }
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await stack?.stop();
  });

  it('1001 switches cameras in the call’s picker: 1002 keeps decoding and the corners of its frames turn from green to yellow and back; same dialog, no INVITE', async () => {
    const aFrom = aSip.length;
    await goView(a.page, 'phone');
    await byId(a.page, 'dial-input').fill('1002');
    await byId(a.page, 'video-call-button').click();
    await byId(b.page, 'answer-video-button').waitFor({ state: 'visible', timeout: 15_000 });
    await byId(b.page, 'answer-video-button').click();
    await waitCallState(b.page, 'established', 15_000);
    await waitCallState(a.page, 'established', 15_000);

    const invite = aSip.slice(aFrom).find((f) => f.dir === 'sent' && /^INVITE /.test(f.text));
    expect(invite, '1001 sent an INVITE').toBeDefined();
    const callId = sipHeader(invite!.text, 'Call-ID');
    expect(
      bSip.some((f) => /^INVITE /.test(f.text) && sipHeader(f.text, 'Call-ID') === callId),
      `1002 received the INVITE (Call-ID ${callId})`,
    ).toBe(true);

    // before: the default camera, green corners at 1002
    const first = await sentCamera(a);
    expect(first.label, `1001 sends ${JSON.stringify(first)}`).toBe(CAMERA.green);
    const seen: string[] = [];
    const before = await expectFarLook('green', 0, 'before the switch');
    seen.push(`${first.label}: ${describeFar(before)}`);

    const aMark = aSip.length;
    const bMark = bSip.length;
    let prev = { cam: first, far: before };
    for (const look of ['yellow', 'green'] as const) {
      const label = CAMERA[look];
      await pickCamera(label);
      const cam = await until(
        `1001 to send ${label}`,
        async () => {
          const c = await sentCamera(a);
          return c.label === label ? c : undefined;
        },
        10_000,
        100,
      );
      expect(cam.deviceId, `${label} is another device than ${prev.cam.label}`).not.toBe(
        prev.cam.deviceId,
      );
      expect(cam.pcs, 'the same RTCPeerConnection').toBe(first.pcs);
      const far = await expectFarLook(look, prev.far.frames, `after switching to ${label}`);
      expect(far.ssrc, '1002 receives the same RTP stream (SSRC)').toBe(before.ssrc);
      seen.push(`${label}: ${describeFar(far)}`);
      prev = { cam, far };
    }

    // the audio is untouched by the switches
    const heard = await expectTone(b.page, A_HZ, { tol: TOL, minLevel: MIN_LEVEL });
    expect(Math.abs(heard.hz - A_HZ), `1002 hears ${JSON.stringify(heard)}`).toBeLessThanOrEqual(
      TOL,
    );
    expect(heard.level).toBeGreaterThan(MIN_LEVEL);

    // one dialog throughout: no INVITE either way during the switches (not even
    // a re-INVITE: replaceTrack needs none), no BYE, no other call
    const during = [...aSip.slice(aMark), ...bSip.slice(bMark)];
    expect(
      during
        .filter((f) => /^INVITE /.test(f.text))
        .map((f) => `${f.dir} ${f.text.split('\r\n')[0]} Call-ID ${sipHeader(f.text, 'Call-ID')}`),
      'no INVITE during the switches',
    ).toEqual([]);
    expect(during.filter((f) => /^BYE /.test(f.text)).length, 'no BYE during the switches').toBe(0);
    expect(await waitCallState(a.page, 'established', 1000)).toBe('established');
    expect(await waitCallState(b.page, 'established', 1000)).toBe('established');
    process.stdout.write(
      `[e2e] camera switch at 1002 (SSRC ${before.ssrc} throughout, 0 INVITEs during the switches): ${seen.join(' -> ')}; 1002 hears ${heard.hz.toFixed(0)} Hz at ${heard.level.toFixed(4)}\n`,
    );
  });
});
