import { describe, expect, it } from 'vitest';
import { HEARD, playMonitorLegs } from './monitor';
import type { CallHandle } from './types';

// Which of the supervisor leg's three audio m-lines play in each mode
// (gateway API.md): 0 the agent's raw microphone, 1 the caller, 2 the agent's leg.

function legWith(n: number) {
  const tracks = Array.from({ length: n }, () => ({ kind: 'audio', enabled: true }));
  const pc = {
    getTransceivers: () => [
      // a transceiver of no m-line (the spare) is not counted
      { mid: null, receiver: { track: { kind: 'audio', enabled: true } } },
      ...tracks.map((track, i) => ({ mid: String(i), receiver: { track } })),
    ],
  };
  return { handle: { media: { peerConnection: pc } } as unknown as CallHandle, tracks };
}

describe('supervisor monitoring leg', () => {
  it('listen and whisper play the caller and the agent’s leg; barge the caller and the agent’s raw microphone', () => {
    const { handle, tracks } = legWith(3);
    expect(playMonitorLegs(handle, 'listen')).toBe(3);
    expect(tracks.map((t) => t.enabled)).toEqual([false, true, true]);
    playMonitorLegs(handle, 'barge');
    expect(tracks.map((t) => t.enabled)).toEqual([true, true, false]);
    playMonitorLegs(handle, 'whisper');
    expect(tracks.map((t) => t.enabled)).toEqual([false, true, true]);
    expect(HEARD.barge).toEqual([0, 1]);
  });

  it('a call without media yet plays nothing', () => {
    expect(playMonitorLegs({} as CallHandle, 'listen')).toBe(0);
  });
});
