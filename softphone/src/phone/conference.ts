// Local three-way (or n-way) conference: this browser is the mixer. Each
// participant is sent our microphone plus every other participant's voice;
// we hear everyone because every call's remote stream keeps playing in the UI.
// No server conference bridge is needed, at the cost of our uplink carrying
// one mix per participant.

import { Call } from './call';
import type { CallHandle } from './types';

interface Leg {
  call: Call;
  remote: MediaStreamAudioSourceNode;
  mic: MediaStreamAudioSourceNode;
  out: MediaStreamAudioDestinationNode;
}

export interface ConferenceEnvironment {
  AudioContext?: typeof AudioContext;
  MediaStream?: typeof MediaStream;
}

export class Conference {
  private readonly context: AudioContext;
  private readonly legs = new Map<string, Leg>();
  private readonly MediaStreamCtor: typeof MediaStream;
  private readonly unsubscribe = new Map<string, () => void>();

  constructor(calls: CallHandle[] = [], env: ConferenceEnvironment = {}) {
    const AudioContextCtor = env.AudioContext ?? globalThis.AudioContext;
    this.MediaStreamCtor = env.MediaStream ?? globalThis.MediaStream;
    if (!AudioContextCtor || !this.MediaStreamCtor) throw new Error('Web Audio is not available');
    this.context = new AudioContextCtor();
    for (const call of calls) this.add(call);
  }

  get participants(): CallHandle[] {
    return [...this.legs.values()].map((l) => l.call);
  }

  /** Adds an established, not held call to the mix. */
  add(handle: CallHandle): void {
    if (!(handle instanceof Call)) throw new Error('not a call of this phone');
    if (this.legs.has(handle.id)) return;
    if (handle.state !== 'established')
      throw new Error(`call must be established (is ${handle.state})`);
    const media = handle.media;
    const micTrack = media?.microphoneTrack;
    if (!media || !micTrack) throw new Error('call has no local audio');
    const remoteTracks = media.remoteStream.getAudioTracks();
    if (remoteTracks.length === 0) throw new Error('call has no remote audio yet');
    // Each leg mixes its own microphone track, so muting one call still mutes
    // us towards that participant only, while it keeps hearing the others.
    const leg: Leg = {
      call: handle,
      remote: this.context.createMediaStreamSource(new this.MediaStreamCtor(remoteTracks)),
      mic: this.context.createMediaStreamSource(new this.MediaStreamCtor([micTrack])),
      out: this.context.createMediaStreamDestination(),
    };
    leg.mic.connect(leg.out);
    for (const other of this.legs.values()) {
      leg.remote.connect(other.out);
      other.remote.connect(leg.out);
    }
    this.legs.set(handle.id, leg);
    const mixed = leg.out.stream.getAudioTracks()[0];
    void media.overrideAudio(mixed);
    this.unsubscribe.set(
      handle.id,
      handle.on('ended', () => this.remove(handle)),
    );
    void this.context.resume();
  }

  /** Takes a call out of the mix; it goes back to hearing only our microphone. */
  remove(handle: CallHandle): void {
    const leg = this.legs.get(handle.id);
    if (!leg) return;
    this.legs.delete(handle.id);
    this.unsubscribe.get(handle.id)?.();
    this.unsubscribe.delete(handle.id);
    for (const other of this.legs.values()) {
      other.remote.disconnect(leg.out);
      leg.remote.disconnect(other.out);
    }
    leg.mic.disconnect();
    if (leg.call.state !== 'ended') void leg.call.media?.overrideAudio(undefined);
  }

  /** Ends the conference; calls stay up as separate calls. */
  end(): void {
    for (const leg of [...this.legs.values()]) this.remove(leg.call);
    void this.context.close();
  }
}
