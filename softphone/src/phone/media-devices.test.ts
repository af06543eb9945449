import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeviceManager } from './media-devices';
import { FakeMediaDevices } from './testing/fake-webrtc';

const processing = { echoCancellation: true, noiseSuppression: false, autoGainControl: true };

function manager(warmMicrophoneMs = 30_000) {
  const md = new FakeMediaDevices();
  const dm = new DeviceManager(md as unknown as MediaDevices, { warmMicrophoneMs });
  return { md, dm };
}

describe('DeviceManager', () => {
  afterEach(() => vi.useRealTimers());

  it('lists devices by kind and follows devicechange', async () => {
    const { md, dm } = manager();
    const lists = await dm.enumerate();
    expect(lists.microphones.map((d) => d.deviceId)).toEqual(['mic-1', 'mic-2']);
    expect(lists.speakers.map((d) => d.deviceId)).toEqual(['spk-1']);
    expect(lists.cameras.map((d) => d.deviceId)).toEqual(['cam-1']);
    dm.select('microphone', 'mic-2');
    dm.select('ringer', 'spk-1');
    const changes: string[][] = [];
    dm.on('change', (l) => changes.push(l.microphones.map((d) => d.deviceId)));
    // mic-2 is unplugged: the selection falls back to the default ('').
    md.enumerateDevices = async () =>
      [
        { kind: 'audioinput', deviceId: 'mic-1', label: 'Mic 1', groupId: 'g1' },
      ] as MediaDeviceInfo[];
    md.dispatch('devicechange');
    await vi.waitFor(() => expect(changes).toEqual([['mic-1']]));
    expect(dm.selection.microphone).toBe('');
    expect(dm.selection.ringer).toBe('');
  });

  it('keeps one warm microphone stream and hands out clones, then releases it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { md, dm } = manager(1000);
    const a = await dm.acquireMicrophone(processing);
    const b = await dm.acquireMicrophone(processing);
    expect(md.getUserMediaCalls).toHaveLength(1);
    expect(md.getUserMediaCalls[0]?.audio).toEqual(processing);
    expect(a).not.toBe(b);
    a.stop();
    const c = await dm.acquireMicrophone(processing);
    expect(c.readyState).toBe('live');
    expect(md.getUserMediaCalls).toHaveLength(1);
    // Other processing or device → a fresh getUserMedia.
    await dm.acquireMicrophone({ ...processing, noiseSuppression: true }, 'mic-2');
    expect(md.getUserMediaCalls).toHaveLength(2);
    expect(md.getUserMediaCalls[1]?.audio).toMatchObject({
      deviceId: { exact: 'mic-2' },
      noiseSuppression: true,
    });
    vi.advanceTimersByTime(1001);
    await dm.acquireMicrophone({ ...processing, noiseSuppression: true }, 'mic-2');
    expect(md.getUserMediaCalls).toHaveLength(3);
  });

  it('reports whether an output device can be chosen', async () => {
    const plain = {} as HTMLMediaElement;
    expect(await DeviceManager.setSinkId(plain, 'spk-1')).toBe(false);
    const sink = vi.fn(async () => undefined);
    const el = { setSinkId: sink } as unknown as HTMLMediaElement;
    expect(await DeviceManager.setSinkId(el, 'spk-1')).toBe(true);
    expect(sink).toHaveBeenCalledWith('spk-1');
  });

  it('explains a missing mediaDevices (insecure context)', async () => {
    const dm = new DeviceManager(undefined);
    await expect(dm.enumerate()).rejects.toThrow(/secure context/);
  });
});
