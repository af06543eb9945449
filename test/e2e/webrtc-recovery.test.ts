// Issue 11 ("Test depth"), three WebRTC features of the softphone through the
// real gateway (Kamailio over WSS, rtpengine), browser <-> browser, one tone
// per direction (1001 = 1000 Hz, 1002 = 600 Hz):
// - ICE restart: rtpengine's port of 1001's leg is cut mid-call (iptables
//   inside this test's own network namespace); the softphone sees ICE
//   disconnected, re-INVITEs in the same dialog with new ICE credentials, the
//   path is restored, and audio comes back both ways over the restarted ICE
//   session, in the same RTCPeerConnection. The outage is measured. Then a
//   break ICE does not report (only 1001's host port cut, coturn left): the
//   softphone still restarts ICE and rtpengine follows.
// - Screen share: 1001 shares its screen (Chromium's fake screen capture) on an
//   audio call; 1002 decodes 16:9 frames (the fake camera is 4:3).
// - In-browser recording: 1001 records the call, mutes half-way, stops; the
//   downloaded file decodes (WebAudio decodeAudioData) and holds both tones in
//   the first half and only 1002's tone in the second.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startE2eStack, type E2eStack } from './harness/stack.js';
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
  until,
  waitAttr,
  waitCallState,
  waitLinesReleased,
  waitNoLiveCall,
  type Phone,
} from './harness/softphone.js';
import { toneAmplitudes, type Wav } from './harness/audio.js';
import { clearFailureShots, ensureSoftphoneBuilt, failureShot } from './harness/artifacts.js';

const A_HZ = 1000;
const B_HZ = 600;
/** A frequency neither party sends: the floor for the recording's tone amplitudes. */
const PROBE_HZ = 1400;
const TOL = 30;
const MIN_LEVEL = 0.003;
/** 20 ms packets: ~50 a second; fewer than 5 in a second is no stream. */
const STOPPED = 5;

let stack: E2eStack;
let a: Phone; // 1001
let b: Phone; // 1002
/** SIP over the WebSocket of each softphone, as Playwright sees the frames. */
const sip = new Map<Phone, SipFrame[]>();
/** iptables rules this file added (removed after each test, whatever happened). */
const rules: string[][] = [];

interface SipFrame {
  dir: 'sent' | 'received';
  at: number;
  text: string;
}

/** Keeps every SIP message the page sends or receives over its WebSockets (call before the page connects). */
function recordSip(p: Phone): SipFrame[] {
  const frames: SipFrame[] = [];
  p.page.on('websocket', (ws) => {
    const keep = (dir: SipFrame['dir']) => (f: { payload: string | Buffer }) =>
      frames.push({ dir, at: Date.now(), text: String(f.payload) });
    ws.on('framesent', keep('sent'));
    ws.on('framereceived', keep('received'));
  });
  return frames;
}

function header(msg: string, name: string): string {
  const m = new RegExp(`^${name}:[ \\t]*(.*?)\\r?$`, 'im').exec(msg);
  return m?.[1]?.trim() ?? '';
}
const tag = (value: string) => /;\s*tag=([^;>\s]+)/i.exec(value)?.[1] ?? '';
const cseq = (msg: string) => {
  const [n, method] = header(msg, 'CSeq').split(/\s+/);
  return { n: Number(n), method: method ?? '' };
};
const iceUfrag = (sdp: string) => /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1] ?? '';

