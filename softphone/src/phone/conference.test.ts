import { afterEach, describe, expect, it } from 'vitest';
import { Conference } from './conference';
import type { Phone } from './phone';
import { CallRecorder } from './recorder';
import { FakeMediaStream, FakeRTCPeerConnection, FakeTrack } from './testing/fake-webrtc';
import type { FakeTrack as Track } from './testing/fake-webrtc';
import { makePhone, until } from './testing/harness';
import type { CallHandle } from './types';

/** A Web Audio graph recorder: which source feeds which destination. */
class FakeNode {
  readonly outputs = new Set<FakeNode>();
  constructor(
    readonly label: string,
    readonly stream?: FakeMediaStream,
  ) {}
  connect(n: FakeNode): void {
    this.outputs.add(n);
  }
  disconnect(n?: FakeNode): void {
    if (n) this.outputs.delete(n);
    else this.outputs.clear();
  }
}
class FakeAudioContext {
  static last: FakeAudioContext;
  sources: FakeNode[] = [];
  destinations: FakeNode[] = [];
  closed = false;
  constructor() {
    FakeAudioContext.last = this;
  }
  createMediaStreamSource(stream: FakeMediaStream): FakeNode {
    const n = new FakeNode(
      stream
        .getAudioTracks()
        .map((t) => t.label)
        .join('+'),
      stream,
    );
    this.sources.push(n);
    return n;
  }
  createMediaStreamDestination(): FakeNode & { stream: FakeMediaStream } {
    const track = new FakeTrack('audio', `mix${this.destinations.length}`);
    const n = Object.assign(new FakeNode(track.label), { stream: new FakeMediaStream([track]) });
    this.destinations.push(n);
    return n;
  }
  async resume(): Promise<void> {}
  async close(): Promise<void> {
    this.closed = true;
  }
}

const env = {
  AudioContext: FakeAudioContext as unknown as typeof AudioContext,
  MediaStream: FakeMediaStream as unknown as typeof MediaStream,
};

let phone: Phone | undefined;
afterEach(async () => {
  await phone?.stop();
  phone = undefined;
});

function heardBy(ctx: FakeAudioContext, dest: FakeNode): string[] {
  return ctx.sources.filter((s) => s.outputs.has(dest)).map((s) => s.label);
}

describe('Conference', () => {
  it('sends each participant our microphone plus the other participants, never themselves', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    const calls: CallHandle[] = [h.phone.call('1002'), h.phone.call('1003'), h.phone.call('1004')];
    await until(() => calls.every((c) => c.state === 'established'));
    // Label each call's remote track so the graph can be read.
    calls.forEach((c, i) => {
      const t = c.remoteStream?.getAudioTracks()[0] as unknown as Track;
      (t as { label: string }).label = `remote${i}`;
    });
    const micLabels = calls.map(
      (c) => (c.localStream?.getAudioTracks()[0] as unknown as Track).label,
    );
    expect(micLabels.every((l) => l === 'Fake microphone')).toBe(true);

    const conf = new Conference(calls, env);
    const ctx = FakeAudioContext.last;
    expect(ctx.destinations).toHaveLength(3);
    ctx.destinations.forEach((dest, i) => {
      const heard = heardBy(ctx, dest).sort();
      const others = [0, 1, 2].filter((j) => j !== i).map((j) => `remote${j}`);
      expect(heard).toEqual(['Fake microphone', ...others].sort());
    });
    // Each call now sends its mix instead of the raw microphone (no renegotiation).
    const senders = FakeRTCPeerConnection.instances
      .filter((p) => p.localDescription && !p.closed)
      .map((p) => p.getTransceivers()[0]?.sender.track?.label);
    expect(senders.sort()).toEqual(['mix0', 'mix1', 'mix2']);
    expect(h.server.requests('INVITE')).toHaveLength(3);

    conf.remove(calls[1] as CallHandle);
    expect(heardBy(ctx, ctx.destinations[0] as FakeNode).sort()).toEqual([
      'Fake microphone',
      'remote2',
    ]);
    conf.end();
    expect(ctx.closed).toBe(true);
    const after = FakeRTCPeerConnection.instances
      .filter((p) => p.localDescription && !p.closed)
      .map((p) => p.getTransceivers()[0]?.sender.track?.label);
    expect(after).toEqual(['Fake microphone', 'Fake microphone', 'Fake microphone']);
  });

  it('refuses calls that are not established', async () => {
    const h = makePhone();
    phone = h.phone;
    await h.phone.start();
    h.server.inviteBehavior = 'ring';
    const ringing = h.phone.call('1002');
    await until(() => ringing.state === 'ringing');
    expect(() => new Conference([ringing], env)).toThrow(/established/);
  });
});

describe('CallRecorder', () => {
  it('mixes local and remote tracks into one MediaRecorder and returns the same Blob on every stop', async () => {
    class FakeRecorder extends EventTarget {
      static isTypeSupported = (t: string) => t === 'audio/webm;codecs=opus';
      state: 'inactive' | 'recording' = 'inactive';
      timeslice?: number;
      constructor(
        readonly stream: FakeMediaStream,
        readonly options?: { mimeType?: string },
      ) {
        super();
      }
      get mimeType() {
        return this.options?.mimeType ?? '';
      }
      start(timeslice: number) {
        this.state = 'recording';
        this.timeslice = timeslice;
      }
      stop() {
        this.state = 'inactive';
        this.dispatchEvent(Object.assign(new Event('dataavailable'), { data: new Blob(['abc']) }));
        this.dispatchEvent(new Event('stop'));
      }
    }
    const rec = new CallRecorder(
      { ...env, MediaRecorder: FakeRecorder as unknown as typeof MediaRecorder },
      [new FakeTrack('audio', 'mic') as unknown as MediaStreamTrack],
      [new FakeTrack('audio', 'far') as unknown as MediaStreamTrack],
    );
    const ctx = FakeAudioContext.last;
    const dest = ctx.destinations[0] as FakeNode;
    expect(heardBy(ctx, dest).sort()).toEqual(['far', 'mic']);
    expect(rec.active).toBe(true);
    const blob = await rec.stop();
    expect(blob.type).toBe('audio/webm;codecs=opus');
    expect(blob.size).toBe(3);
    expect(await rec.stop()).toBe(blob);
    expect(ctx.closed).toBe(true);
  });
});
