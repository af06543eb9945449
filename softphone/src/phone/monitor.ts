// Listen, whisper and barge in the browser (gateway API.md "Listen, whisper,
// barge"), a chunk of its own: only supervisors and monitored agents load it.
//  - The supervisor's leg has three audio m-lines: 0 = the agent's raw
//    microphone (whisper, barge), 1 = the caller, 2 = the agent's leg (what
//    the caller hears). Listen and whisper play 1 and 2; barge plays 1 and 0
//    (2 then carries the supervisor's own voice back through the agent).
//  - The agent's whisper leg: in barge, its voice is mixed into what the
//    agent sends the caller (Web Audio, as the local conference mixes).
import type { Call } from './call';
import type { CallHandle } from './types';
import type { MonitorMode } from './agent';

/** Which of the supervisor leg's audio m-lines are heard in each mode. */
export const HEARD: Record<MonitorMode, number[]> = {
  listen: [1, 2],
  whisper: [1, 2],
  barge: [0, 1],
};

const mediaOf = (h: CallHandle) => (h as Call).media;

/**
 * Plays the m-lines of `mode` on the supervisor's leg and silences the
 * others (their receivers' tracks are disabled, so the <audio> playing the
 * call's stream sums only these). Returns how many audio m-lines there are.
 */
export function playMonitorLegs(handle: CallHandle, mode: MonitorMode): number {
  const pc = mediaOf(handle)?.peerConnection;
  if (!pc) return 0;
  const audio = pc
    .getTransceivers()
    // in m-line order (the offer's), the ones that belong to an m-line
    .filter((t) => t.mid !== null && t.receiver.track?.kind === 'audio');
  audio.forEach((t, i) => {
    if (t.receiver.track) t.receiver.track.enabled = HEARD[mode].includes(i);
  });
  return audio.length;
}

/**
 * Barge on the agent's side: what the agent sends on `call` becomes their
 * microphone plus `extra` (the supervisor's voice from the whisper leg).
 * Returns the function that goes back to the microphone alone.
 */
export function mixIntoCall(
  call: CallHandle,
  extra: CallHandle,
  AudioContextCtor: typeof AudioContext = globalThis.AudioContext,
): () => void {
  const media = mediaOf(call);
  const mic = media?.microphoneTrack;
  const voice = extra.remoteStream?.getAudioTracks() ?? [];
  if (!media || !mic || !voice.length) throw new Error('nothing to mix yet');
  const ctx = new AudioContextCtor();
  const out = ctx.createMediaStreamDestination();
  ctx.createMediaStreamSource(new MediaStream([mic])).connect(out);
  ctx.createMediaStreamSource(new MediaStream(voice)).connect(out);
  void ctx.resume();
  void media.overrideAudio(out.stream.getAudioTracks()[0]);
  return () => {
    if (call.state !== 'ended') void media.overrideAudio(undefined);
    void ctx.close();
  };
}