function iptables(args: string[]): void {
  execFileSync('iptables', ['-w', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Drop one UDP port both ways on loopback: the packets this netns's lo carries to and from it. */
function cutUdpPort(port: number): void {
  for (const dir of ['--dport', '--sport']) {
    const rule = ['INPUT', '-p', 'udp', dir, String(port), '-j', 'DROP'];
    iptables(['-I', ...rule]);
    rules.push(rule);
  }
}

function restoreAll(): void {
  while (rules.length) iptables(['-D', ...rules.pop()!]);
}

/** The connected RTCPeerConnection of the page's call: its index, ICE ufrag and selected candidate pair. */
interface PathInfo {
  pc: number;
  pcs: number;
  state: string;
  localUfrag: string;
  localPort: number;
  remotePort: number;
  /** The selected pair was nominated (ICE settled on it). */
  nominated: boolean;
}

async function mediaPath(p: Phone): Promise<PathInfo | undefined> {
  return p.page.evaluate(async () => {
    const pcs = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e?.pcs ?? [];
    for (let i = pcs.length - 1; i >= 0; i--) {
      const pc = pcs[i]!;
      if (pc.signalingState === 'closed' || !pc.remoteDescription) continue;
      const all = new Map<string, Record<string, unknown>>();
      (await pc.getStats()).forEach((x: Record<string, unknown>) => all.set(String(x.id), x));
      let localPort = 0;
      let remotePort = 0;
      let nominated = false;
      for (const x of all.values()) {
        if (x.type !== 'transport' || !x.selectedCandidatePairId) continue;
        const pair = all.get(String(x.selectedCandidatePairId));
        localPort = Number(all.get(String(pair?.localCandidateId))?.port ?? 0);
        remotePort = Number(all.get(String(pair?.remoteCandidateId))?.port ?? 0);
        nominated = pair?.nominated === true;
      }
      const ufrag = /^a=ice-ufrag:(\S+)/m.exec(pc.localDescription?.sdp ?? '')?.[1] ?? '';
      return {
        pc: i,
        pcs: pcs.length,
        state: pc.iceConnectionState,
        localUfrag: ufrag,
        localPort,
        remotePort,
        nominated,
      };
    }
    return undefined;
  });
}

/** Start logging the ICE connection states of the page's peer connections (read with iceLog). */
async function watchIce(p: Phone): Promise<void> {
  await p.page.evaluate(() => {
    const w = window as unknown as {
      __e2e?: { pcs: RTCPeerConnection[] };
      __iceLog?: string[];
    };
    const log = (w.__iceLog = [] as string[]);
    const t0 = performance.now();
    (w.__e2e?.pcs ?? []).forEach((pc, i) =>
      pc.addEventListener('iceconnectionstatechange', () =>
        log.push(`+${Math.round(performance.now() - t0)}ms pc${i} ${pc.iceConnectionState}`),
      ),
    );
  });
}

async function iceLog(p: Phone): Promise<string[]> {
  return p.page.evaluate(
    () => (window as unknown as { __iceLog?: string[] }).__iceLog ?? ['(not watched)'],
  );
}

/** inbound-rtp video of the page's open RTCPeerConnections: frames decoded and the last frame size. */
async function inboundVideo(p: Phone): Promise<{ frames: number; width: number; height: number }> {
  return p.page.evaluate(async () => {
    const pcs = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e?.pcs ?? [];
    const out = { frames: 0, width: 0, height: 0 };
    for (const pc of pcs) {
      if (pc.connectionState === 'closed' || pc.signalingState === 'closed') continue;
      (await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
        out.frames += Number(s.framesDecoded ?? 0);
        if (s.frameWidth) out.width = Number(s.frameWidth);
        if (s.frameHeight) out.height = Number(s.frameHeight);
      });
    }
    return out;
  });
}

/** `caller` calls `target`, `callee` answers; both established. */
async function connect(caller: Phone, callee: Phone, target: string): Promise<void> {
  await dial(caller.page, target);
  await byId(callee.page, 'answer-button').waitFor({ state: 'visible', timeout: 15_000 });
  await answer(callee.page);
  await waitCallState(callee.page, 'established', 15_000);
  await waitCallState(caller.page, 'established', 15_000);
}

/** Both directions carry their tone now. */
async function expectTonesBothWays(label: string, timeoutMs = 8000): Promise<void> {
  const heardByA = await expectTone(a.page, B_HZ, { tol: TOL, minLevel: MIN_LEVEL, timeoutMs });
  expect(
    Math.abs(heardByA.hz - B_HZ),
    `${label}: 1001 hears ${JSON.stringify(heardByA)}`,
  ).toBeLessThanOrEqual(TOL);
  expect(heardByA.level, `${label}: 1001's level`).toBeGreaterThan(MIN_LEVEL);
  const heardByB = await expectTone(b.page, A_HZ, { tol: TOL, minLevel: MIN_LEVEL, timeoutMs });
  expect(
    Math.abs(heardByB.hz - A_HZ),
    `${label}: 1002 hears ${JSON.stringify(heardByB)}`,
  ).toBeLessThanOrEqual(TOL);
  expect(heardByB.level, `${label}: 1002's level`).toBeGreaterThan(MIN_LEVEL);
}

/** Decode an audio file's bytes in the page (WebAudio decodeAudioData), channels averaged. */
async function decodeInPage(p: Phone, bytes: Buffer): Promise<Wav> {
  const r = await p.page.evaluate(async (b64) => {
    const bin = atob(b64);
    const buf = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) buf[i] = bin.charCodeAt(i);
    const ctx = new AudioContext();
    try {
      const audio = await ctx.decodeAudioData(buf.buffer);
      const pcm = new Int16Array(audio.length);
      for (let i = 0; i < audio.length; i++) {
        let sum = 0;
        for (let c = 0; c < audio.numberOfChannels; c++) sum += audio.getChannelData(c)[i]!;
        const v = sum / audio.numberOfChannels;
        pcm[i] = Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
      }
      const bytes = new Uint8Array(pcm.buffer);
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000)
        s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return { rate: audio.sampleRate, channels: audio.numberOfChannels, pcm: btoa(s) };
    } finally {
      await ctx.close();
    }
  }, bytes.toString('base64'));
  const raw = Buffer.from(r.pcm, 'base64');
  const samples = new Float32Array(raw.length / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = raw.readInt16LE(i * 2) / 32768;
  return { rate: r.rate, channels: r.channels, samples };
}

describe('WebRTC recovery and media features: ICE restart, screen share, recording content', () => {
  beforeAll(async () => {
    ensureSoftphoneBuilt();
    clearFailureShots('webrtc-recovery');
    stack = await startE2eStack('webrtc-recovery');
    [a, b] = await Promise.all([
      launchPhone('1001', A_HZ, stack.baseUrl),
      launchPhone('1002', B_HZ, stack.baseUrl),
    ]);
    sip.set(a, recordSip(a));
    sip.set(b, recordSip(b));
    await loginDemo(a, '1001');
    await loginDemo(b, '1002');
  });

  afterAll(async () => {
    restoreAll();
    await Promise.allSettled([a?.close(), b?.close()]);
    await stack?.stop();
  });

  afterEach(async ({ task }) => {
    restoreAll();
    if (task.result?.state === 'fail' && !task.fails) {
      process.stderr.write(
        `\n[e2e] ${task.name} failed; component logs:\n${stack.logs(40)}\n${[a, b].map(report).join('\n')}\n`,
      );
      await Promise.allSettled(
        [a, b].map((p) => p && failureShot(p.page, 'webrtc-recovery', task.name, p.name)),
      );
    }
    for (const p of [a, b]) await hangup(p.page).catch(() => undefined);
    await Promise.all([a, b].map((p) => p && waitNoLiveCall(p.page)));
    await Promise.all([a, b].map((p) => p && waitLinesReleased(p.page)));
  });

  it('ICE restart: 1001’s media path is cut mid-call; the softphone re-INVITEs in the same dialog with new ICE credentials, and once the path is back audio returns both ways', async () => {
    const aSip = sip.get(a)!;
    const bSip = sip.get(b)!;
    const aFrom = aSip.length;
    const bFrom = bSip.length;
    await connect(a, b, '1002');
    await expectTonesBothWays('before the cut');

    // the dialog as 1001 sees it: its INVITE and the 200 OK that confirmed it
    const invite = aSip.slice(aFrom).find((f) => f.dir === 'sent' && /^INVITE /.test(f.text));
    expect(invite, '1001 sent an INVITE').toBeDefined();
    const callId = header(invite!.text, 'Call-ID');
    const fromTag = tag(header(invite!.text, 'From'));
    const ok = aSip
      .slice(aFrom)
      .find(
        (f) =>
          f.dir === 'received' &&
          /^SIP\/2\.0 200 /.test(f.text) &&
          header(f.text, 'Call-ID') === callId &&
          cseq(f.text).method === 'INVITE',
      );
    expect(ok, `a 200 OK to 1001's INVITE (Call-ID ${callId})`).toBeDefined();
    const toTag = tag(header(ok!.text, 'To'));
    const firstCseq = cseq(invite!.text).n;
    expect(callId && fromTag && toTag, 'Call-ID, From tag and To tag of the dialog').toBeTruthy();

    const before = await until('1001 to have a selected candidate pair', async () => {
      const p = await mediaPath(a);
      return p && p.localPort > 0 && p.state === 'connected' ? p : undefined;
    });
    expect(iceUfrag(invite!.text), 'the INVITE carries the ICE ufrag in use').toBe(
      before.localUfrag,
    );

    // Cut rtpengine's port of 1001's leg: every candidate pair of 1001 (host,
    // and relay through coturn) ends there, so ICE itself has no path left.
    // (Cutting only 1001's own host port is not enough: Chromium moves to its
    // relay candidate without any restart.)
    await watchIce(a);
    const cutAt = Date.now();
    const mark = aSip.length;
    cutUdpPort(before.remotePort);
    const silent = await until(
      '1001 to stop receiving RTP once its port is cut',
      async () => {
        const g = await packetGrowth(a.page, 500);
        return g.delta < STOPPED / 2 ? g : undefined;
      },
      10_000,
      0,
    );
    const silentAfterMs = Date.now() - cutAt;

    // the softphone's recovery: a re-INVITE in the same dialog with new ICE credentials
    const reinvite = await until(
      '1001 to send a re-INVITE with new ICE credentials (ICE restart)',
      async () =>
        aSip
          .slice(mark)
          .find(
            (f) =>
              f.dir === 'sent' &&
              /^INVITE /.test(f.text) &&
              header(f.text, 'Call-ID') === callId &&
              iceUfrag(f.text) !== '' &&
              iceUfrag(f.text) !== before.localUfrag,
          ),
      30_000,
      200,
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}; 1001's ICE states since the cut: ${JSON.stringify(await iceLog(a))}; SIP since the cut: ` +
          aSip
            .slice(mark)
            .map((f) => `${f.dir} ${f.text.split('\r\n')[0]} ufrag=${iceUfrag(f.text)}`)
            .join(' | '),
      );
    });
    const restartAfterMs = reinvite.at - cutAt;
    // still cut: nothing got through meanwhile (what follows is the restart's doing)
    const stillCut = await packetGrowth(a.page, 500);
    expect(stillCut.delta, 'no RTP reaches 1001 while its path is cut').toBeLessThan(STOPPED / 2);
    const restoredAt = Date.now();
    restoreAll();
    expect(tag(header(reinvite.text, 'From')), 'the re-INVITE’s From tag').toBe(fromTag);
    expect(tag(header(reinvite.text, 'To')), 'the re-INVITE’s To tag (same dialog)').toBe(toTag);
    expect(cseq(reinvite.text).n, 'the re-INVITE’s CSeq').toBeGreaterThan(firstCseq);

    // RTP first (the gap as a listener has it), then the tones both ways
    await until(
      'RTP to reach 1001 again once the path is restored',
      async () => (await packetGrowth(a.page, 200)).delta >= 3,
      30_000,
      0,
    );
    const rtpBackMs = Date.now() - restoredAt;
    const rtpGapMs = Date.now() - cutAt;
    // audio comes back, both ways, over the restarted ICE session
    await expectTonesBothWays('after the ICE restart', 30_000);
    const backAfterMs = Date.now() - restoredAt;
    const outageMs = Date.now() - cutAt;
    const flow = await packetGrowth(a.page);
    expect(flow.delta, 'RTP reaches 1001 again').toBeGreaterThan(20);

    const after = await mediaPath(a);
    const path = JSON.stringify({ before, after });
    expect(after?.state, `1001's ICE after the restart: ${path}`).toMatch(
      /^(connected|completed)$/,
    );
    expect(after?.pc, `the same RTCPeerConnection carries the call: ${path}`).toBe(before.pc);
    expect(after?.localUfrag, `new local ICE credentials: ${path}`).not.toBe(before.localUfrag);

    // the same SIP dialog goes on: the re-INVITE was accepted, nobody hung up,
    // and 1002 never saw a new call
    const since = aSip.slice(mark);
    const reOk = since.find(
      (f) =>
        f.dir === 'received' &&
        /^SIP\/2\.0 200 /.test(f.text) &&
        header(f.text, 'Call-ID') === callId &&
        cseq(f.text).method === 'INVITE' &&
        cseq(f.text).n >= cseq(reinvite.text).n,
    );
    expect(
      reOk,
      `a 200 OK to the re-INVITE, in ${since.map((f) => f.text.split('\r\n')[0]).join(' | ')}`,
    ).toBeDefined();
    expect(
      since.filter((f) => /^BYE /.test(f.text)).length,
      'no BYE on 1001 during the recovery',
    ).toBe(0);
    const bInvites = bSip
      .slice(bFrom)
      .filter((f) => f.dir === 'received' && /^INVITE /.test(f.text));
    expect(
      new Set(bInvites.map((f) => header(f.text, 'Call-ID'))).size,
      `1002 got INVITEs of one dialog only: ${bInvites.map((f) => header(f.text, 'Call-ID')).join(', ')}`,
    ).toBe(1);
    expect(await waitCallState(a.page, 'established', 1000)).toBe('established');
    expect(await waitCallState(b.page, 'established', 1000)).toBe('established');
    process.stdout.write(
      `[e2e] ICE restart: rtpengine port ${before.remotePort} of 1001's leg cut; no RTP after ${silentAfterMs} ms (${JSON.stringify(silent)}); ` +
        `re-INVITE (ufrag ${before.localUfrag} -> ${iceUfrag(reinvite.text)}) ${restartAfterMs} ms after the cut (ICE ${JSON.stringify(await iceLog(a))}); ` +
        `path restored, RTP back ${rtpBackMs} ms later (no RTP for ${rtpGapMs} ms in all), tones both ways confirmed ${backAfterMs} ms after the restore (${outageMs} ms after the cut); path ${before.localPort} -> ${before.remotePort} became ${after?.localPort} -> ${after?.remotePort}\n`,
    );
  });

  // A break ICE itself does not report: only 1001's own host port is cut, so a
  // path through coturn is left. Chromium moves to its relay candidate by
  // itself and ICE stays 'connected', but rtpengine 10.5 goes on sending toward
  // the old host address (its stream endpoint does not follow a newly
  // nominated pair): without more, 1001 hears nothing for good. The softphone
  // restarts ICE when the browser switches pairs after the call settled, and
  // rtpengine follows the new credentials.
  it('1001’s host port alone is cut (coturn still reachable): Chromium moves to another pair, the softphone restarts ICE in the same dialog, rtpengine follows, tones both ways again', async () => {
    const aSip = sip.get(a)!;
    const aFrom = aSip.length;
    await connect(a, b, '1002');
    await expectTonesBothWays('before the cut');
    const invite = aSip.slice(aFrom).find((f) => f.dir === 'sent' && /^INVITE /.test(f.text));
    expect(invite, '1001 sent an INVITE').toBeDefined();
    const callId = header(invite!.text, 'Call-ID');
    const before = await until('1001 to have a selected candidate pair', async () => {
      const p = await mediaPath(a);
      return p && p.localPort > 0 && p.state === 'connected' ? p : undefined;
    });
    await watchIce(a);
    const cutAt = Date.now();
    const mark = aSip.length;
    cutUdpPort(before.localPort);

    const reinvite = await until(
      '1001 to re-INVITE with new ICE credentials after its host path died',
      async () =>
        aSip
          .slice(mark)
          .find(
            (f) =>
              f.dir === 'sent' &&
              /^INVITE /.test(f.text) &&
              header(f.text, 'Call-ID') === callId &&
              iceUfrag(f.text) !== '' &&
              iceUfrag(f.text) !== before.localUfrag,
          ),
      30_000,
      200,
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}; 1001's path now ${JSON.stringify(await mediaPath(a))}, ICE ${JSON.stringify(await iceLog(a))}`,
      );
    });
    // the cut stays: audio must come back over another path
    await expectTonesBothWays('after the restart, host port still cut', 30_000);
    const backAfterMs = Date.now() - cutAt;
    const after = await mediaPath(a);

    // what rtpengine now sends 1001's leg to: not the cut port
    const q = (await stack.gateway.rtpengine.query(callId)) as {
      tags?: Record<string, { medias?: { streams?: Record<string, unknown>[] }[] }>;
    };
    const streams = Object.values(q.tags ?? {}).flatMap((t) =>
      (t.medias ?? []).flatMap((m) => m.streams ?? []),
    );
    const toA = streams.find((st) => Number(st['local port']) === before.remotePort);
    const endpoint = toA?.endpoint as { port?: number } | undefined;
    const seen = JSON.stringify({ before, after, rtpengineEndpoint: endpoint });
    expect(after?.pc, `the same RTCPeerConnection carries the call: ${seen}`).toBe(before.pc);
    expect(after?.localUfrag, `new local ICE credentials: ${seen}`).toBe(iceUfrag(reinvite.text));
    expect(after?.localPort, `1001 left its cut port: ${seen}`).not.toBe(before.localPort);
    expect(
      endpoint?.port,
      `rtpengine sends 1001's leg elsewhere than the cut port: ${seen}`,
    ).not.toBe(before.localPort);
    expect(
      aSip.slice(mark).filter((f) => /^BYE /.test(f.text)).length,
      'no BYE on 1001 during the recovery',
    ).toBe(0);
    expect(await waitCallState(a.page, 'established', 1000)).toBe('established');
    expect(await waitCallState(b.page, 'established', 1000)).toBe('established');
    process.stdout.write(
      `[e2e] host port cut, relay left: re-INVITE ${reinvite.at - cutAt} ms after the cut (ICE ${JSON.stringify(await iceLog(a))}), ` +
        `tones both ways ${backAfterMs} ms after the cut; ${seen}\n`,
    );
  });

  it('screen share: 1001 shares its screen on an audio call; 1002 decodes 16:9 screen frames (not the 4:3 camera), and they stop when sharing stops', async () => {
    await connect(a, b, '1002');
    await expectTonesBothWays('audio call');
    expect((await inboundVideo(b)).frames, 'no video before sharing').toBe(0);

    await byId(a.page, 'screen-button').click();
    await waitAttr(a.page, 'screen-button', 'aria-pressed', 'true', 15_000);
    const label = await a.page.evaluate(async () => {
      const pcs = (window as unknown as { __e2e?: { pcs: RTCPeerConnection[] } }).__e2e?.pcs ?? [];
      for (const pc of pcs) {
        if (pc.signalingState === 'closed') continue;
        for (const s of pc.getSenders()) if (s.track?.kind === 'video') return s.track.label;
      }
      return '';
    });
    // Chromium names a display-capture track "screen:..." (the camera's is "fake_device_0")
    expect(label, '1001 sends a screen-capture track').toMatch(/^screen:/);

    const first = await until(
      '1002 to decode screen-share frames',
      async () => {
        const v = await inboundVideo(b);
        return v.frames > 10 && v.width > 0 ? v : undefined;
      },
      20_000,
      200,
    );
    const later = await until(
      '1002’s decoded frames to keep rising',
      async () => {
        const v = await inboundVideo(b);
        return v.frames > first.frames + 10 ? v : undefined;
      },
      15_000,
      200,
    );
    const aspect = later.width / later.height;
    expect(
      Math.abs(aspect - 16 / 9),
      `1002's frames are ${later.width}x${later.height}: the fake screen is 16:9, the fake camera 4:3`,
    ).toBeLessThan(0.05);
    // the audio survived the re-INVITE that added video
    await expectTonesBothWays('while sharing');

    await byId(a.page, 'screen-button').click();
    await waitAttr(a.page, 'screen-button', 'aria-pressed', 'false', 15_000);
    const stopped = await until(
      '1002’s decoded frames to stop rising once sharing stopped',
      async () => {
        const x = await inboundVideo(b);
        await sleep(1000);
        const y = await inboundVideo(b);
        return y.frames === x.frames ? y : undefined;
      },
      15_000,
      0,
    );
    process.stdout.write(
      `[e2e] screen share: ${label}; 1002 decoded ${first.frames} -> ${later.frames} frames at ${later.width}x${later.height}; stopped at ${stopped.frames}\n`,
    );
  });

  it('in-browser recording: the downloaded file decodes and holds both parties’ tones, and only 1002’s once 1001 mutes', async () => {
    await connect(a, b, '1002');
    await expectTonesBothWays('before recording');

    await byId(a.page, 'record-button').click();
    await waitAttr(a.page, 'record-button', 'aria-pressed', 'true', 10_000);
    // 4 s of both parties, then 4 s with 1001 muted (its microphone track disabled)
    await sleep(4000);
    await byId(a.page, 'mute-button').click();
    await waitAttr(a.page, 'mute-button', 'aria-pressed', 'true', 5000);
    await sleep(4000);
    await byId(a.page, 'record-button').click();
    await waitAttr(a.page, 'record-button', 'aria-pressed', 'false', 10_000);

    const link = byId(a.page, 'recording-link').last();
    await link.waitFor({ state: 'visible', timeout: 10_000 });
    const [download] = await Promise.all([a.page.waitForEvent('download'), link.click()]);
    const file = await download.path();
    const bytes = readFileSync(file);
    const name = download.suggestedFilename();
    expect(bytes.length, `${name}: size`).toBeGreaterThan(8 * 1024);
    // WebM starts with the EBML magic, Ogg with "OggS"
    const magic = bytes.subarray(0, 4).toString('hex');
    expect(
      name.endsWith('.ogg') ? magic === '4f676753' : magic === '1a45dfa3',
      `${name} starts with ${magic}`,
    ).toBe(true);

    const wav = await decodeInPage(a, bytes);
    const seconds = wav.samples.length / wav.rate;
    expect(seconds, `${name} decodes to ${seconds.toFixed(2)} s`).toBeGreaterThan(6);
    const tones = [A_HZ, B_HZ, PROBE_HZ];
    const both = toneAmplitudes(wav, tones, 0.5, 3.5);
    const muted = toneAmplitudes(wav, tones, seconds - 3.5, seconds - 0.5);
    const seen = JSON.stringify({ name, bytes: bytes.length, seconds, both, muted });
    // both parties while 1001 speaks, each well above a tone no one sends
    expect(both[A_HZ], `1001's own tone in the recording: ${seen}`).toBeGreaterThan(0.01);
    expect(both[B_HZ], `1002's tone in the recording: ${seen}`).toBeGreaterThan(0.01);
    expect(both[A_HZ]!, seen).toBeGreaterThan(10 * both[PROBE_HZ]!);
    expect(both[B_HZ]!, seen).toBeGreaterThan(10 * both[PROBE_HZ]!);
    // muted: 1002 still there, 1001's tone gone (so it came from 1001's microphone, not an echo)
    expect(muted[B_HZ], `1002's tone after 1001 muted: ${seen}`).toBeGreaterThan(0.01);
    expect(muted[A_HZ]!, `1001's tone after it muted: ${seen}`).toBeLessThan(muted[B_HZ]! / 10);
    process.stdout.write(`[e2e] recording: ${seen}\n`);
  });
});
