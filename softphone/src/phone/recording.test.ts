import { afterEach, describe, expect, it } from 'vitest';
import type { Phone } from './phone';
import { FakeMediaStream, FakeTrack } from './testing/fake-webrtc';
import { makePhone, until } from './testing/harness';
import type { CallHandle } from './types';

/** Just enough Web Audio for CallRecorder's mix. */
class FakeAudioContext {
  createMediaStreamSource() {
    return { connect() {}, disconnect() {} };
  }
  createMediaStreamDestination() {
    return { stream: new FakeMediaStream([new FakeTrack('audio', 'mix')]) };
  }
  async close() {}
}

/** A MediaRecorder whose stop() finishes a tick later, as the browser's does. */
class FakeRecorder extends EventTarget {
  static isTypeSupported = (t: string) => t === 'audio/ogg;codecs=opus';
  static made = 0;
  state: 'inactive' | 'recording' = 'inactive';
  readonly mimeType = 'audio/ogg;codecs=opus';
  readonly n = ++FakeRecorder.made;
  start() {
    this.state = 'recording';
  }
  stop() {
    this.state = 'inactive';
    setTimeout(() => {
      this.dispatchEvent(
        Object.assign(new Event('dataavailable'), { data: new Blob([`take ${this.n}`]) }),
      );
      this.dispatchEvent(new Event('stop'));
    }, 5);
  }
}

let phone: Phone | undefined;
afterEach(async () => {
  await phone?.stop();
  phone = undefined;
});

async function recordingCall() {
  const h = makePhone(
    {},
    {
      AudioContext: FakeAudioContext as unknown as typeof AudioContext,
      MediaRecorder: FakeRecorder as unknown as typeof MediaRecorder,
    },
  );
  phone = h.phone;
  const handedOut: { call: CallHandle; blob: Blob }[] = [];
  h.phone.on('recording', (ev) => handedOut.push(ev));
  await h.phone.start();
  const call = h.phone.call('1002');
  await until(() => call.state === 'established');
  const onCall: Blob[] = [];
  call.on('recording', (b) => onCall.push(b));
  call.startRecording();
  expect(call.recording).toBe(true);
  return { ...h, call, handedOut, onCall };
}

describe('recording', () => {
  it('hands the file out when the far end hangs up while recording', async () => {
    const h = await recordingCall();
    h.server.sendInDialog(h.server.requests('INVITE')[0]?.header('call-id') ?? '', 'BYE');
    await until(() => h.call.state === 'ended');
    await until(() => h.handedOut.length > 0);
    const blob = h.handedOut[0]?.blob;
    expect(h.handedOut).toEqual([{ call: h.call, blob }]);
    expect(await blob?.text()).toBe('take ' + String(FakeRecorder.made));
    expect(blob?.type).toBe('audio/ogg;codecs=opus');
    expect(h.onCall).toEqual([blob]);
    expect(h.call.lastRecording).toBe(blob);
    expect(h.call.recording).toBe(false);
    // Asking for it after the call still works, and hands nothing out twice.
    expect(await h.call.stopRecording()).toBe(blob);
    expect(h.handedOut).toHaveLength(1);
  });

  it('a local stop hands the file out once, through the same events', async () => {
    const h = await recordingCall();
    const blob = await h.call.stopRecording();
    expect(h.handedOut).toEqual([{ call: h.call, blob }]);
    expect(h.onCall).toEqual([blob]);
    expect(h.call.recording).toBe(false);
    await expect(h.call.stopRecording()).rejects.toThrow(/not recording/);
    // A second take, ended by our own hang-up.
    h.call.startRecording();
    await h.call.hangup();
    await until(() => h.handedOut.length === 2);
    expect(h.handedOut[1]?.blob).not.toBe(blob);
    expect(h.call.lastRecording).toBe(h.handedOut[1]?.blob);
  });
});
